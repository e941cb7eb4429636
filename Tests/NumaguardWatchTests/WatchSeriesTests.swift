import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
@testable import NumaguardWatch
import TestSupport
import XCTest

/// The watch writing `--series` over a copy of the recorded 6.1 guest, its counters and its
/// protected process edited between samples: a line per sample but the first, the figures
/// the watch computed, the regime after the sample, each protected workload's state.
final class WatchSeriesTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-series-watch-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: Command.fixture("linux-6.1-2node"), toPath: root.path)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private func edit(_ relative: String, _ change: (String) -> String) throws {
        let url = root.appendingPathComponent(relative)
        try change(try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
    }

    private func service(series: String) throws -> WatchService {
        let policy = root.appendingPathComponent("p.yaml")
        try ProtectedWatchTests.policy.write(to: policy, atomically: true, encoding: .utf8)
        var options = WatchOptions(policyPath: policy.path, root: HostRoot(path: root.path), eventsPath: "/dev/null")
        options.seriesPath = series
        return try WatchService(options: options, policy: try PolicyLoader.load(file: policy.path, reading: InputFile.read))
    }

    /// An unreadable file or cgroup is one event until it reads again, and two of them are
    /// two events even when their names are only canonically equal (two cgroups any user
    /// with a delegated subtree may create side by side): the messages are keyed by bytes.
    func testUnreadableMessagesAreKeptApartByTheirBytes() throws {
        let service = try service(series: root.appendingPathComponent("samples.jsonl").path)
        let composed = "cgroup /caf\u{E9}: memory.numa_stat unreadable", decomposed = "cgroup /cafe\u{301}: memory.numa_stat unreadable"
        XCTAssertEqual(composed, decomposed, "the premise: one String, two byte sequences")
        let before = service.status.events[.unreadable, default: 0]
        service.noteUnreadable([composed, decomposed])
        XCTAssertEqual(service.status.events[.unreadable, default: 0] - before, 2)
        service.noteUnreadable([composed, decomposed])
        XCTAssertEqual(service.status.events[.unreadable, default: 0] - before, 2, "still unreadable: not reported again")
        service.noteUnreadable([decomposed])
        service.noteUnreadable([composed, decomposed])
        XCTAssertEqual(service.status.events[.unreadable, default: 0] - before, 3, "the one that read again and failed anew")
    }

