import Foundation
import TestSupport
import XCTest

/// `numaguard watch` on reserved CPUs end to end: the recorded isolated guest (its probe pinned
/// to CPU 3) and this machine with a child pinned to CPU 1.
final class IsolationWatchCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-isolation-watch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func events(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try Command.json(String($0)) }
    }

    /// Five samples 10 ms apart with a one-hour isolation period: /proc/interrupts is read
    /// every sample, the threads once (one scan, one foreign_thread event). No clock is judged:
    /// five samples take far less than an hour.
    func testTheIsolationPeriodIsHonoured() throws {
        let policy = try write("p.yaml", """
            version: 1
            watch: {interval: 10ms, isolation_period: 1h}
            workloads:
              - {name: engine, match: {comm: no-such-engine}}
            reserve:
              - {cpus: "3", for: [engine]}
            """)
        let textfile = directory.appendingPathComponent("numaguard.prom").path
        let result = try Command.numaguard(["watch", "--policy", policy, "--count", "5", "--textfile", textfile,
                                            "--host-root", Command.fixture("linux-6.1-2node-isolated")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = try events(result.stdout)
        XCTAssertEqual(lines.map { $0["event"] as? String }, ["start", "foreign_thread", "stop"])
        XCTAssertEqual((lines.first?["figures"] as? [String: Any])?["isolation_period_s"] as? Int, 3600)
        XCTAssertEqual(lines[1]["message"] as? String, "PID 190 (probe) thread 190 allowed on reserved CPU 3, outside engine (cpus.3)")
        XCTAssertEqual(lines[1]["regime"] as? String, "stable", "never a regime change")
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        XCTAssertTrue(metrics.contains("numaguard_watch_samples_total 5\n"), metrics)
        XCTAssertTrue(metrics.contains("numaguard_watch_isolation_scans_total 1\n"), metrics)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_foreign_threads{cpus="3",kind="allowed"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_reserved_interrupts_total{cpus="3",source="undeclared"} 0"#), metrics)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_events_total{event="foreign_thread"} 1"#), metrics)
        try Promtool.checkMetrics(metrics)
    }

    /// A real child pinned to CPU 1 (taskset), CPU 1 reserved for a workload it is not:
    /// watch reports it by PID and counts it in the gauge. The gauge is at least 1, not exactly
    /// 1: on a live host every unpinned process may run on CPU 1 too (the recorded isolated
    /// guest above, where isolcpus keeps them off, shows the exact count).
    func testAChildPinnedToAReservedCPUIsAForeignThread() throws {
        let online = (try? String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8)) ?? ""
        guard online.trimmingCharacters(in: .whitespacesAndNewlines) != "0", FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else {
            throw XCTSkip("needs CPU 1 online and taskset")
        }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        child.arguments = ["-c", "1", "/usr/bin/sleep", "300"]
        try child.run()
        defer {
            child.terminate()
            child.waitUntilExit()
        }
        let pid = Int(child.processIdentifier)
        // Until taskset has set the mask and exec'd sleep (bounded: 10 s at most).
        for _ in 0..<1000 {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            if status.contains("Name:\tsleep\n"), status.contains("Cpus_allowed_list:\t1\n") { break }
            usleep(10_000)
        }
        let policy = try write("p.yaml", """
            version: 1
            watch: {interval: 10ms}
            workloads:
              - {name: engine, match: {comm: no-such-engine}}
            reserve:
              - {cpus: "1", for: [engine]}
            """)
        let textfile = directory.appendingPathComponent("numaguard.prom").path
        let result = try Command.numaguard(["watch", "--policy", policy, "--count", "1", "--textfile", textfile])
        XCTAssertEqual(result.status, 0, result.stderr)
        let foreign = try events(result.stdout).filter { $0["event"] as? String == "foreign_thread" }
        let mine = foreign.first { $0["pid"] as? String == String(pid) }
        XCTAssertEqual(mine?["message"] as? String, "PID \(pid) (sleep) thread \(pid) allowed on reserved CPU 1, outside engine (cpus.1)",
                       foreign.map { $0["message"] as? String ?? "" }.joined(separator: "\n"))
        XCTAssertEqual(mine?["reservation"] as? String, "cpus.1")
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        let gauge = metrics.split(separator: "\n").first { $0.hasPrefix(#"numaguard_watch_foreign_threads{cpus="1",kind="allowed"} "#) }
        XCTAssertGreaterThanOrEqual(Int(gauge?.split(separator: " ").last ?? "") ?? 0, 1, metrics)
        XCTAssertFalse(metrics.contains("sleep"), "no comm in a label")
        XCTAssertFalse(metrics.contains("\(pid)\""), "no PID in a label")
    }
}
