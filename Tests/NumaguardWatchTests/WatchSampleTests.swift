import Foundation
import NumaguardCore
@testable import NumaguardWatch
import TestSupport
import XCTest

/// `watch --series` lines: the layout `numaguard attribute` reads (format_version 1), byte for
/// byte, and parsed back.
final class WatchSampleTests: XCTestCase {
    func testTheLineLayoutParsedBack() throws {
        var memory = ProtectedMemory(workload: "engine")
        memory.cgroups = 1
        memory.processes = 1
        memory.anon = [0: 4096, 1: 0]
        memory.file = [0: 8192, 1: 0]
        let rates = WatchRates(seconds: 1.000213, hintFaultsPerSecond: 12, remoteFaultRatio: 0.25, pagesMigratedPerSecond: 0,
                               balancingMigratedPerSecond: 0, migrationFailuresPerSecond: 0, missPerSecond: [0: 0, 1: 0],
                               foreignPerSecond: [0: 0, 1: 0])
        let sample = WatchSample(time: 1_796_226_601.123456, interval: rates.seconds, regime: .stable,
                                 figures: WatchSample.figures(rates, nodes: [1, 0]),
                                 workloads: [.init(name: "engine", processes: 1, placement: .ok),
                                             .init(name: "feed \"a\"", processes: 2, placement: .changed, memory: memory)])
        XCTAssertEqual(sample.jsonLine, #"{"format_version":1,"kind":"watch_sample","time":"2026-12-02T15:50:01.123456Z","interval_s":1.000213,"regime":"stable","figures":{"hint_faults_per_s":12,"remote_fault_ratio":0.25,"pages_migrated_per_s":0,"balancing_migrated_per_s":0,"migration_failures_per_s":0,"node0_numa_miss_per_s":0,"node1_numa_miss_per_s":0,"node0_numa_foreign_per_s":0,"node1_numa_foreign_per_s":0},"workloads":{"engine":{"processes":1,"placement":"ok"},"feed \"a\"":{"processes":2,"placement":"changed","memory":{"cgroup_processes":1,"anon_bytes":{"node0":4096,"node1":0},"file_bytes":{"node0":8192,"node1":0}}}}}"# + "\n")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(sample.jsonLine.utf8)) as? [String: Any])
        XCTAssertEqual(object["kind"] as? String, "watch_sample")
        XCTAssertEqual(object["format_version"] as? Int, 1)
        XCTAssertEqual(object["interval_s"] as? Double, 1.000213)
        let workloads = try XCTUnwrap(object["workloads"] as? [String: Any])
        XCTAssertEqual((workloads["feed \"a\""] as? [String: Any])?["placement"] as? String, "changed")
        XCTAssertNil((workloads["engine"] as? [String: Any])?["memory"], "no dedicated cgroup measures it: no memory member")
    }

    /// Unavailable figures are null, never 0: every figure when the counters could not be read,
    /// a node's when its counter went backwards.
    func testUnavailableFiguresAreNull() throws {
        let none = WatchSample.figures(nil, nodes: [0, 1])
        XCTAssertEqual(none.map(\.0), ["hint_faults_per_s", "remote_fault_ratio", "pages_migrated_per_s", "balancing_migrated_per_s",
                                       "migration_failures_per_s", "node0_numa_miss_per_s", "node1_numa_miss_per_s",
                                       "node0_numa_foreign_per_s", "node1_numa_foreign_per_s"])
        XCTAssertTrue(none.allSatisfy { $0.1 == nil })
        let partial = WatchSample.figures(WatchRates(seconds: 1, pagesMigratedPerSecond: 3, missPerSecond: [0: 2], foreignPerSecond: [1: 5]), nodes: [0, 1])
        let line = WatchSample(time: 0, interval: 1, regime: .safe, figures: partial, workloads: []).jsonLine
        let figures = try XCTUnwrap(Command.json(line)["figures"] as? [String: Any])
        XCTAssertTrue(figures["hint_faults_per_s"] is NSNull)
        XCTAssertTrue(figures["remote_fault_ratio"] is NSNull)
        XCTAssertEqual(figures["pages_migrated_per_s"] as? Double, 3)
        XCTAssertEqual(figures["node0_numa_miss_per_s"] as? Double, 2)
        XCTAssertTrue(figures["node1_numa_miss_per_s"] is NSNull)
        XCTAssertTrue(figures["node0_numa_foreign_per_s"] is NSNull)
        XCTAssertEqual(figures["node1_numa_foreign_per_s"] as? Double, 5)
        XCTAssertTrue(line.contains(#""workloads":{}"#), line)
        XCTAssertTrue(line.contains(#""regime":"safe""#), line)
    }

    func testMicrosecondTimestamps() {
        XCTAssertEqual(WatchSample.timestamp(0), "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(WatchSample.timestamp(1.000001), "1970-01-01T00:00:01.000001Z")
        XCTAssertEqual(WatchSample.timestamp(-0.5), "1969-12-31T23:59:59.500000Z")
        XCTAssertEqual(WatchSample.timestamp(1_796_226_601.999_999_9), "2026-12-02T15:50:02.000000Z", "rounds into the next second")
        XCTAssertEqual(WatchSample.timestamp(1_796_226_601.000_007), "2026-12-02T15:50:01.000007Z")
        XCTAssertEqual(WatchSample.timestamp(.nan), "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(WatchSample.timestamp(.infinity), "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(WatchSample.timestamp(1e300), WatchSample.timestamp(1e12), "clamped, never a trap")
        XCTAssertEqual(WatchSample.timestamp(-1e300), WatchSample.timestamp(-1e12), "clamped, never a trap")
        // Microseconds apart are told apart, and in order.
        let times = (0..<5).map { WatchSample.timestamp(1_796_226_601 + Double($0) * 1e-6) }
        XCTAssertEqual(Set(times).count, 5)
        XCTAssertEqual(times, times.sorted())
    }

    /// Nine significant digits: events' three decimals would turn a ratio of 0.0001 into 0.
    func testNumbersKeepTheirPrecision() {
        XCTAssertEqual(WatchSample.number(1520), "1520")
        XCTAssertEqual(WatchSample.number(0.25), "0.25")
        XCTAssertEqual(WatchSample.number(0.00012345678912), "0.000123456789")
        XCTAssertEqual(WatchSample.number(0.0001), "0.0001")
        XCTAssertEqual(WatchSample.number(1000 / 1.000213), "999.787045")
        XCTAssertEqual(WatchSample.number(123_456_789.123), "123456789")
        XCTAssertEqual(WatchSample.number(1_234_567_890_123.6), "1234567890124")
        XCTAssertEqual(WatchSample.number(1e20), "1e+20")
        XCTAssertEqual(WatchSample.number(.nan), "null")
        XCTAssertEqual(WatchSample.number(-0.0), "0")
        for value in [0.000123456789, 1000 / 1.000213, 0.1 + 0.2, 1e-9, 3.5e12] {
            let text = WatchSample.number(value)
            let parsed = try? JSONSerialization.jsonObject(with: Data("[\(text)]".utf8)) as? [Double]
            XCTAssertNotNil(parsed, "\(text) is a JSON number")
            XCTAssertEqual(parsed?.first ?? 0, value, accuracy: abs(value) * 1e-8, text)
        }
    }

    func testPlacementStates() {
        func note(_ kind: WatchEvent.Kind, _ workload: String) -> ProtectedNote {
            ProtectedNote(kind: kind, message: "m", workload: workload, pid: 1)
        }
        XCTAssertEqual(WatchSample.placement(of: "engine", processes: 1, notes: []), .ok)
        XCTAssertEqual(WatchSample.placement(of: "engine", processes: 0, notes: []), .absent)
        XCTAssertEqual(WatchSample.placement(of: "engine", processes: 1, notes: [note(.placement, "engine")]), .changed)
        XCTAssertEqual(WatchSample.placement(of: "engine", processes: 1, notes: [note(.pagesMoved, "engine")]), .changed)
        XCTAssertEqual(WatchSample.placement(of: "engine", processes: 1, notes: [note(.unreadable, "engine")]), .unknown)
        XCTAssertEqual(WatchSample.placement(of: "engine", processes: 1, notes: [note(.unreadable, "engine"), note(.placement, "engine")]), .changed)
        XCTAssertEqual(WatchSample.placement(of: "engine", processes: 1, notes: [note(.placement, "feed"), note(.unreadable, "feed")]), .ok,
                       "another workload's notes are not this one's")
        XCTAssertEqual(WatchSample.placement(of: "engine", processes: 0, notes: [note(.process, "engine")]), .absent, "an exit is not a change")
    }
}
