import Foundation
@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import Synchronization
import TestSupport
import XCTest

/// Every file read through a `HostRoot`, in order.
private final class FileLog: HostReadObserver {
    let reads = Mutex<[String]>([])
    var paths: [String] { reads.withLock { $0 } }
    func file(_ relative: String, _ contents: [UInt8]) { reads.withLock { $0.append(relative) } }
    func listed(_ relative: String) {}
    func link(_ relative: String, _ target: String) { reads.withLock { $0.append(relative) } }
    func probed(_ relative: String) {}
    func failed(_ relative: String, _ error: HostError) { reads.withLock { $0.append("failed " + relative) } }
}

/// The audit over cgroup trees a real 6.1 kernel laid out (TestSupport's RecordedCgroupTree,
/// v2 and v1): the engine alone in /engine is judged from its cgroup's memory.numa_stat, the
/// engine-like process sharing /shared from its own numa_maps; and the kernel's two figures
/// of the same memory, memory.numa_stat and numa_maps, agree.
final class RecordedCgroupAuditTests: XCTestCase {
    static let policy = """
        version: 1
        workloads:
          - name: engine
            match: {cmdline: "^probe 32$"}
            protected: true
            cpus: {nodes: [1]}
            memory: {policy: bind, nodes: [1], max_remote: 1%}
        """

    private func audit(_ tree: RecordedCgroupTree, log: FileLog) throws -> AuditReport {
        let loaded = try PolicyLoader.parse(Self.policy, file: "p.yaml")
        return try Auditor.run(root: HostRoot(path: tree.path).observed(by: log), policy: LoadedPolicy(policy: loaded, file: "p.yaml", digest: "0"),
                               today: Day(year: 2026, month: 12, day: 2))
    }

    private func count(_ log: FileLog, _ path: String) -> Int { log.paths.filter { $0 == path }.count }

    /// memory.remote of the engine is judged once, for its cgroup, from memory.numa_stat (the
    /// kernel's figure, not a process's numa_maps), while its numa_maps is read once for the
    /// per-mapping policy checks; the engine-like process whose cgroup is shared is judged
    /// from its own numa_maps, and the shared cgroup's figures are not read.
    func testTheEngineIsJudgedFromItsCgroupAndTheSharedOneFromItsNumaMaps() throws {
        for tree in RecordedCgroupTree.all {
            let log = FileLog()
            let report = try audit(tree, log: log)
            let remote = report.findings.filter { $0.check == "workload.engine.memory.remote" }
            XCTAssertEqual(remote.map(\.subject), ["PID \(tree.sharedEngine) (probe)", "cgroup /engine (PID \(tree.engine))"], "\(tree)")

            let cgroup = try XCTUnwrap(remote.last)
            let anon = try XCTUnwrap(try tree.numaStat("/engine")["anon"], "\(tree)")
            XCTAssertEqual(anon[0], 0, "\(tree): bound to node 1 by its cpuset")
            XCTAssertEqual(cgroup.outcome, .pass, "\(tree)")
            XCTAssertNil(cgroup.pid, "\(tree)")
            XCTAssertEqual(cgroup.actual, "0.0% of \(Bytes.text(anon.values.reduce(0, +))), from the cgroup's memory.numa_stat", "\(tree)")

            // Interleaved over both nodes: about half off node 1, from numa_maps' anonymous mappings.
            let shared = try XCTUnwrap(remote.first)
            let maps = try tree.numaMaps(tree.sharedEngine)
            let off = (maps.anonymous[0] ?? 0) * 4096
            let total = maps.anonymous.values.reduce(0, +) * 4096
            XCTAssertEqual(shared.outcome, .fail, "\(tree)")
            XCTAssertEqual(shared.pid, tree.sharedEngine)
            XCTAssertEqual(shared.actual, String(format: "%.1f%% of %@ (%@ on node 0)", Double(off) * 100 / Double(total), Bytes.text(total), Bytes.text(off)),
                           "\(tree)")
            XCTAssertTrue((40.0...60.0).contains(Double(off) * 100 / Double(total)), "\(tree): \(shared.actual)")

            // Per-mapping checks still come from numa_maps, read once per process.
            let policy = report.findings.filter { $0.check == "workload.engine.memory.policy" }
            XCTAssertEqual(policy.map(\.pid), [tree.engine, tree.sharedEngine], "\(tree)")
            XCTAssertEqual(policy.map(\.outcome), [.pass, .fail], "\(tree)")
            for pid in [tree.engine, tree.sharedEngine] {
                XCTAssertEqual(count(log, "proc/\(pid)/numa_maps"), 1, "\(tree): PID \(pid)")
                XCTAssertEqual(count(log, "proc/\(pid)/cmdline"), 1, "\(tree): PID \(pid), matched once")
                XCTAssertEqual(count(log, "proc/\(pid)/smaps") + count(log, "proc/\(pid)/smaps_rollup"), 0, "\(tree): PID \(pid)")
            }
            XCTAssertEqual(count(log, tree.memoryDirectory("/engine") + "/memory.numa_stat"), 1, "\(tree)")
            XCTAssertEqual(count(log, tree.memoryDirectory("/shared") + "/memory.numa_stat"), 0, "\(tree): shared, so not read")
            XCTAssertEqual(count(log, tree.memoryDirectory("/shared") + "/cgroup.procs"), 1, "\(tree): its membership is")
            XCTAssertEqual(report.notes, [], "\(tree): with numa_maps read, nothing is left unjudged")
        }
    }

