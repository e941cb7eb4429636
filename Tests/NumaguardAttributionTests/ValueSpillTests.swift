import Foundation
@testable import NumaguardAttribution
import XCTest

/// The flat-memory join: values spilled to scratch files in small runs and merged give the
/// very figures (JSON byte for byte, bootstrap intervals included) the in-memory join gives,
/// with segments and the plot's windows, for attribute and for the gate.
final class ValueSpillTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-spill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs of 997 rows (a prime: runs end mid-group) against the default chunk, which holds
    /// all of these rows in memory.
    private var small: SpillSettings { SpillSettings(directory: directory, chunkRows: 997) }

    func testSpilledReportIsTheInMemoryReport() throws {
        let samples = try PlantedEffectTests.samples()
        let csv = PlantedTelemetry.csv(over: samples, planted: 40, segments: ["XNAS", "XLON", "XPAR"])
        for segments in [[], ["venue"]] {
            let memory = try PlantedEffectTests.builder(samples, csv, segments: segments, plot: true)
            let spilled = try PlantedEffectTests.builder(samples, csv, segments: segments, plot: true, spill: small)
            XCTAssertGreaterThan(spilled.joined, 15 * 997, "enough rows for many runs")
            let expected = try Attribution.report(memory, seriesFiles: ["s"])
            let actual = try Attribution.report(spilled, seriesFiles: ["s"])
            XCTAssertEqual(AttributionJSON.render(actual), AttributionJSON.render(expected), "segments \(segments)")
            XCTAssertEqual(actual.windowP99.count, AttributionBuilder.plotWindows)
            XCTAssertEqual(actual.windowP99.map { $0?.bitPattern }, expected.windowP99.map { $0?.bitPattern })
            // The report read the scratch files back: figures, not empty groups.
            XCTAssertEqual(actual.regimes.reduce(0) { $0 + $1.count }, spilled.joined)
            XCTAssertNotNil(actual.regimes[AttributionRegime.shock.rawValue].p99)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [], "scratch files are unnamed")
    }

    func testSpilledGateIsTheInMemoryGate() throws {
        let samples = try PlantedEffectTests.samples()
        let venues = ["XNAS", "XLON"]
        let planted = PlantedTelemetry.csv(over: samples, stepMicros: 500, planted: 40, segments: venues)
        let clean = PlantedTelemetry.csv(over: samples, stepMicros: 500, planted: 0, seed: 9, segments: venues)
        func side(_ builder: AttributionBuilder) -> GateSide {
            GateSide(directory: "d", seriesFiles: [], telemetry: builder.files, rows: builder.rows, joined: builder.joined,
                     outside: builder.outside, noValue: builder.noValue)
        }
        func judge(_ spill: SpillSettings) throws -> String {
            let baseline = try PlantedEffectTests.builder(samples, planted, segments: ["venue"], spill: spill)
            let candidate = try PlantedEffectTests.builder(samples, clean, segments: ["venue"], spill: spill)
            return GateJSON.render(try AttributionGate.judge(baseline: baseline, baselineSide: side(baseline), candidate: candidate,
                                                             candidateSide: side(candidate), settings: GateSettings()))
        }
        let expected = try judge(SpillSettings())
        XCTAssertEqual(try judge(small), expected)
        XCTAssertTrue(expected.contains("\"passed\": true") || expected.contains("\"passed\":true"), expected)
    }

    func testAScratchDirectoryThatCannotBeUsedStopsTheJoinByName() throws {
        let samples = try PlantedEffectTests.samples()
        let csv = PlantedTelemetry.csv(over: samples, planted: 0)
        let missing = directory + "/missing"
        XCTAssertThrowsError(try PlantedEffectTests.builder(samples, csv, spill: SpillSettings(directory: missing, chunkRows: 100))) { error in
            guard let error = error as? AttributionError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .scratch)
            XCTAssertTrue(error.description.contains(missing) && error.description.contains("--scratch-dir"), error.description)
        }
        // Within one chunk nothing is written, so the directory is never needed.
        let report = try Attribution.report(try PlantedEffectTests.builder(samples, csv, spill: SpillSettings(directory: missing)), seriesFiles: ["s"])
        XCTAssertGreaterThan(report.joined, 0)
    }

    func testMergesKeepOrderAcrossRunsAndGroups() throws {
        // Values arrive in descending order, alternating over three groups, so every run holds
        // every group and each run's order is the reverse of the arrival order.
        let spill = ValueSpill(SpillSettings(directory: directory, chunkRows: 10))
        var expected: [[Double]] = [[], [], []]
        for index in 0..<1000 {
            let value = Double(1000 - index) + (index % 7 == 0 ? 0.5 : 0)
            try spill.append(group: index % 3, value: value)
            expected[index % 3].append(value)
        }
        let sorted = try spill.finish()
        for group in 0..<3 {
            let column = sorted.column(group)
            XCTAssertEqual(try (0..<column.count).map { try column.value(at: $0) }, expected[group].sorted())
        }
        // Small blocks, as when ten thousand segments are read at once: the same values.
        let small = sorted.column(1, sharing: 100_000)
        XCTAssertEqual(small.blockValues, 64)
        XCTAssertEqual(try (0..<small.count).reversed().map { try small.value(at: $0) }, expected[1].sorted().reversed())
        let merged = try sorted.merged([0, 1, 2])
        XCTAssertEqual(try (0..<merged.count).map { try merged.value(at: $0) }, expected.flatMap { $0 }.sorted())
        XCTAssertThrowsError(try merged.value(at: merged.count))
        XCTAssertThrowsError(try spill.append(group: 0, value: 1), "nothing is added after the sort")
        XCTAssertEqual(sorted.column(7).count, 0)
    }
}
