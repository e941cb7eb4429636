import Foundation
import NumaguardHost
@testable import NumaguardWatch
import TestSupport
import XCTest

/// The regime machine over a counter series recorded on a real 6.1 kernel with NUMA balancing
/// (Tests/Fixtures/watch-series-6.1-2node: a process whose CPUs moved to the other node, then
/// migratepages of another). Each sample is read by the sampler's own reader from its host
/// root, so the whole path from the kernel's files to the regime is exercised.
final class RecordedSeriesTests: XCTestCase {
    struct Sample {
        var index: Int
        var time: Double
        var reading: CounterReading
    }

    static func series() throws -> [Sample] {
        let directory = Command.fixture("watch-series-6.1-2node")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { Int($0) != nil }.sorted()
        return try names.map { name in
            let root = HostRoot(path: "\(directory)/\(name)")
            let uptime = try String(contentsOfFile: "\(directory)/\(name)/uptime", encoding: .utf8)
            return Sample(index: Int(name) ?? -1, time: try XCTUnwrap(Double(uptime.trimmingCharacters(in: .whitespacesAndNewlines))),
                          reading: try CounterReading.read(root, nodes: [0, 1]))
        }
    }

    /// The guest's policy: WATCH at 20 hint faults/s, SHOCK at 500 pages/s or 50% remote, dwell 3 s.
    private var thresholds: RegimeThresholds {
        var t = RegimeThresholds()
        t.hintFaultsPerSecond = 20
        t.pagesMigratedPerSecond = 500
        t.remoteFaultRatio = 0.5
        t.dwellSeconds = 3
        return t
    }

    private func replay(_ thresholds: RegimeThresholds) throws -> [String] {
        let samples = try Self.series()
        XCTAssertEqual(samples.count, 30)
        var machine = RegimeMachine(thresholds: thresholds, start: samples[0].time)
        var transitions: [String] = []
        for (before, after) in zip(samples, samples.dropFirst()) {
            let rates = WatchRates.between(before.reading, after.reading, seconds: after.time - before.time)
            XCTAssertEqual(rates.resets, [])
            if let transition = machine.step(RegimeInput(time: after.time, rates: rates)) {
                transitions.append(String(format: "%03d %@->%@: %@", after.index, transition.from.name, transition.to.name,
                                          transition.reasons.joined(separator: "; ")))
            }
        }
        return transitions
    }

    func testTheMoverDrivesShockMigratepagesDoesNotAndTheDwellBringsStableBack() throws {
        let transitions = try replay(thresholds)
        XCTAssertEqual(transitions, [
            // Balancing starts on the moved process: 59 of 129 faults local in 0.96 s.
            "006 STABLE->SHOCK: remote hint faults 54.264% >= 50% of 134.375/s",
            // Calm (no fault, no migration) from sample 012 at 15.01 s; 3 s later.
            "018 SHOCK->STABLE: below SHOCK for 3.18s (dwell 3s); hint faults 0/s, balancing migrated 0 pages/s",
            // migratepages at 020 (4,109 pages in 0.58 s, 7084/s in pgmigrate_success) is not
            // NUMA balancing: SHOCK is judged on numa_pages_migrated (a protected workload's
            // pages moving is SAFE through its own numa_maps instead).
            // 15 remote faults in 0.57 s: above the (low) watch threshold and all remote.
            "028 STABLE->SHOCK: remote hint faults 100% >= 50% of 26.316/s",
        ])
    }

    func testBalancingsOwnMigrationsAndTheRemoteShareDuringTheMove() throws {
        let samples = try Self.series()
        let move = WatchRates.between(samples[8].reading, samples[10].reading, seconds: samples[10].time - samples[8].time)
        XCTAssertEqual(move.balancingMigratedPerSecond, move.pagesMigratedPerSecond, "every migration there was balancing's")
        XCTAssertGreaterThan(move.pagesMigratedPerSecond ?? 0, 10_000)
        let pages = WatchRates.between(samples[19].reading, samples[20].reading, seconds: samples[20].time - samples[19].time)
        XCTAssertEqual(pages.balancingMigratedPerSecond, 0, "migratepages is not balancing")
        XCTAssertEqual(pages.pagesMigratedPerSecond ?? 0, 7084.483, accuracy: 0.001, "but pgmigrate_success counts it")
        XCTAssertEqual(pages.hintFaultsPerSecond, 0)
        XCTAssertNil(pages.remoteFaultRatio)
    }

    /// With the shipped trading-host thresholds (1000 faults/s, 5000 pages/s, 30%), the same
    /// morning is a SHOCK only while balancing moves 100 MiB.
    func testShippedThresholdsOnTheSameSeries() throws {
        var t = thresholds
        t.hintFaultsPerSecond = 1000
        t.pagesMigratedPerSecond = 5000
        t.remoteFaultRatio = 0.3
        t.dwellSeconds = 30
        let transitions = try replay(t)
        XCTAssertEqual(transitions.map { String($0.prefix(18)) }, ["009 STABLE->SHOCK:"], transitions.joined(separator: "\n"))
    }
}