    /// The kernel's two accounts of the same pages agree. memory.numa_stat's anon per node of
    /// /engine (one process) and /shared (two, one interleaved over both nodes) against the
    /// anonymous pages of its processes' numa_maps, recorded a moment apart from a process
    /// that no longer allocates:
    /// - per node, at least the pages of the purely anonymous mappings, and at most those plus
    ///   the copied-on-write pages of private file mappings, whose node numa_maps does not
    ///   separate from their page cache's (a few pages of the static probe's data segment);
    /// - in all, v2: exactly the `anon=` pages of numa_maps. v1 counts the anonymous LRU
    ///   lists, which hold shmem/tmpfs pages too: each probe's stdout is a one-page tmpfs
    ///   file (record-fixtures.sh), written after it entered its cgroup, so v1 may count up to
    ///   one page per process more. The v2 recordings show that page: `shmem` is one page per
    ///   process, and v2's `inactive_anon + active_anon` (the LRU, as v1 counts) is `anon + shmem`.
    /// Page tables are not anonymous pages (v2 prints them apart, `pagetables`) and are not in it.
    func testTheCgroupsAnonymousMemoryAgreesWithItsProcessesNumaMaps() throws {
        for tree in RecordedCgroupTree.all {
            for cgroup in ["/engine", "/shared"] {
                let pids = try tree.processes(cgroup)
                XCTAssertEqual(pids, cgroup == "/engine" ? [tree.engine] : [tree.sharedEngine, tree.sharedOther], "\(tree) \(cgroup)")
                let maps = try pids.map { try tree.numaMaps($0) }.reduce(NumaMapsPages(""), +)
                let stat = try tree.numaStat(cgroup)
                let anon = try XCTUnwrap(stat["anon"], "\(tree) \(cgroup)").mapValues { $0 / 4096 }
                let slack = tree.version == 1 ? pids.count : 0
                for node in [0, 1] {
                    let low = maps.anonymous[node] ?? 0
                    XCTAssertTrue((low...(low + maps.unplaced + slack)).contains(anon[node] ?? -1),
                                  "\(tree) \(cgroup) node \(node): memory.numa_stat \(anon[node] ?? -1) pages, numa_maps \(low) + \(maps.unplaced) unplaced")
                }
                let total = anon.values.reduce(0, +)
                XCTAssertTrue((maps.anonTotal...(maps.anonTotal + slack)).contains(total), "\(tree) \(cgroup): \(total) against numa_maps' \(maps.anonTotal)")
                XCTAssertGreaterThan(total, pids.count * 8 * 256, "\(tree) \(cgroup): the probes' memory is in it")
                if tree.version == 2 {
                    let shmem = try XCTUnwrap(stat["shmem"]).mapValues { $0 / 4096 }
                    XCTAssertEqual(shmem.values.reduce(0, +), pids.count, "\(tree) \(cgroup): each probe's stdout")
                    for node in [0, 1] {
                        XCTAssertEqual((stat["inactive_anon"]?[node] ?? 0) + (stat["active_anon"]?[node] ?? 0),
                                       (stat["anon"]?[node] ?? 0) + (stat["shmem"]?[node] ?? 0), "\(tree) \(cgroup) node \(node)")
                    }
                }
            }
        }
    }
}
