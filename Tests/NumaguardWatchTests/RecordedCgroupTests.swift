import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
@testable import NumaguardWatch
import TestSupport
import XCTest

/// watch over cgroup trees a real 6.1 kernel laid out (TestSupport's RecordedCgroupTree:
/// v2, and v1 cpuset and memory hierarchies), not written by a test: the engine alone in
/// /engine is measured from the kernel's memory.numa_stat with no read of its numa_maps,
/// cmdline or smaps after its identification; the engine-like process in /shared, whose
/// cgroup holds another process too, is said to be shared and gets no figures.
final class RecordedCgroupTests: XCTestCase {
    /// Both processes with `probe 32` as their command line are the engine's.
    static let policy = """
        version: 1
        workloads:
          - name: engine
            match: {cmdline: "^probe 32$"}
            protected: true
            cpus: {nodes: [1]}
            memory: {policy: bind, nodes: [1]}
        """

    /// The files of `pid` that take its mmap lock.
    private func locking(_ paths: [String], _ pid: Int) -> [String] {
        paths.filter { ["numa_maps", "cmdline", "smaps", "smaps_rollup"].map { "proc/\(pid)/\($0)" }.contains($0) }
    }

    func testTheEnginesCgroupIsReadAndTheSharedOneIsSaidToBeShared() throws {
        let workloads = try PolicyLoader.parse(Self.policy, file: "p.yaml").workloads
        for tree in RecordedCgroupTree.all {
            let log = HostReadLog()
            let host = HostRoot(path: tree.path).observed(by: log)
            let watch = ProtectedWatch(root: host, topology: try TopologyReader.read(host))

            let first = watch.sample(workloads, now: 0, period: 60)
            let messages = first.map(\.message)
            XCTAssertEqual(first.map(\.kind), [.process, .process, .process, .process], "\(tree): \(messages)")
            XCTAssertEqual(Set(first.compactMap(\.pid)), [tree.engine, tree.sharedEngine], "\(tree): \(messages)")
            XCTAssertTrue(messages.contains("watching PID \(tree.engine) (probe) of protected workload engine: CPUs 2-3, memory nodes 1, threads on node 1"),
                          "\(tree): the cpuset of /engine confines it: \(messages)")
            XCTAssertTrue(messages.contains("PID \(tree.sharedEngine) (probe) of protected workload engine: cgroup /shared is shared with 1 other process, "
                                            + "so its memory.numa_stat is not this workload's alone; its per-node memory is not watched "
                                            + "(allowed CPUs, memory nodes and threads still are)"), "\(tree): \(messages)")
            XCTAssertTrue(messages.contains("cgroup /engine of protected workload engine (PID \(tree.engine)): per-node memory from its "
                                            + "memory.numa_stat every sample (the cgroup holds only this workload's processes): "
                                            + "0 B anonymous memory off node 1"), "\(tree): \(messages)")
            XCTAssertEqual(log.paths.filter { $0 == tree.memoryDirectory("/engine") + "/memory.numa_stat" }.count, 1, "\(tree)")
            XCTAssertFalse(log.paths.contains(tree.memoryDirectory("/shared") + "/memory.numa_stat"), "\(tree): a shared cgroup's figures are not read")
            XCTAssertEqual(locking(log.paths, tree.engine), ["proc/\(tree.engine)/cmdline"], "\(tree): matched once, numa_maps never")

            // Samples and a rediscovery: the engine's cgroup is read each time, nothing of the
            // processes that takes their mmap lock is.
            log.clear()
            for now in [1.0, 2, 61, 62] { XCTAssertEqual(watch.sample(workloads, now: now, period: 60), [], "\(tree) at \(now)") }
            XCTAssertEqual(log.paths.filter { $0 == tree.memoryDirectory("/engine") + "/memory.numa_stat" }.count, 4, "\(tree): every sample")
            XCTAssertTrue(log.paths.contains("proc/\(tree.plain)/cmdline"), "\(tree): the rediscovery ran: \(log.paths)")
            XCTAssertEqual(locking(log.paths, tree.engine), [], "\(tree)")
            XCTAssertEqual(locking(log.paths, tree.sharedEngine), [], "\(tree)")

            // The metrics' figures are the kernel's, per node, in bytes (v1: pages of 4 KiB).
            let stat = try tree.numaStat("/engine")
            var expected = ProtectedMemory(workload: "engine")
            (expected.cgroups, expected.processes) = (1, 1)
            (expected.anon, expected.file) = (try XCTUnwrap(stat["anon"]), try XCTUnwrap(stat["file"]))
            XCTAssertEqual(watch.memory(), [expected], "\(tree)")
            // The engine's 32 MiB, all on its node.
            XCTAssertEqual(expected.anon[0], 0, "\(tree)")
            XCTAssertGreaterThanOrEqual(expected.anon[1] ?? 0, 32 << 20, "\(tree)")

            // In the exposition: one of the workload's two processes measured from a cgroup.
            let text = watch.metrics(workloads)
            for line in ["numaguard_watch_protected_memory_cgroup_processes{workload=\"engine\"} 1",
                         "numaguard_watch_protected_memory_bytes{workload=\"engine\",node=\"0\",type=\"anon\"} 0",
                         "numaguard_watch_protected_memory_bytes{workload=\"engine\",node=\"1\",type=\"anon\"} \(expected.anon[1] ?? -1)",
                         "numaguard_watch_protected_memory_bytes{workload=\"engine\",node=\"1\",type=\"file\"} \(expected.file[1] ?? -1)"] {
                XCTAssertTrue(text.contains(line + "\n"), "\(tree): \(line) in\n\(text)")
            }
            try Promtool.checkMetrics(text)
        }
    }

    /// The recorded /engine is exactly as numaguard's parser reads it: v1 pages become bytes of
    /// the page size; v1's figures are the hierarchical ones.
    func testTheRecordedNumaStatParsesToTheKernelsFigures() throws {
        for tree in RecordedCgroupTree.all {
            let host = HostRoot(path: tree.path)
            let hierarchy = CgroupHierarchy.read(host)
            XCTAssertEqual(hierarchy.source, "proc/1/mountinfo", "\(tree)")
            let stat = try XCTUnwrap(try hierarchy.numaStat(for: try hierarchy.cgroups(of: tree.engine), pageKiB: 4), "\(tree)")
            XCTAssertEqual(stat.version, tree.version == 2 ? .v2 : .v1)
            XCTAssertTrue(stat.isHierarchical, "\(tree)")
            let recorded = try tree.numaStat("/engine")
            for (name, counter) in [("anon", stat.anon), ("file", stat.file)] {
                let nodes = try XCTUnwrap(counter, "\(tree) \(name)").nodes
                XCTAssertEqual(Dictionary(uniqueKeysWithValues: nodes.map { ($0.node, $0.value) }), recorded[name], "\(tree) \(name)")
            }
        }
    }
}
