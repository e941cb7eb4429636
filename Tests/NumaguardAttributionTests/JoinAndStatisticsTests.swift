@testable import NumaguardAttribution
import XCTest

/// The join's coverage rule, the quantile definition, the bootstrap's determinism and the fit.
final class JoinAndStatisticsTests: XCTestCase {
    private let second: Int64 = 1_000_000_000

    private func sample(_ end: Int64, _ interval: Int64 = 1, _ regime: AttributionRegime = .stable) -> WatchSample {
        WatchSample(end: end * second, interval: interval * second, regime: regime)
    }

    func testCoverageOverlapsDuplicatesGapsAndEdges() {
        // 10, 11 (given twice), 12 with a 3 s interval (overlaps 11), then a gap to 20.
        let coverage = Coverage([sample(11), sample(10), sample(11, 1, .shock), sample(12, 3, .watch), sample(20)])
        XCTAssertEqual(coverage.samples.map(\.end), [10, 11, 12, 20].map { $0 * second })
        XCTAssertEqual(coverage.samples[1].regime, .stable, "the first of two samples with the same time is kept")
        XCTAssertEqual(coverage.duplicates, 1)
        XCTAssertEqual(coverage.overlaps, 1)
        XCTAssertEqual(coverage.gaps, 1)
        XCTAssertEqual(coverage.starts, [9, 10, 11, 19].map { $0 * second }, "the overlapping sample starts where the one before ends")
        func locate(_ t: Int64) -> String {
            switch coverage.locate(t, hint: 0) {
            case let .success(index): "\(index)"
            case let .failure(reason): "\(reason.miss)"
            }
        }
        XCTAssertEqual(locate(9 * second), "before", "a sample covers (end - interval, end]: its start is not in it")
        XCTAssertEqual(locate(9 * second + 1), "0")
        XCTAssertEqual(locate(10 * second), "0")
        XCTAssertEqual(locate(11 * second + 1), "2")
        XCTAssertEqual(locate(15 * second), "gap")
        XCTAssertEqual(locate(20 * second), "3")
        XCTAssertEqual(locate(20 * second + 1), "after")
        XCTAssertEqual(coverage.coveredSeconds, 4)
    }

    func testRowsOutsideAreCountedNotDropped() throws {
        var builder = AttributionBuilder(coverage: Coverage([sample(10), sample(11, 1, .shock), sample(20)]))
        for (time, value) in [(Int64(5), 1.0), (10, 2), (11, 3), (15, 4), (25, 5)] {
            try builder.add(TelemetryRow(time: time * second, value: value, segment: nil, line: 1), file: "f")
        }
        try builder.add(TelemetryRow(time: 10 * second, value: nil, segment: nil, line: 1), file: "f")
        XCTAssertEqual([builder.before, builder.after, builder.inGaps, builder.noValue, builder.joined, builder.rows], [1, 1, 1, 1, 2, 6])
        let report = try Attribution.report(builder, seriesFiles: [])
        XCTAssertEqual(report.regimes.map(\.count), [1, 0, 1, 0])
    }

