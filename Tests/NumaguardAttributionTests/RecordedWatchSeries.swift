import Foundation
import NumaguardAttribution
import NumaguardHost
import NumaguardWatch
import TestSupport
import XCTest

/// A watch_sample series made from the counters recorded in the 6.1 guest under induced
/// migrations (Tests/Fixtures/watch-series-6.1-2node), replayed through the real WatchRates
/// and RegimeMachine with the guest's thresholds, as `watch --series` would have written it.
/// The guest's uptime is placed at 2026-12-02T15:50:00Z.
enum RecordedWatchSeries {
    static let epoch: Double = 1_796_226_600 // 2026-12-02T15:50:00Z

    static var thresholds: RegimeThresholds {
        var t = RegimeThresholds()
        t.hintFaultsPerSecond = 20
        t.pagesMigratedPerSecond = 500
        t.remoteFaultRatio = 0.5
        t.dwellSeconds = 3
        return t
    }

    static func number(_ value: Double?) -> String {
        guard let value else { return "null" }
        return String(format: "%.3f", value)
    }

    /// The series' JSON lines.
    static func lines() throws -> String {
        let directory = Command.fixture("watch-series-6.1-2node")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { Int($0) != nil }.sorted()
        var readings: [(Double, CounterReading)] = []
        for name in names {
            let uptime = try String(contentsOfFile: "\(directory)/\(name)/uptime", encoding: .utf8)
            let seconds = try XCTUnwrap(Double(uptime.trimmingCharacters(in: .whitespacesAndNewlines)))
            readings.append((seconds, try CounterReading.read(HostRoot(path: "\(directory)/\(name)"), nodes: [0, 1])))
        }
        var machine = RegimeMachine(thresholds: thresholds, start: readings[0].0)
        var text = ""
        for (before, after) in zip(readings, readings.dropFirst()) {
            let seconds = after.0 - before.0
            let rates = WatchRates.between(before.1, after.1, seconds: seconds)
            _ = machine.step(RegimeInput(time: after.0, rates: rates))
            let time = epoch + after.0
            let whole = Int(time.rounded(.down))
            let micros = Int(((time - Double(whole)) * 1e6).rounded())
            let stamp = UTCTimeText.seconds(whole) + "." + String(format: "%06d", min(micros, 999_999)) + "Z"
            text += "{\"format_version\":1,\"kind\":\"watch_sample\",\"time\":\"\(stamp)\",\"interval_s\":\(String(format: "%.6f", seconds)),"
            text += "\"regime\":\"\(machine.regime.rawValue)\",\"figures\":{\"hint_faults_per_s\":\(number(rates.hintFaultsPerSecond)),"
            text += "\"remote_fault_ratio\":\(number(rates.remoteFaultRatio)),\"pages_migrated_per_s\":\(number(rates.pagesMigratedPerSecond)),"
            text += "\"balancing_migrated_per_s\":\(number(rates.balancingMigratedPerSecond))},\"workloads\":{}}\n"
        }
        return text
    }
}

/// RFC 3339 seconds without a zone, from epoch seconds (Foundation's formatter, UTC).
enum UTCTimeText {
    static func seconds(_ epoch: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(epoch)))
    }
}

/// Synthetic telemetry over a series: one row every `step` ms, the value a seeded heavy-tailed
/// latency (100 µs + exponential, mean 10), plus `planted` on rows whose time falls in a
/// sample of `regime`.
enum PlantedTelemetry {
    static func csv(over samples: [NumaguardAttribution.WatchSample], stepMicros: Int64 = 1000, planted: Double, in regime: AttributionRegime = .shock,
                    seed: UInt64 = 7, segments: [String] = []) -> String {
        var rng = Xoshiro256(seed: seed)
        var text = "ts,latency_us" + (segments.isEmpty ? "" : ",venue") + "\n"
        let coverage = Coverage(samples)
        guard let first = coverage.first, let last = coverage.last else { return text }
        var time = first + 1000
        var hint = 0
        var row = 0
        while time <= last {
            let u = (Double(rng.next() >> 11) + 0.5) / Double(1 << 53)
            var value = 100 - 10 * log(u)
            if case let .success(index) = coverage.locate(time, hint: hint) {
                hint = index
                if coverage.samples[index].regime == regime { value += planted }
            }
            text += "\(time / 1000),\(String(format: "%.3f", value))"
            if !segments.isEmpty { text += ",\(segments[row % segments.count])" }
            text += "\n"
            time += stepMicros * 1000
            row += 1
        }
        return text
    }
}
