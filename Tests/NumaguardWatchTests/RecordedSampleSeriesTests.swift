import Foundation
import TestSupport
import XCTest

/// Tests/Fixtures/watch-sample-series-6.1-2node.jsonl, the `watch --series` lines a real 6.1
/// 2-node guest wrote (WatchGuestTests, NUMAGUARD_RECORD_WATCH_SAMPLES), which
/// `numaguard attribute` is proven on: it holds the format_version 1 layout, and the long
/// STABLE and SHOCK stretches that proof needs.
final class RecordedSampleSeriesTests: XCTestCase {
    static let figures = ["hint_faults_per_s", "remote_fault_ratio", "pages_migrated_per_s", "balancing_migrated_per_s", "migration_failures_per_s",
                          "node0_numa_miss_per_s", "node1_numa_miss_per_s", "node0_numa_foreign_per_s", "node1_numa_foreign_per_s"]

    func testTheRecordedSeriesHoldsTheLayoutAndItsStretches() throws {
        let text = try String(contentsOfFile: Command.fixture("watch-sample-series-6.1-2node.jsonl"), encoding: .utf8)
        let lines = text.split(separator: "\n")
        XCTAssertTrue(text.hasSuffix("}\n"))
        var previous = ""
        var last: Double?
        var regimes: [String] = []
        for line in lines {
            XCTAssertTrue(line.hasPrefix(#"{"format_version":1,"kind":"watch_sample","time":""#), String(line))
            let sample = try Command.json(String(line))
            XCTAssertEqual(sample.keys.sorted(), ["figures", "format_version", "interval_s", "kind", "regime", "time", "workloads"])
            let time = try XCTUnwrap(sample["time"] as? String)
            XCTAssertNotNil(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"#, options: .regularExpression), time)
            XCTAssertGreaterThan(time, previous, "increasing (same-length RFC 3339 UTC compares as text)")
            previous = time
            // Windows of about 1 s (longer after a sample that overran its interval), ending at
            // `time`: each starts where the previous ended.
            let interval = try XCTUnwrap(sample["interval_s"] as? Double)
            XCTAssertGreaterThan(interval, 0.5, String(line))
            let end = try seconds(time)
            if let last { XCTAssertEqual(end - interval, last, accuracy: 0.05, String(line)) }
            last = end
            let figures = try XCTUnwrap(sample["figures"] as? [String: Any])
            XCTAssertEqual(figures.keys.sorted(), Self.figures.sorted())
            XCTAssertTrue(figures.values.allSatisfy { $0 is Double || $0 is NSNull }, String(line))
            let engine = try XCTUnwrap((sample["workloads"] as? [String: Any])?["engine"] as? [String: Any])
            XCTAssertTrue(["ok", "changed"].contains(engine["placement"] as? String ?? ""), String(line))
            regimes.append(try XCTUnwrap(sample["regime"] as? String))
        }
        var longest: [String: Int] = [:]
        var run = 0
        for (index, regime) in regimes.enumerated() {
            run = index > 0 && regimes[index - 1] == regime ? run + 1 : 1
            longest[regime] = max(longest[regime] ?? 0, run)
        }
        XCTAssertGreaterThanOrEqual(longest["stable"] ?? 0, 10, "\(regimes)")
        XCTAssertGreaterThanOrEqual(longest["shock"] ?? 0, 10, "\(regimes)")
        XCTAssertNotNil(longest["safe"], "the engine's re-pin: \(regimes)")
    }

    private func seconds(_ text: String) throws -> Double {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let whole = try XCTUnwrap(formatter.date(from: String(text.prefix(19)) + "Z"), text).timeIntervalSince1970
        return whole + (Double(text.dropFirst(20).prefix(6)) ?? 0) / 1e6
    }
}
