import Foundation
@testable import NumaguardAttribution
import TestSupport
import XCTest

/// The proof the issue asks for: over a series recorded in the 6.1 guest under induced
/// migrations, telemetry with +40 µs planted on every row in SHOCK seconds is attributed to
/// SHOCK (the uplift's interval holds 40 and excludes 0), and telemetry without it shows no
/// uplift; the gate passes the clean period against the planted one and fails the reverse.
final class PlantedEffectTests: XCTestCase {
    static func samples() throws -> [WatchSample] {
        var reader = WatchSeriesReader(file: "series.jsonl")
        let text = try RecordedWatchSeries.lines()
        try Array(text.utf8).withUnsafeBufferPointer { (bytes) throws(AttributionError) in try reader.feed(bytes) }
        return try reader.finish()
    }

    static func builder(_ samples: [WatchSample], _ csv: String, segments: [String] = [], plot: Bool = false,
                        spill: SpillSettings = SpillSettings()) throws -> AttributionBuilder {
        var builder = AttributionBuilder(coverage: Coverage(samples), segmentColumns: segments, plot: plot, spill: spill)
        var reader = TelemetryReader(file: "t.csv", format: .csv, columns: TelemetryColumns(time: "ts", value: "latency_us", segments: segments))
        try Array(csv.utf8).withUnsafeBufferPointer { (bytes) throws(AttributionError) in
            try reader.feed(bytes) { (row) throws(AttributionError) in try builder.add(row, file: "t.csv") }
        }
        try reader.finish { (row) throws(AttributionError) in try builder.add(row, file: "t.csv") }
        builder.noteFile(reader.summary)
        return builder
    }

    func testTheCommittedSeriesIsTheReplayOfTheRecordedCounters() throws {
        let path = Command.fixture("attribution/series-6.1-2node.jsonl")
        let generated = try RecordedWatchSeries.lines()
        if ProcessInfo.processInfo.environment["NUMAGUARD_WRITE_ATTRIBUTION_SERIES"] != nil {
            try generated.write(toFile: path, atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), generated)
    }

    func testTheSeriesHasTheRecordedShocks() throws {
        let samples = try Self.samples()
        XCTAssertEqual(samples.count, 29)
        let regimes = samples.map(\.regime)
        XCTAssertTrue(regimes.contains(.shock) && regimes.contains(.stable))
        XCTAssertGreaterThan(samples.filter { $0.regime == .shock }.count, 5)
    }

    func testPlantedUpliftIsRecoveredWithinItsInterval() throws {
        let samples = try Self.samples()
        let report = try Attribution.report(try Self.builder(samples, PlantedTelemetry.csv(over: samples, planted: 40)), seriesFiles: ["s"])
        XCTAssertEqual(report.before + report.after + report.inGaps, 0)
        XCTAssertEqual(report.telemetry.first?.unit, .microseconds)
        XCTAssertGreaterThan(report.regimes[AttributionRegime.shock.rawValue].count, 5000)
        for p in [0.95, 0.99] {
            let uplift = try XCTUnwrap(report.uplifts.first { $0.regime == .shock && $0.probability == p })
            let interval = try XCTUnwrap(uplift.interval)
            XCTAssertLessThanOrEqual(interval.low, 40, "p\(p): \(uplift.difference) [\(interval.low), \(interval.high)]")
            XCTAssertGreaterThanOrEqual(interval.high, 40, "p\(p): \(uplift.difference) [\(interval.low), \(interval.high)]")
            XCTAssertGreaterThan(interval.low, 0)
            XCTAssertTrue(uplift.significant)
        }
        // Almost all of the worst 1% is in SHOCK.
        XCTAssertGreaterThan(report.worstOutsideStable ?? 0, 0.9)
    }

