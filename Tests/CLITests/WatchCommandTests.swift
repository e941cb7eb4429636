import Foundation
import TestSupport
import XCTest

/// `numaguard watch` end to end: exit codes, events, the textfile, /metrics, signals.
final class WatchCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-watch-\(UUID().uuidString)")
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

    private func lines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try Command.json(String($0)) }
    }

    func testInvalidPolicyUsageAndUnopenableOutputs() throws {
        let bad = try write("bad.yaml", "version: 1\nwatch: {regimes: {exit: 0%}}\n")
        let invalid = try Command.numaguard(["watch", "--policy", bad, "--count", "1"])
        XCTAssertEqual(invalid.status, 78)
        XCTAssertEqual(invalid.stdout, "")
        XCTAssertTrue(invalid.stderr.contains("\(bad):2:25: error: watch.regimes.exit must be above 0%"), invalid.stderr)

        let good = try write("good.yaml", "version: 1\n")
        let listen = try Command.numaguard(["watch", "--policy", good, "--listen", "example.com:80"])
        XCTAssertEqual(listen.status, 64, listen.stderr)
        XCTAssertTrue(listen.stderr.contains("--listen: \"example.com:80\" is not a listen address"), listen.stderr)
        XCTAssertEqual(try Command.numaguard(["watch", "--policy", good, "--count", "0"]).status, 64)
        XCTAssertEqual(try Command.numaguard(["watch", "--policy", good, "--interval", "fast"]).status, 64)

        let fast = try Command.numaguard(["watch", "--policy", good, "--interval", "1ms", "--count", "1"])
        XCTAssertEqual(fast.status, 64, fast.stderr)
        XCTAssertTrue(fast.stderr.contains("--interval: \"1ms\" is below the minimum of 10ms"), fast.stderr)
        let tiny = try Command.numaguard(["watch", "--policy", good, "--interval", "1e-16ms", "--count", "1"])
        XCTAssertEqual(tiny.status, 64, "a positive decimal far below the floor: \(tiny.stderr)")
        XCTAssertEqual(fast.stdout, "", "nothing sampled")

        let events = try Command.numaguard(["watch", "--policy", good, "--events", "/nonexistent/dir/events", "--count", "1"])
        XCTAssertEqual(events.status, 73)
        XCTAssertTrue(events.stderr.contains("cannot open --events /nonexistent/dir/events"), events.stderr)
    }

    /// A missing policy at start is an input that is not there (66), with the path and the
    /// errno, and no invented line:col.
    func testAMissingPolicyAtStartExits66() throws {
        let missing = directory.appendingPathComponent("none.yaml").path
        let result = try Command.numaguard(["watch", "--policy", missing, "--count", "1", "--host-root", Command.fixture("linux-6.1-2node")])
        XCTAssertEqual(result.status, 66, result.stderr)
        XCTAssertEqual(result.stdout, "", "no event: the watch never started")
        XCTAssertEqual(result.stderr, "numaguard: cannot read the policy \(missing): No such file or directory; nothing was inspected\n")
    }

    /// A /metrics address that cannot be bound (here: in use) is an output that could not be
    /// created: 73, before any sample, naming the address and the errno.
    func testAListenAddressInUseExits73() throws {
        let socket = try ListeningSocket()
        let policy = try write("p.yaml", "version: 1\n")
        let result = try Command.numaguard(["watch", "--policy", policy, "--listen", "127.0.0.1:\(socket.port)", "--count", "1",
                                            "--host-root", Command.fixture("linux-6.1-2node")])
        XCTAssertEqual(result.status, 73, result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("numaguard: watch: cannot serve /metrics on 127.0.0.1:\(socket.port): "), result.stderr)
        XCTAssertTrue(result.stderr.contains("Address already in use"), result.stderr)
        XCTAssertEqual(result.stdout, "", "no event: the watch never started")
    }

    /// A textfile that can never be written stops the watch at start, before any event or
    /// sample, naming the path and why; nothing is left behind.
    func testATextfileThatCannotBeCreatedFailsAtStart() throws {
        let policy = try write("p.yaml", "version: 1\n")
        let host = Command.fixture("linux-6.1-2node")
        let directory = try Command.numaguard(["watch", "--policy", policy, "--count", "1", "--textfile", self.directory.path, "--host-root", host])
        XCTAssertEqual(directory.status, 73, directory.stderr)
        XCTAssertEqual(directory.stdout, "", "no start event")
        XCTAssertTrue(directory.stderr.contains("numaguard: watch: --textfile: cannot write \(self.directory.path): is a directory"), directory.stderr)

        let missing = self.directory.appendingPathComponent("missing/numaguard.prom").path
        let absent = try Command.numaguard(["watch", "--policy", policy, "--count", "1", "--textfile", missing, "--host-root", host])
        XCTAssertEqual(absent.status, 73, absent.stderr)
        XCTAssertTrue(absent.stderr.contains("--textfile: cannot write \(missing): open(\(self.directory.path)/missing): "
                                             + "No such file or directory"), absent.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: self.directory.path), ["p.yaml"])

        // A writable place still works, and the check leaves only the textfile.
        let textfile = self.directory.appendingPathComponent("numaguard.prom").path
        let good = try Command.numaguard(["watch", "--policy", policy, "--count", "1", "--textfile", textfile, "--host-root", host])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: self.directory.path).sorted(), ["numaguard.prom", "p.yaml"])
    }

    /// Paths every sample's write refuses are refused at start too (73, before any event),
    /// with the write's own reason. Before, watch's start check followed the planted link and
    /// took the socket, so the watch started and then failed every sample.
    func testATextfileEverySampleWouldRefuseFailsAtStart() throws {
        try XCTSkipUnless(geteuid() == 0, "lchown to another user needs root")
        let policy = try write("p.yaml", "version: 1\n")
        let host = Command.fixture("linux-6.1-2node")
        let shared = self.directory.appendingPathComponent("shared").path
        XCTAssertEqual(mkdir(shared, 0o777), 0)
        XCTAssertEqual(chmod(shared, 0o1777), 0)
        let victim = try write("victim.prom", "root's\n")
        let planted = shared + "/numaguard.prom"
        XCTAssertEqual(symlink(victim, planted), 0)
        XCTAssertEqual(lchown(planted, 65534, 65534), 0)
        let link = try Command.numaguard(["watch", "--policy", policy, "--count", "1", "--textfile", planted, "--host-root", host])
        XCTAssertEqual(link.status, 73, link.stderr)
        XCTAssertEqual(link.stdout, "", "no start event")
        XCTAssertTrue(link.stderr.contains("--textfile: cannot write \(planted): is a symbolic link (to \(victim)) owned by uid 65534 "
                                           + "and its directory \(shared) is writable by others (mode 1777)"), link.stderr)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "root's\n")

        let socketPath = shared + "/metrics.sock"
        let listener = try UnixSocketFile(socketPath)
        defer { listener.close() }
        let socket = try Command.numaguard(["watch", "--policy", policy, "--count", "1", "--textfile", socketPath, "--host-root", host])
        XCTAssertEqual(socket.status, 73, socket.stderr)
        XCTAssertTrue(socket.stderr.contains("--textfile: cannot write \(socketPath): is a socket"), socket.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: shared).sorted(), ["metrics.sock", "numaguard.prom"])
    }

    /// A host so slow that every sample overruns the (shortest) interval: the loop still
    /// polls between samples, so a scrape is answered and SIGTERM stops it. The timeouts
    /// only catch the hang (before, it sampled back to back and never polled).
    func testASlowHostAtTheFloorIntervalStillAnswersAndStops() throws {
        let host = directory.appendingPathComponent("host")
        try FileManager.default.copyItem(atPath: Command.fixture("linux-6.1-2node"), toPath: host.path)
        let vmstat = host.appendingPathComponent("proc/vmstat")
        var text = try String(contentsOf: vmstat, encoding: .utf8)
        text += (0..<100_000).map { "filler_\($0) \($0)\n" }.joined()
        try text.write(to: vmstat, atomically: true, encoding: .utf8)
        let policy = try write("p.yaml", "version: 1\n")
        let eventsPath = directory.appendingPathComponent("events.jsonl").path
        let port = try HTTP.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.numaguard)
        process.arguments = ["watch", "--policy", policy, "--interval", "10ms", "--events", eventsPath,
                             "--listen", "127.0.0.1:\(port)", "--host-root", host.path]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        try waitFor(eventsPath, "\"event\":\"start\"", seconds: 60)

        let response = try HTTP.get(port: port, path: "/metrics")
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 200 OK\r\n"), "no answer while sampling: \(response)")
        XCTAssertTrue(response.contains("numaguard_watch_samples_total "), response)

        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(process.isRunning, "SIGTERM did not stop a watch busy sampling")
        guard !process.isRunning else { return }
        XCTAssertEqual(process.terminationStatus, 0)
        let events = try lines(try String(contentsOfFile: eventsPath, encoding: .utf8))
        XCTAssertEqual(events.last?["message"] as? String, "stopped by SIGTERM")
    }

    /// A --textfile FIFO nobody reads: before, watch blocked in open(2) for a reader (state
    /// S, SIGTERM never handled). Now each write fails once, reported, and SIGTERM stops it.
    /// The deadline only catches the hang.
    func testATextfileFIFOWithNoReaderDoesNotBlockTheWatch() throws {
        let policy = try write("p.yaml", "version: 1\n")
        let fifo = directory.appendingPathComponent("numaguard.prom").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let eventsPath = directory.appendingPathComponent("events.jsonl").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.numaguard)
        process.arguments = ["watch", "--policy", policy, "--interval", "100ms", "--textfile", fifo, "--events", eventsPath,
                             "--host-root", Command.fixture("linux-6.1-2node")]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        try waitFor(eventsPath, "is a FIFO nobody is reading", seconds: 60)
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(process.isRunning, "SIGTERM did not stop a watch writing to a FIFO nobody reads")
        guard !process.isRunning else { return }
        XCTAssertEqual(process.terminationStatus, 0)
        let events = try lines(try String(contentsOfFile: eventsPath, encoding: .utf8))
        XCTAssertEqual(events.filter { ($0["message"] as? String)?.contains("is a FIFO nobody is reading") ?? false }.count, 1,
                       "reported once, not every sample")
        XCTAssertEqual(events.last?["message"] as? String, "stopped by SIGTERM")
    }

    /// A recorded host never changes, so its rates are all 0 and it stays STABLE.
    func testCountOverARecordedHostWithATextfile() throws {
        let policy = try write("p.yaml", "version: 1\nwatch: {interval: 100ms}\n")
        let textfile = directory.appendingPathComponent("numaguard.prom").path
        let result = try Command.numaguard(["watch", "--policy", policy, "--count", "3", "--textfile", textfile,
                                            "--host-root", Command.fixture("linux-6.1-2node")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let events = try lines(result.stdout)
        XCTAssertEqual(events.map { $0["event"] as? String }, ["start", "stop"])
        XCTAssertEqual(events.last?["message"] as? String, "stopped after 3 samples (--count)")
        XCTAssertTrue(result.stderr.contains("numaguard watch: "), result.stderr)
        XCTAssertTrue(result.stderr.contains(" stop: stopped after 3 samples (--count)"), result.stderr)
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        XCTAssertTrue(metrics.contains("numaguard_watch_samples_total 3\n"), metrics)
        XCTAssertTrue(metrics.contains("numaguard_watch_hint_faults_per_second 0\n"), metrics)
        XCTAssertTrue(metrics.contains("numaguard_watch_numa_balancing 1\n"), metrics)
        // Every event written is counted in the last textfile, the stop event too.
        XCTAssertTrue(metrics.contains(#"numaguard_watch_events_total{event="start"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_events_total{event="stop"} 1"#), metrics)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["numaguard.prom", "p.yaml"],
                       "no temporary file left beside the textfile")
        try Promtool.checkMetrics(metrics)
    }

    /// `--series`: a watch_sample line per sample but the first, over a recorded host (its
    /// rates 0, no hint fault so no remote share, STABLE), the protected workload's state; to
    /// stdout with `-` when the events go to a file.
    func testSeriesOverARecordedHost() throws {
        let policy = try write("p.yaml", """
            version: 1
            workloads:
              - name: engine
                match: {cmdline: "^probe 32 /bin/busybox$"}
                protected: true
                cpus: {nodes: [1]}
              - name: gone
                match: {cmdline: "^nothing$"}
                protected: true
            """)
        let host = Command.fixture("linux-6.1-2node")
        let series = directory.appendingPathComponent("samples.jsonl").path
        let result = try Command.numaguard(["watch", "--policy", policy, "--interval", "10ms", "--count", "3", "--series", series,
                                            "--series-max-size", "1MiB", "--host-root", host])
        XCTAssertEqual(result.status, 0, result.stderr)
        let samples = try lines(try String(contentsOfFile: series, encoding: .utf8))
        XCTAssertEqual(samples.count, 2, "3 samples, the first without a window")
        for sample in samples {
            XCTAssertEqual(sample["kind"] as? String, "watch_sample")
            XCTAssertEqual(sample["regime"] as? String, "stable")
            let figures = try XCTUnwrap(sample["figures"] as? [String: Any])
            XCTAssertEqual(figures["hint_faults_per_s"] as? Double, 0)
            XCTAssertTrue(figures["remote_fault_ratio"] is NSNull, "\(figures)")
            XCTAssertEqual(figures["node1_numa_miss_per_s"] as? Double, 0)
            let workloads = try XCTUnwrap(sample["workloads"] as? [String: [String: Any]])
            XCTAssertEqual(workloads["engine"]?["placement"] as? String, "ok")
            XCTAssertEqual(workloads["engine"]?["processes"] as? Int, 1)
            XCTAssertEqual(workloads["gone"]?["placement"] as? String, "absent")
        }
        XCTAssertFalse(result.stdout.contains("watch_sample"), "events and samples apart")

        let events = directory.appendingPathComponent("events.jsonl").path
        let stdout = try Command.numaguard(["watch", "--policy", policy, "--interval", "10ms", "--count", "2", "--series", "-",
                                            "--events", events, "--host-root", host])
        XCTAssertEqual(stdout.status, 0, stdout.stderr)
        XCTAssertEqual(try lines(stdout.stdout).map { $0["kind"] as? String }, ["watch_sample"])
    }

    func testSeriesUsageAndUnopenablePaths() throws {
        let policy = try write("p.yaml", "version: 1\n")
        let host = Command.fixture("linux-6.1-2node")
        let both = try Command.numaguard(["watch", "--policy", policy, "--series", "-", "--count", "1", "--host-root", host])
        XCTAssertEqual(both.status, 64, both.stderr)
        XCTAssertTrue(both.stderr.contains("--series - needs --events PATH"), both.stderr)
        let same = try Command.numaguard(["watch", "--policy", policy, "--series", "e.jsonl", "--events", "e.jsonl", "--count", "1"])
        XCTAssertEqual(same.status, 64, same.stderr)
        XCTAssertTrue(same.stderr.contains("--series and --events name the same file"), same.stderr)
        // The same file spelled another way: caught by device and inode once open, before a
        // rotation could rename the events away. (A hard link is refused by both opens already.)
        let events = directory.appendingPathComponent("e.jsonl").path
        let spelled = try Command.numaguard(["watch", "--policy", policy, "--series", directory.path + "/./e.jsonl", "--events", events,
                                             "--count", "1", "--host-root", host])
        XCTAssertEqual(spelled.status, 64, spelled.stderr)
        XCTAssertTrue(spelled.stderr.contains("is the same file as --events"), spelled.stderr)
        let small = try Command.numaguard(["watch", "--policy", policy, "--series", "s", "--series-max-size", "1KiB", "--count", "1"])
        XCTAssertEqual(small.status, 64, small.stderr)
        XCTAssertTrue(small.stderr.contains("--series-max-size: \"1KiB\" is below the minimum of 4KiB"), small.stderr)
        XCTAssertEqual(try Command.numaguard(["watch", "--policy", policy, "--series", "s", "--series-max-size", "lots", "--count", "1"]).status, 64)
        XCTAssertEqual(try Command.numaguard(["watch", "--policy", policy, "--series-max-size", "1MiB", "--count", "1"]).status, 64,
                       "without --series")

        let missing = directory.appendingPathComponent("missing/samples.jsonl").path
        let absent = try Command.numaguard(["watch", "--policy", policy, "--series", missing, "--count", "1", "--host-root", host])
        XCTAssertEqual(absent.status, 73, absent.stderr)
        XCTAssertTrue(absent.stderr.contains("numaguard: watch: cannot open --series \(missing): "), absent.stderr)
        XCTAssertEqual(absent.stdout, "", "the watch never started")

        let victim = try write("victim", "root's\n")
        let link = directory.appendingPathComponent("samples.jsonl").path
        XCTAssertEqual(symlink(victim, link), 0)
        let planted = try Command.numaguard(["watch", "--policy", policy, "--series", link, "--count", "2", "--host-root", host])
        XCTAssertEqual(planted.status, 73, planted.stderr)
        XCTAssertTrue(planted.stderr.contains("is a symbolic link (to \(victim)); numaguard does not follow a link here"), planted.stderr)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "root's\n")
    }

    /// Events that cannot be written (a full disk: /dev/full) are not fatal: stderr says so
    /// once, the output event count says so, and the watch goes on to its last sample.
    func testUnwritableEventsAreReportedOnceNotFatal() throws {
        let policy = try write("p.yaml", "version: 1\nwatch: {interval: 20ms}\n")
        let textfile = directory.appendingPathComponent("numaguard.prom").path
        let result = try Command.numaguard(["watch", "--policy", policy, "--count", "5", "--events", "/dev/full", "--textfile", textfile,
                                            "--host-root", Command.fixture("linux-6.1-2node")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let reports = result.stderr.split(separator: "\n").filter { $0.contains(" output: cannot write events to /dev/full: ") }
        XCTAssertEqual(reports.count, 1, result.stderr)
        XCTAssertTrue(reports.first?.contains("write(--events): No space left on device") ?? false, result.stderr)
        XCTAssertTrue(result.stderr.contains(" stop: stopped after 5 samples (--count)"), "events still reach stderr: \(result.stderr)")
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_events_total{event="output"} 1"#), metrics)
    }

    /// A counter file that cannot be read is reported once, the host is SAFE, and the
    /// watch goes on.
    func testUnreadableCountersAreReportedNotFatal() throws {
        let host = directory.appendingPathComponent("host")
        try FileManager.default.copyItem(atPath: Command.fixture("linux-6.1-2node"), toPath: host.path)
        try FileManager.default.removeItem(at: host.appendingPathComponent("sys/devices/system/node/node1/numastat"))
        let policy = try write("p.yaml", "version: 1\nwatch: {interval: 50ms}\n")
        let result = try Command.numaguard(["watch", "--policy", policy, "--count", "4", "--host-root", host.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let events = try lines(result.stdout)
        XCTAssertEqual(events.map { $0["event"] as? String }, ["start", "unreadable", "regime", "stop"], result.stdout)
        XCTAssertTrue((events[1]["message"] as? String ?? "").contains("node1/numastat"), "\(events[1])")
        XCTAssertEqual(events[2]["to"] as? String, "safe")
        XCTAssertTrue((events[2]["message"] as? String ?? "").hasPrefix("STABLE -> SAFE: counters unreadable: "), "\(events[2])")
    }

    func testSignalsMetricsAndReload() throws {
        let policyText = "version: 1\nwatch: {interval: 100ms}\n"
        let policy = try write("p.yaml", policyText)
        let eventsPath = directory.appendingPathComponent("events.jsonl").path
        let port = Int.random(in: 20000...60000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.numaguard)
        process.arguments = ["watch", "--policy", policy, "--events", eventsPath, "--listen", "127.0.0.1:\(port)",
                             "--host-root", Command.fixture("linux-6.1-2node")]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        try waitFor(eventsPath, "\"event\":\"start\"")
        Thread.sleep(forTimeInterval: 0.3)

        let response = try HTTP.get(port: port, path: "/metrics")
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 200 OK\r\n"), response)
        XCTAssertTrue(response.contains(#"numaguard_watch_regime{regime="stable"} 1"#), response)
        XCTAssertTrue(try HTTP.get(port: port, path: "/nope").hasPrefix("HTTP/1.1 404"))

        // A broken policy on SIGHUP is refused with its location; the old one stays.
        _ = try write("p.yaml", "version: 1\nwatch: {interval: soon}\n")
        kill(process.processIdentifier, SIGHUP)
        try waitFor(eventsPath, "\"event\":\"reload\"")
        _ = try write("p.yaml", "version: 1\nwatch: {interval: 100ms, regimes: {dwell: 7s}}\n")
        kill(process.processIdentifier, SIGHUP)
        try waitFor(eventsPath, "reloaded")
        XCTAssertTrue(try HTTP.get(port: port, path: "/metrics").contains("numaguard_watch_dwell_seconds 7\n"), "the new policy is in force")
        // A policy that vanished is a refused reload too (the watch goes on), not an exit 66.
        try FileManager.default.removeItem(atPath: policy)
        kill(process.processIdentifier, SIGHUP)
        try waitFor(eventsPath, "No such file or directory")
        XCTAssertTrue(process.isRunning)
        XCTAssertTrue(try HTTP.get(port: port, path: "/metrics").contains("numaguard_watch_dwell_seconds 7\n"), "the old policy stays")
        _ = try write("p.yaml", policyText)

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
        let events = try lines(try String(contentsOfFile: eventsPath, encoding: .utf8))
        let reloads = events.filter { $0["event"] as? String == "reload" }
        XCTAssertEqual(reloads.count, 3)
        XCTAssertEqual(reloads[0]["refused"] as? String, "true")
        XCTAssertTrue((reloads[0]["message"] as? String ?? "").contains("\(policy):2:19:"), "\(reloads[0])")
        XCTAssertNil(reloads[1]["refused"])
        XCTAssertEqual(reloads[2]["refused"] as? String, "true")
        XCTAssertTrue((reloads[2]["message"] as? String ?? "").hasSuffix(
            "keeping the previous one (\(reloads[1]["policy_digest"] as? String ?? "?")): cannot read the policy \(policy): No such file or directory"),
            "\(reloads[2])")
        XCTAssertEqual(events.last?["event"] as? String, "stop")
        XCTAssertEqual(events.last?["message"] as? String, "stopped by SIGTERM")
        // SIGINT is a clean stop too.
        let again = Process()
        again.executableURL = URL(fileURLWithPath: Command.numaguard)
        again.arguments = ["watch", "--policy", policy, "--events", eventsPath, "--host-root", Command.fixture("linux-6.1-2node")]
        again.standardError = FileHandle.nullDevice
        try again.run()
        Thread.sleep(forTimeInterval: 0.5)
        kill(again.processIdentifier, SIGINT)
        again.waitUntilExit()
        XCTAssertEqual(again.terminationStatus, 0)
        XCTAssertTrue(try String(contentsOfFile: eventsPath, encoding: .utf8).hasSuffix("\"message\":\"stopped by SIGINT\"}\n"))
    }

    private func waitFor(_ path: String, _ text: String, seconds: Double = 10) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let contents = try? String(contentsOfFile: path, encoding: .utf8), contents.contains(text) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail("\(text) never appeared in \(path): \((try? String(contentsOfFile: path, encoding: .utf8)) ?? "(none)")")
    }
}

/// One HTTP/1.0 request over a plain socket to 127.0.0.1, the whole response as text.
enum HTTP {
    static func get(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        // Only turns a hang into a failure.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// A port nobody listens on now: bound to port 0, read back, released.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A TCP socket listening on a loopback port the kernel picked, held until deinit: an
/// address another process cannot bind.
final class ListeningSocket {
    let descriptor: Int32
    let port: Int

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && listen(descriptor, 1) == 0
                    && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw Failure(description: "bind/listen: errno \(errno)")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

