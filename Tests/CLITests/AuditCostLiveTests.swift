#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NumaguardCore
import TestSupport
import XCTest

/// What the audit costs a protected process on this machine's kernel: its numa_maps read
/// timed and reported, and, in a memory cgroup of its own (cgroup v1 here), its per-node
/// memory judged from the cgroup's memory.numa_stat. Real processes, real cgroups.
final class AuditCostLiveTests: XCTestCase {
    private var cleanups: [() -> Void] = []

    override func tearDown() {
        for cleanup in cleanups.reversed() { cleanup() }
        cleanups = []
    }

    /// A sleeping process under a comm of its own (so a policy matches it alone), started by
    /// `/bin/sh -c PREFIX; exec PROGRAM 600`.
    private func sleeper(_ tag: String, prefix: String = "true") throws -> Int32 {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-cost-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let program = work.appendingPathComponent(tag)
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: program.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(prefix) && exec \"$0\" 600", program.path]
        try process.run()
        cleanups.append {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: work)
        }
        // The exec has happened once /proc/PID/comm names the program.
        for _ in 0..<500 {
            if (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/comm", encoding: .utf8))?.hasPrefix(tag) == true { break }
            usleep(10_000)
        }
        return process.processIdentifier
    }

    private func policy(_ tag: String, scan: Bool) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-cost-\(UUID().uuidString).yaml").path
        try """
            version: 1
            workloads:
              - name: guarded
                match: {comm: \(tag)}
                protected: true
                memory: {policy: bind, nodes: [0], max_remote: 100%, scan: \(scan)}
            """.write(toFile: path, atomically: false, encoding: .utf8)
        cleanups.append { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testTheNumaMapsReadOfAProtectedProcessIsTimedAndReported() throws {
        guard getuid() == 0 || FileManager.default.isReadableFile(atPath: "/proc/1/numa_maps") else {
            throw XCTSkip("needs to read numa_maps")
        }
        let tag = "ngcost\(getpid() % 100_000)"
        let pid = try sleeper(tag)
        let policy = try policy(tag, scan: true)

        let json = try Command.numaguard(["audit", "--policy", policy, "--format", "json"])
        let reads = try XCTUnwrap(try Command.json(json.stdout)["numa_maps_reads"] as? [[String: Any]], json.stdout + json.stderr)
        XCTAssertEqual(reads.count, 1, "\(reads)")
        let read = try XCTUnwrap(reads.first)
        XCTAssertEqual(read["pid"] as? Int, Int(pid))
        XCTAssertEqual(read["workload"] as? String, "guarded")
        XCTAssertEqual(read["comm"] as? String, tag)
        let mappings = try XCTUnwrap(read["mappings"] as? Int)
        let lines = try String(contentsOfFile: "/proc/\(pid)/numa_maps", encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(mappings, lines, "one mapping per numa_maps line (a sleeping process's do not change)")
        XCTAssertGreaterThan(try XCTUnwrap(read["seconds"] as? Double), 0)

        let text = try Command.numaguard(["audit", "--policy", policy])
        XCTAssertTrue(text.stdout.contains("cost: numa_maps of PID \(pid) (\(tag)) of protected workload guarded: read in "), text.stdout)
        XCTAssertTrue(text.stdout.contains(" ms (\(mappings) mappings); its mmap lock was held for up to that long"), text.stdout)

        let prom = try Command.numaguard(["audit", "--policy", policy, "--format", "prometheus"])
        XCTAssertTrue(prom.stdout.contains("numaguard_audit_numa_maps_read_seconds{workload=\"guarded\"} "), prom.stdout)
        try Promtool.checkMetrics(prom.stdout)
    }

    /// On this machine's v1 memory hierarchy (cgroup v1 or hybrid): a protected process
    /// started inside a memory cgroup of its own has memory.remote judged from that cgroup's
    /// memory.numa_stat, with `scan: false` and no numa_maps read to report.
    func testAV1MemoryCgroupOfItsOwnJudgesMaxRemote() throws {
        guard getuid() == 0 else { throw XCTSkip("creating a cgroup needs root") }
        let hierarchy = "/sys/fs/cgroup/memory"
        let mounts = (try? MountInfoParser.cgroupMounts(String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8))) ?? []
        guard mounts.contains(where: { $0.version == .v1 && $0.controllers.contains("memory") && $0.mountPoint == hierarchy && $0.root == "/" }) else {
            throw XCTSkip("no v1 memory hierarchy at \(hierarchy)")
        }
        let tag = "ngmem\(getpid() % 100_000)"
        let cgroup = "\(hierarchy)/\(tag)"
        XCTAssertEqual(mkdir(cgroup, 0o755), 0, "mkdir \(cgroup): \(String(cString: strerror(errno)))")
        cleanups.append { _ = rmdir(cgroup) }
        let pid = try sleeper(tag, prefix: "echo $$ >\(cgroup)/cgroup.procs")
        XCTAssertEqual(try String(contentsOfFile: "\(cgroup)/cgroup.procs", encoding: .utf8), "\(pid)\n")

        let policy = try policy(tag, scan: false)
        let audit = try Command.numaguard(["audit", "--policy", policy, "--format", "json"])
        let report = try Command.json(audit.stdout)
        let findings = try XCTUnwrap(report["findings"] as? [[String: Any]], audit.stderr)
        let remote = findings.filter { $0["check"] as? String == "workload.guarded.memory.remote" }
        XCTAssertEqual(remote.count, 1, "\(findings.compactMap { $0["check"] })")
        XCTAssertEqual(remote.first?["subject"] as? String, "cgroup /\(tag) (PID \(pid))")
        XCTAssertEqual(remote.first?["outcome"] as? String, "pass")
        XCTAssertTrue((remote.first?["actual"] as? String ?? "").hasSuffix(", from the cgroup's memory.numa_stat"), "\(remote)")
        XCTAssertNil(report["numa_maps_reads"], "scan: false: numa_maps is not read")
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
    }
}