    func testType7QuantilesAsNumpy() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 95, 99]) = 3, 8.8, 9.76
        let values: [Double] = [1, 2, 3, 4, 10]
        XCTAssertEqual(Quantile.type7(values, 0.5), 3)
        XCTAssertEqual(Quantile.type7(values, 0.95) ?? 0, 8.8, accuracy: 1e-12)
        XCTAssertEqual(Quantile.type7(values, 0.99) ?? 0, 9.76, accuracy: 1e-12)
        XCTAssertNil(Quantile.type7([], 0.5))
        // The heap walk over several sorted groups gives the quantile of their union.
        let groups: [[Double]] = [[1, 4], [], [2, 3, 10]]
        XCTAssertEqual(Attribution.upperQuantile(groups, 0.95) ?? 0, 8.8, accuracy: 1e-12)
        XCTAssertEqual(Attribution.upperQuantile(groups, 0.5), 3)
    }

    func testBootstrapIsDeterministicAndCoversTheQuantile() {
        var rng = Xoshiro256(seed: 1)
        let values = (0..<20_000).map { _ in Double(rng.next() >> 11) / Double(1 << 53) }.sorted()
        let first = Bootstrap.replicates(values, [0.95, 0.99], label: "x", resamples: 200)
        let second = Bootstrap.replicates(values, [0.95, 0.99], label: "x", resamples: 200)
        XCTAssertEqual(first, second)
        XCTAssertNotEqual(first, Bootstrap.replicates(values, [0.95, 0.99], label: "y", resamples: 200))
        let interval = Bootstrap.interval(first[0])
        XCTAssertNotNil(interval)
        // Uniform values: the p95's standard error is sqrt(.95 * .05 / n) ~ 0.0015, around the sample's p95.
        let p95 = Quantile.type7(values, 0.95) ?? 0
        XCTAssertTrue((interval?.low ?? 1) < p95 && p95 < (interval?.high ?? 0), "\(String(describing: interval))")
        XCTAssertLessThan((interval?.high ?? 1) - (interval?.low ?? 0), 0.02)
        // m out of n: a cap below n keeps the interval the full group's, not the subsample's.
        let capped = Bootstrap.interval(Bootstrap.replicates(values, [0.95], label: "x", resamples: 200, cap: 2000)[0])
        XCTAssertLessThan((capped?.high ?? 1) - (capped?.low ?? 0), 0.02)
    }

    func testLinearFitRecoversKnownCoefficients() throws {
        // value = 5 + 0.5 hint + 0.01 pages, exactly, over samples with varied rates.
        let hints: [Double?] = [0, 10, 20, 30, 40, nil]
        let pages: [Double?] = [0, 1000, 0, 3000, 500, 10]
        let means = zip(hints, pages).map { 5 + 0.5 * ($0 ?? 0) + 0.01 * ($1 ?? 0) }
        let fit = try XCTUnwrap(LinearFit.fit(hints, pages, counts: [10, 10, 10, 10, 10, 10], means: means, m2: [0, 0, 0, 0, 0, 0],
                                              names: ("hint_faults_per_s", "pages_migrated_per_s")))
        XCTAssertEqual(fit.rows, 50, "the sample without a hint-fault figure is left out")
        XCTAssertEqual(fit.terms.map(\.name), ["intercept", "hint_faults_per_s", "pages_migrated_per_s"])
        XCTAssertEqual(fit.terms[0].coefficient, 5, accuracy: 1e-9)
        XCTAssertEqual(fit.terms[1].coefficient, 0.5, accuracy: 1e-9)
        XCTAssertEqual(fit.terms[2].coefficient, 0.01, accuracy: 1e-9)
        XCTAssertEqual(fit.rSquared, 1, accuracy: 1e-9)
        // Constant pages: dropped and said so; the noise within samples lowers R².
        let flat = try XCTUnwrap(LinearFit.fit([0, 10], [0, 0], counts: [100, 100], means: [1, 2], m2: [1000, 1000], names: ("h", "p")))
        XCTAssertEqual(flat.dropped, ["p (constant)"])
        XCTAssertLessThan(flat.rSquared, 0.1)
        XCTAssertTrue(flat.verdict.hasPrefix("the rates explain little of the value"))
    }

    func testSeriesLinesNullFiguresAndRefusals() throws {
        let good = "{\"format_version\":1,\"kind\":\"watch_sample\",\"time\":\"2026-12-02T15:50:01.123456Z\",\"interval_s\":1.000213,\"regime\":\"stable\","
            + "\"figures\":{\"hint_faults_per_s\":null,\"remote_fault_ratio\":0.25,\"pages_migrated_per_s\":0},\"workloads\":{\"engine\":{\"processes\":1,\"placement\":\"ok\"}}}"
        var reader = WatchSeriesReader(file: "s")
        try Array((good + "\n").utf8).withUnsafeBufferPointer { (bytes) throws(AttributionError) in try reader.feed(bytes) }
        let samples = try reader.finish()
        XCTAssertEqual(samples, [WatchSample(end: 1_796_226_601_123_456_000, interval: 1_000_213_000, regime: .stable,
                                             hintFaultsPerSecond: nil, pagesMigratedPerSecond: 0)])
        func refusal(_ line: String) -> String? {
            var reader = WatchSeriesReader(file: "s")
            do {
                try Array(("\n" + line).utf8).withUnsafeBufferPointer { (bytes) throws(AttributionError) in try reader.feed(bytes) }
                _ = try reader.finish()
                return nil
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(refusal(good.replacingOccurrences(of: "\"interval_s\":1.000213,", with: "")), "s:2:1: no interval_s")
        XCTAssertEqual(refusal(good.replacingOccurrences(of: "\"pages_migrated_per_s\":0", with: "\"pages_migrated_per_s\":-1")),
                       "s:2:205: pages_migrated_per_s is neither a rate (a number >= 0) nor null")
        XCTAssertEqual(refusal("not json"), "s:2:1: not a JSON object: expected {")
        XCTAssertEqual(refusal(""), "s: holds no watch_sample line")
        XCTAssertTrue(WatchSeriesReader.isSeries(firstLine: Array(good.utf8)))
        XCTAssertFalse(WatchSeriesReader.isSeries(firstLine: Array("{\"ts\":1,\"kind\":\"order\"}".utf8)))
    }
}