    /// The same proof over what `watch --series` itself wrote in the 6.1 guest under induced
    /// migrations (WatchGuestTests, `NUMAGUARD_RECORD_WATCH_SAMPLES`): +40 µs on every SHOCK
    /// row is found within its interval; nothing planted, no uplift.
    func testThePlantedUpliftOverTheGuestsOwnSeries() throws {
        var reader = WatchSeriesReader(file: "watch-sample-series-6.1-2node.jsonl")
        let bytes = Array(try String(contentsOfFile: Command.fixture("watch-sample-series-6.1-2node.jsonl"), encoding: .utf8).utf8)
        try bytes.withUnsafeBufferPointer { (bytes) throws(AttributionError) in try reader.feed(bytes) }
        let samples = try reader.finish()
        XCTAssertGreaterThanOrEqual(samples.filter { $0.regime == .shock }.count, 10)
        XCTAssertGreaterThanOrEqual(samples.filter { $0.regime == .stable }.count, 10)
        for planted in [40.0, 0] {
            let report = try Attribution.report(try Self.builder(samples, PlantedTelemetry.csv(over: samples, planted: planted, seed: 21)), seriesFiles: ["s"])
            XCTAssertEqual(report.before + report.after + report.inGaps, 0)
            for p in [0.95, 0.99] {
                let uplift = try XCTUnwrap(report.uplifts.first { $0.regime == .shock && $0.probability == p })
                let interval = try XCTUnwrap(uplift.interval)
                let said = "planted \(planted), p\(p): \(uplift.difference) [\(interval.low), \(interval.high)]"
                XCTAssertLessThanOrEqual(interval.low, planted, said)
                XCTAssertGreaterThanOrEqual(interval.high, planted, said)
                XCTAssertEqual(uplift.significant, planted > 0, said)
            }
        }
    }

    /// Per segment: +40 µs planted in SHOCK on one venue only is found in that venue's
    /// uplift over its own STABLE rows, and not in the other's.
    func testPlantedUpliftIsFoundInItsSegmentOnly() throws {
        let samples = try Self.samples()
        // Even rows XNAS, odd rows XLON; the plant goes on XNAS's rows by building each
        // venue's telemetry apart and joining both files into one builder.
        let planted = PlantedTelemetry.csv(over: samples, stepMicros: 2000, planted: 40, seed: 3, segments: ["XNAS"])
        let clean = PlantedTelemetry.csv(over: samples, stepMicros: 2000, planted: 0, seed: 4, segments: ["XLON"])
        var builder = AttributionBuilder(coverage: Coverage(samples), segmentColumns: ["venue"])
        for (name, csv) in [("xnas.csv", planted), ("xlon.csv", clean)] {
            var reader = TelemetryReader(file: name, format: .csv, columns: TelemetryColumns(time: "ts", value: "latency_us", segments: ["venue"]))
            try Array(csv.utf8).withUnsafeBufferPointer { (bytes) throws(AttributionError) in
                try reader.feed(bytes) { (row) throws(AttributionError) in try builder.add(row, file: name) }
            }
            try reader.finish { (row) throws(AttributionError) in try builder.add(row, file: name) }
        }
        let report = try Attribution.report(builder, seriesFiles: ["s"])
        let shock = report.segments[AttributionRegime.shock.rawValue]
        XCTAssertEqual(shock.map(\.values), [["XNAS"], ["XLON"]])
        for (segment, expected) in zip(shock, [40.0, 0]) {
            for p in [0.95, 0.99] {
                let uplift = try XCTUnwrap(segment.uplifts.first { $0.probability == p }, "\(segment.values)")
                let interval = try XCTUnwrap(uplift.interval)
                let said = "\(segment.values) p\(p): \(uplift.difference) [\(interval.low), \(interval.high)]"
                XCTAssertLessThanOrEqual(interval.low, expected, said)
                XCTAssertGreaterThanOrEqual(interval.high, expected, said)
                XCTAssertEqual(uplift.significant, expected > 0, said)
            }
        }
        XCTAssertTrue(report.segments[AttributionRegime.stable.rawValue].allSatisfy(\.uplifts.isEmpty), "STABLE is the baseline")
        let text = AttributionText.render(report)
        XCTAssertTrue(text.contains("by segment, over the segment's own STABLE"), text)
        XCTAssertTrue(AttributionJSON.render(report).contains("\"segments_with_intervals\":16"))
    }

