import Foundation
import NumaguardCore
import NumaguardHost
@testable import NumaguardWatch
import TestSupport
import XCTest

/// Events as JSON lines and text, the metrics exposition (checked by promtool), and the
/// /metrics responses.
final class WatchOutputTests: XCTestCase {
    func testEventJSONLineAndHumanLine() throws {
        let event = WatchEvent(kind: .regime, time: 1_795_000_000.25, regime: .watch,
                               message: "STABLE -> WATCH: hint faults 1520/s >= 1000/s \"quoted\"\n",
                               fields: [("from", "stable"), ("to", "watch")],
                               figures: [("hint_faults_per_s", 1520), ("remote_fault_ratio", nil), ("pages_migrated_per_s", 0.1 + 0.2)])
        XCTAssertEqual(event.jsonLine, #"{"format_version":1,"kind":"watch_event","event":"regime","time":"2026-11-18T11:06:40.250Z","regime":"watch","message":"STABLE -> WATCH: hint faults 1520/s >= 1000/s \"quoted\"\n","from":"stable","to":"watch","figures":{"hint_faults_per_s":1520,"remote_fault_ratio":null,"pages_migrated_per_s":0.3}}"# + "\n")
        let object = try Command.json(event.jsonLine)
        XCTAssertEqual(object["to"] as? String, "watch")
        XCTAssertTrue((object["figures"] as? [String: Any])?["remote_fault_ratio"] is NSNull)
        XCTAssertEqual(event.humanLine, "numaguard watch: 2026-11-18T11:06:40.250Z regime: STABLE -> WATCH: hint faults 1520/s >= 1000/s \"quoted\"\n\n")
        XCTAssertEqual(WatchEvent.quoted("a\u{1}b\tc"), #""a\u0001b\tc""#)
        XCTAssertEqual(WatchEvent.number(2.0), "2")
        XCTAssertEqual(WatchEvent.number(0.0004), "0")
        XCTAssertEqual(WatchEvent.number(12.3456), "12.346")
    }

    private func status() -> WatchStatus {
        var status = WatchStatus()
        status.regime = .shock
        status.regimeSince = 1_795_000_000
        status.transitions = [.watch: 1, .shock: 1]
        status.events = [.start: 1, .regime: 2]
        status.samples = 42
        status.lastSample = 1_795_000_041.5
        status.rates = WatchRates(seconds: 1, hintFaultsPerSecond: 1520, remoteFaultRatio: 0.75, pagesMigratedPerSecond: 6000,
                                  balancingMigratedPerSecond: 5900, migrationFailuresPerSecond: 0, missPerSecond: [0: 0, 1: 12.5],
                                  foreignPerSecond: [0: 12.5, 1: 0])
        status.available = WatchSampler.vmstatCounters.map { ($0, true) }
        status.counters = CounterReading(miss: [0: 10, 1: 2_000_000], foreign: [0: 2_000_000, 1: 10], migrated: 123_456, hintFaults: 987_654,
                                         hintFaultsLocal: 900_000, balancingMigrated: 120_000, migrationFailures: 7)
        status.numaBalancing = 1
        status.protected = [("engine", 1)]
        status.policyDigest = "abc"
        status.kernelRelease = "6.1.0-56-amd64"
        return status
    }

    func testMetrics() throws {
        let text = WatchMetrics.render(status())
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            #"numaguard_watch_regime{regime="shock"} 1"#,
            #"numaguard_watch_regime{regime="stable"} 0"#,
            #"numaguard_watch_regime_transitions_total{to="shock"} 1"#,
            #"numaguard_watch_regime_transitions_total{to="safe"} 0"#,
            #"numaguard_watch_events_total{event="regime"} 2"#,
            #"numaguard_watch_events_total{event="pages_moved"} 0"#,
            "numaguard_watch_samples_total 42",
            "numaguard_watch_last_sample_timestamp_seconds 1795000041.5",
            "numaguard_watch_hint_faults_per_second 1520",
            "numaguard_watch_hint_faults_remote_ratio 0.75",
            "numaguard_watch_pages_migrated_per_second 6000",
            "numaguard_watch_balancing_pages_migrated_per_second 5900",
            "numaguard_watch_migration_failures_per_second 0",
            #"numaguard_watch_numa_miss_per_second{node="1"} 12.5"#,
            #"numaguard_watch_numa_foreign_per_second{node="0"} 12.5"#,
            #"numaguard_watch_vmstat_available{field="numa_hint_faults"} 1"#,
            "numaguard_watch_numa_balancing 1",
            #"numaguard_watch_protected_processes{workload="engine"} 1"#,
            #"numaguard_watch_threshold{figure="hint_faults_per_s"} 1000"#,
            "numaguard_watch_dwell_seconds 30",
            #"numaguard_watch_info{kernel_release="6.1.0-56-amd64",policy_digest="abc"} 1"#,
            "# TYPE numaguard_watch_samples_total counter",
            // The kernel's cumulative counters, so a burst between two scrapes is not lost.
            "# TYPE numaguard_watch_hint_faults_total counter",
            "numaguard_watch_hint_faults_total 987654",
            "numaguard_watch_hint_faults_local_total 900000",
            "numaguard_watch_balancing_pages_migrated_total 120000",
            "numaguard_watch_pages_migrated_total 123456",
            "numaguard_watch_migration_failures_total 7",
            #"numaguard_watch_numa_miss_total{node="1"} 2000000"#,
            #"numaguard_watch_numa_foreign_total{node="0"} 2000000"#,
            "# TYPE numaguard_watch_regime gauge",
        ] {
            XCTAssertTrue(lines.contains(expected), "missing \(expected) in:\n\(text)")
        }
        try Promtool.checkMetrics(text)

        // Unavailable figures are absent, not 0.
        var bare = status()
        bare.rates = WatchRates(seconds: 1, pagesMigratedPerSecond: 3)
        bare.counters = CounterReading(miss: [0: 1], foreign: [0: 1], migrated: 9)
        bare.numaBalancing = nil
        bare.protected = []
        let rt = WatchMetrics.render(bare)
        XCTAssertFalse(rt.contains("numaguard_watch_hint_faults_per_second"))
        XCTAssertFalse(rt.contains("numaguard_watch_hint_faults_total"), "no such counter on RT: absent, not 0")
        XCTAssertTrue(rt.contains("numaguard_watch_pages_migrated_total 9\n"))
        XCTAssertFalse(rt.contains("numaguard_watch_numa_balancing "))
        XCTAssertFalse(rt.contains("numaguard_watch_protected_processes"))
        XCTAssertTrue(rt.contains("numaguard_watch_pages_migrated_per_second 3\n"))
        try Promtool.checkMetrics(rt)
    }

    func testHTTPResponses() {
        func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
        func answer(_ requestLine: String, _ metrics: String = "") -> String {
            guard case let .complete(head) = HTTPRequestHead.parse(Array((requestLine + "\r\n\r\n").utf8)) else {
                XCTFail("\(requestLine) does not parse")
                return ""
            }
            return text(MetricsResponse.to(head) { metrics })
        }
        let ok = answer("GET /metrics HTTP/1.1", "a 1\n")
        XCTAssertEqual(ok, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\na 1\n")
        XCTAssertTrue(answer("GET /metrics?x=1 HTTP/1.0").hasPrefix("HTTP/1.1 200 OK"))
        XCTAssertTrue(answer("HEAD /metrics HTTP/1.1", "a 1\n").hasSuffix("Content-Length: 4\r\nConnection: close\r\n\r\n"))
        XCTAssertTrue(answer("GET /other HTTP/1.1").hasPrefix("HTTP/1.1 404 Not Found"))
        XCTAssertTrue(answer("POST /metrics HTTP/1.1").hasPrefix("HTTP/1.1 405"))
        XCTAssertEqual(text(MetricsResponse.busy),
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 54\r\n"
                       + "Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections to /metrics at once; retry later\n")
        XCTAssertTrue(text(MetricsResponse.refusing(HTTPRequestRefusal(status: 431, reason: "long"))).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        XCTAssertTrue(text(MetricsResponse.refusing(HTTPRequestRefusal(status: 400, reason: "bad"))).hasSuffix("Connection: close\r\n\r\nbad\n"))
    }
}