    func testALinePerSampleWithFiguresRegimeAndPlacement() throws {
        let series = root.appendingPathComponent("samples.jsonl").path
        let service = try service(series: series)
        service.sample(at: 0)
        XCTAssertEqual(try String(contentsOfFile: series, encoding: .utf8), "", "the first reading has no window: no line")

        try edit("proc/vmstat") {
            $0.replacingOccurrences(of: "numa_hint_faults 0", with: "numa_hint_faults 100")
                .replacingOccurrences(of: "numa_hint_faults_local 0", with: "numa_hint_faults_local 75")
        }
        service.sample(at: 1)
        // The engine re-pinned.
        try edit("proc/152/status") { $0.replacingOccurrences(of: "Cpus_allowed_list:\t2-3", with: "Cpus_allowed_list:\t0-3") }
        service.sample(at: 2)
        // The counters unreadable: every figure null, the window the time since the last sample.
        let vmstat = try String(contentsOf: root.appendingPathComponent("proc/vmstat"), encoding: .utf8)
        try FileManager.default.removeItem(at: root.appendingPathComponent("proc/vmstat"))
        service.sample(at: 3.5)
        // Readable again, the engine gone: the window runs from the last readable counters.
        try vmstat.replacingOccurrences(of: "numa_hint_faults 100", with: "numa_hint_faults 300")
            .write(to: root.appendingPathComponent("proc/vmstat"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: root.appendingPathComponent("proc/152"))
        service.sample(at: 4)

        let lines = try String(contentsOfFile: series, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.last, "", "whole lines")
        let samples = try lines.dropLast().map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(samples.count, 4)
        func figures(_ index: Int) -> [String: Any] { samples[index]["figures"] as? [String: Any] ?? [:] }
        func engine(_ index: Int) -> [String: Any] { (samples[index]["workloads"] as? [String: Any])?["engine"] as? [String: Any] ?? [:] }

        XCTAssertEqual(samples.map { $0["kind"] as? String }, Array(repeating: "watch_sample", count: 4))
        XCTAssertEqual(samples.map { $0["interval_s"] as? Double }, [1, 1, 1.5, 2])
        XCTAssertEqual(samples.map { $0["regime"] as? String }, ["stable", "safe", "safe", "safe"])
        XCTAssertEqual(figures(0)["hint_faults_per_s"] as? Double, 100)
        XCTAssertEqual(figures(0)["remote_fault_ratio"] as? Double, 0.25)
        XCTAssertEqual(figures(0)["node1_numa_foreign_per_s"] as? Double, 0)
        XCTAssertTrue(figures(1)["remote_fault_ratio"] is NSNull, "no hint fault in the window: no share")
        XCTAssertEqual(figures(2).count, 9)
        XCTAssertTrue(figures(2).values.allSatisfy { $0 is NSNull }, "\(figures(2))")
        XCTAssertEqual(figures(3)["hint_faults_per_s"] as? Double, 100, "200 faults over the 2 s since the last readable counters")
        XCTAssertEqual(samples.compactMap { ($0["workloads"] as? [String: Any])?.keys.sorted() }, Array(repeating: ["engine"], count: 4),
                       "protected workloads only")
        XCTAssertEqual((0..<4).map { engine($0)["placement"] as? String }, ["ok", "changed", "ok", "absent"])
        XCTAssertEqual((0..<4).map { engine($0)["processes"] as? Int }, [1, 1, 1, 0])
        XCTAssertNil(engine(0)["memory"], "no cgroup on this recorded host measures it")

        let times = try samples.map { sample -> Date in
            let text = try XCTUnwrap(sample["time"] as? String)
            XCTAssertNotNil(text.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"#, options: .regularExpression), text)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return try XCTUnwrap(formatter.date(from: text), text)
        }
        XCTAssertEqual(times, times.sorted())
    }

    /// A series that cannot be written (/dev/full: ENOSPC) is one `output` event until it works
    /// again, and never stops the sampling.
    func testAWriteFailureIsReportedOnceAndSamplingGoesOn() throws {
        let service = try service(series: "/dev/full")
        for now in 0..<5 { service.sample(at: Double(now)) }
        XCTAssertEqual(service.status.samples, 5)
        XCTAssertEqual(service.status.events[.output], 1, "said once, not every sample")
        XCTAssertEqual(service.seriesProblem?.hasPrefix("cannot write the series: cannot write /dev/full: "), true, service.seriesProblem ?? "")
    }

    /// The memory member, where a dedicated cgroup measures the workload.
    func testTheCgroupMemoryOfAWorkload() throws {
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152])
        let series = root.appendingPathComponent("samples.jsonl").path
        let service = try service(series: series)
        service.sample(at: 0)
        service.sample(at: 1)
        let line = try String(contentsOfFile: series, encoding: .utf8)
        let engine = try XCTUnwrap((Command.json(line)["workloads"] as? [String: Any])?["engine"] as? [String: Any])
        let memory = try XCTUnwrap(engine["memory"] as? [String: Any], line)
        XCTAssertEqual(memory["cgroup_processes"] as? Int, 1)
        let anon = try XCTUnwrap(memory["anon_bytes"] as? [String: Int], line)
        XCTAssertEqual(anon.keys.sorted(), ["node0", "node1"], line)
        XCTAssertEqual(anon.values.reduce(0, +), service.status.protectedMemory.first?.anon.values.reduce(0, +), line)
    }
}