    /// Only the segments with the most rows get intervals: the cost is bounded whatever the
    /// number of segments, and the rest keep their counts and quantiles.
    func testSegmentIntervalsAreBoundedToTheLargestSegments() throws {
        let samples = try Self.samples()
        let venues = (0..<20).map { "V\($0)" }
        let report = try Attribution.report(try Self.builder(samples, PlantedTelemetry.csv(over: samples, stepMicros: 500, planted: 40, segments: venues),
                                                             segments: ["venue"]), seriesFiles: ["s"])
        let shock = report.segments[AttributionRegime.shock.rawValue]
        XCTAssertEqual(shock.count, 20)
        XCTAssertEqual(shock.filter { !$0.uplifts.isEmpty }.count, Bootstrap.maximumSegmentIntervals)
        XCTAssertTrue(shock.allSatisfy { $0.stats.p99 != nil })
    }

    func testNothingPlantedNoUplift() throws {
        let samples = try Self.samples()
        let report = try Attribution.report(try Self.builder(samples, PlantedTelemetry.csv(over: samples, planted: 0)), seriesFiles: ["s"])
        for p in [0.95, 0.99] {
            let uplift = try XCTUnwrap(report.uplifts.first { $0.regime == .shock && $0.probability == p })
            let interval = try XCTUnwrap(uplift.interval)
            XCTAssertLessThanOrEqual(interval.low, 0, "p\(p): \(uplift.difference) [\(interval.low), \(interval.high)]")
            XCTAssertGreaterThanOrEqual(interval.high, 0, "p\(p): \(uplift.difference) [\(interval.low), \(interval.high)]")
            XCTAssertFalse(uplift.significant)
        }
    }

    func testGatePassesTheCleanCandidateAndFailsTheReverse() throws {
        let samples = try Self.samples()
        let planted = try Self.builder(samples, PlantedTelemetry.csv(over: samples, stepMicros: 2000, planted: 40, seed: 11, segments: ["XNAS", "XLON"]), segments: ["venue"])
        let clean = try Self.builder(samples, PlantedTelemetry.csv(over: samples, stepMicros: 2000, planted: 0, seed: 12, segments: ["XNAS", "XLON"]), segments: ["venue"])
        func side(_ builder: AttributionBuilder) -> GateSide {
            GateSide(directory: "d", seriesFiles: [], telemetry: [], rows: builder.rows, joined: builder.joined, outside: builder.outside, noValue: 0)
        }
        let better = try AttributionGate.judge(baseline: planted, baselineSide: side(planted), candidate: clean, candidateSide: side(clean),
                                           settings: GateSettings())
        XCTAssertTrue(better.passed, better.reasons.joined(separator: "\n"))
        XCTAssertEqual(better.segments.map(\.values), [["XNAS"], ["XLON"]])
        let worse = try AttributionGate.judge(baseline: clean, baselineSide: side(clean), candidate: planted, candidateSide: side(planted),
                                          settings: GateSettings())
        XCTAssertFalse(worse.passed)
        XCTAssertTrue(worse.reasons.contains { $0.contains("venue=XNAS: p99") && $0.contains("worse beyond 5.0%") }, worse.reasons.joined(separator: "\n"))
        // The same period against itself (other draws): passes, nothing worse.
        let again = try Self.builder(samples, PlantedTelemetry.csv(over: samples, stepMicros: 2000, planted: 0, seed: 13, segments: ["XNAS", "XLON"]), segments: ["venue"])
        let same = try AttributionGate.judge(baseline: clean, baselineSide: side(clean), candidate: again, candidateSide: side(again),
                                         settings: GateSettings(maxWorse: 0.1))
        XCTAssertTrue(same.passed, same.reasons.joined(separator: "\n"))
    }

    func testCompletionDropFailsTheGate() throws {
        let samples = try Self.samples()
        let full = try Self.builder(samples, PlantedTelemetry.csv(over: samples, planted: 0, seed: 3))
        let sparse = try Self.builder(samples, PlantedTelemetry.csv(over: samples, stepMicros: 1100, planted: 0, seed: 4))
        func side(_ builder: AttributionBuilder) -> GateSide {
            GateSide(directory: "d", seriesFiles: [], telemetry: [], rows: builder.rows, joined: builder.joined, outside: builder.outside, noValue: 0)
        }
        let report = try AttributionGate.judge(baseline: full, baselineSide: side(full), candidate: sparse, candidateSide: side(sparse),
                                           settings: GateSettings(maxWorse: 0.5))
        XCTAssertFalse(report.passed)
        XCTAssertTrue(report.reasons.contains { $0.hasPrefix("all rows: completion dropped 9.") }, report.reasons.joined(separator: "\n"))
    }
}
