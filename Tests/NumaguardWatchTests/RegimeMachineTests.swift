import Foundation
import NumaguardCore
import NumaguardHost
@testable import NumaguardWatch
import NumaguardPolicy
import XCTest

/// The regime machine over series of figures: entry, hysteresis, dwell, SAFE and its causes.
final class RegimeMachineTests: XCTestCase {
    /// WATCH at 100 hint faults/s, SHOCK at 1000 pages/s or 50% remote, SAFE at 10 failures/s,
    /// dwell 5 s, exit below 50%.
    private var thresholds: RegimeThresholds {
        var t = RegimeThresholds()
        t.hintFaultsPerSecond = 100
        t.pagesMigratedPerSecond = 1000
        t.remoteFaultRatio = 0.5
        t.migrationFailuresPerSecond = 10
        t.dwellSeconds = 5
        t.exitShare = 0.5
        return t
    }

    /// `migrated`: pages NUMA balancing migrated per second (what SHOCK judges); `all`: every
    /// migration (pgmigrate_success), the same unless given.
    private func rates(faults: Double? = 0, remote: Double? = nil, migrated: Double? = 0, all: Double? = nil, failures: Double? = 0) -> WatchRates {
        WatchRates(seconds: 1, hintFaultsPerSecond: faults, remoteFaultRatio: remote, pagesMigratedPerSecond: all ?? migrated,
                   balancingMigratedPerSecond: migrated, migrationFailuresPerSecond: failures)
    }

    /// THP compaction (or tiering, or CMA) moving pages shows in pgmigrate_success only: not SHOCK.
    func testCompactionAloneIsNotShock() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        let compaction = rates(faults: 0, migrated: 0, all: 50_000)
        XCTAssertEqual(run(Array(repeating: compaction, count: 10), &machine), [])
        XCTAssertEqual(machine.regime, .stable)
        XCTAssertEqual(machine.called(for: RegimeInput(time: 11, rates: compaction)).1, ["hint faults 0/s, balancing migrated 0 pages/s"])
        // Balancing's own migrations at the threshold are.
        let balancing = RegimeInput(time: 12, rates: rates(faults: 0, migrated: 1000, all: 1000))
        XCTAssertEqual(machine.called(for: balancing).0, .shock)
        XCTAssertEqual(machine.called(for: balancing).1, ["NUMA balancing migrated 1000 pages/s >= 1000/s"])
    }

    /// Feeds one sample per second starting at t=1 and returns "t:FROM->TO" for each transition.
    private func run(_ series: [WatchRates?], _ machine: inout RegimeMachine, from start: Double = 1,
                     changes: [Double: [String]] = [:]) -> [String] {
        var out: [String] = []
        for (offset, rates) in series.enumerated() {
            let time = start + Double(offset)
            let input = RegimeInput(time: time, rates: rates, unreadable: rates == nil ? ["cannot read proc/vmstat"] : [],
                                    protectedChanges: changes[time] ?? [])
            if let transition = machine.step(input) {
                out.append("\(Int(time)):\(transition.from.name)->\(transition.to.name)")
            }
        }
        return out
    }

    func testQuietHostStaysStable() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        XCTAssertEqual(run(Array(repeating: rates(faults: 99, migrated: 999), count: 20), &machine), [])
        XCTAssertEqual(machine.regime, .stable)
    }

    func testEntryIsImmediateAndLeavingWaitsForTheDwell() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        let series = [rates(faults: 150)] + Array(repeating: rates(faults: 10), count: 8)
        // WATCH at t=1; calm from t=2; the dwell of 5 s is over at t=7.
        XCTAssertEqual(run(series, &machine), ["1:STABLE->WATCH", "7:WATCH->STABLE"])
    }

    func testHysteresisHoldsARegimeAboveItsExitThreshold() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        // 60/s is below WATCH's entry (100) but above its exit (50): WATCH holds.
        let series = [rates(faults: 120)] + Array(repeating: rates(faults: 60), count: 10) + Array(repeating: rates(faults: 40), count: 6)
        XCTAssertEqual(run(series, &machine), ["1:STABLE->WATCH", "17:WATCH->STABLE"])
        // From STABLE, 60/s does not enter WATCH.
        var fresh = RegimeMachine(thresholds: thresholds, start: 0)
        XCTAssertEqual(run(Array(repeating: rates(faults: 60), count: 10), &fresh), [])
    }

    func testAFigureHoveringAtTheThresholdDoesNotFlap() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        let series = (0..<30).map { rates(faults: $0 % 2 == 0 ? 101 : 70) }
        XCTAssertEqual(run(series, &machine), ["1:STABLE->WATCH"])
    }

    func testABurstDuringTheCalmRestartsTheDwell() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        let series = [rates(faults: 200), rates(faults: 0), rates(faults: 0), rates(faults: 0), rates(faults: 200)]
            + Array(repeating: rates(faults: 0), count: 6)
        // The burst at t=5 holds WATCH; calm again from t=6, so the dwell ends at t=11.
        XCTAssertEqual(run(series, &machine), ["1:STABLE->WATCH", "11:WATCH->STABLE"])
    }

    func testShockByMigrationsOrByRemoteFaultsAndItSettlesThroughTheHighestCalmLevel() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        // SHOCK by pages migrated; then calm for SHOCK but still WATCH-level faults: drops to WATCH.
        let series = [rates(faults: 300, migrated: 4000)] + Array(repeating: rates(faults: 300, migrated: 100), count: 6)
            + Array(repeating: rates(faults: 0, migrated: 0), count: 6)
        XCTAssertEqual(run(series, &machine), ["1:STABLE->SHOCK", "7:SHOCK->WATCH", "13:WATCH->STABLE"])

        // Remote faults count only with enough faults behind them.
        var remote = RegimeMachine(thresholds: thresholds, start: 0)
        XCTAssertEqual(run([rates(faults: 20, remote: 1.0)], &remote), [], "a handful of remote faults is noise")
        XCTAssertEqual(run([rates(faults: 150, remote: 0.8)], &remote, from: 2), ["2:STABLE->SHOCK"])
        let (level, reasons) = remote.called(for: RegimeInput(time: 3, rates: rates(faults: 150, remote: 0.8)))
        XCTAssertEqual(level, .shock)
        XCTAssertEqual(reasons, ["remote hint faults 80% >= 25% (SHOCK exit) of 150/s"])
    }

    func testEscalationFromWatchToShockIsImmediate() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        XCTAssertEqual(run([rates(faults: 150), rates(faults: 150, migrated: 2000)], &machine), ["1:STABLE->WATCH", "2:WATCH->SHOCK"])
    }

    func testSafeForUnreadableCountersFailuresAndProtectedChanges() {
        var unreadable = RegimeMachine(thresholds: thresholds, start: 0)
        XCTAssertEqual(run([nil] + Array(repeating: rates(), count: 6), &unreadable), ["1:STABLE->SAFE", "7:SAFE->STABLE"])

        var failing = RegimeMachine(thresholds: thresholds, start: 0)
        let failures = [rates(failures: 12), rates(failures: 6), rates(failures: 6)] + Array(repeating: rates(failures: 4), count: 6)
        XCTAssertEqual(run(failures, &failing), ["1:STABLE->SAFE", "9:SAFE->STABLE"], "6/s holds SAFE (exit 5/s)")

        var placement = RegimeMachine(thresholds: thresholds, start: 0)
        let quiet = Array(repeating: rates(faults: 150), count: 10)
        XCTAssertEqual(run(quiet, &placement, changes: [3: ["PID 7 (engine): allowed CPUs changed from 0-1 to 2-3"]]),
                       ["1:STABLE->WATCH", "3:WATCH->SAFE", "9:SAFE->WATCH"],
                       "a protected placement change is SAFE, left after the dwell to what the figures call for")
    }

    func testTransitionsCarryTheirReasons() throws {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        let entry = try XCTUnwrap(machine.step(RegimeInput(time: 1, rates: rates(faults: 1520.25))))
        XCTAssertEqual(entry.reasons, ["hint faults 1520.25/s >= 100/s"])
        for time in 2...6 { XCTAssertNil(machine.step(RegimeInput(time: Double(time), rates: rates(faults: 3, migrated: 7)))) }
        let exit = try XCTUnwrap(machine.step(RegimeInput(time: 7, rates: rates(faults: 3, migrated: 7))))
        XCTAssertEqual(exit.reasons, ["below WATCH for 5s (dwell 5s)", "hint faults 3/s, balancing migrated 7 pages/s"])
    }

    func testUnavailableHintFaultsNeverEnterWatch() {
        var machine = RegimeMachine(thresholds: thresholds, start: 0)
        XCTAssertEqual(run(Array(repeating: rates(faults: nil, migrated: 10), count: 5), &machine), [])
        XCTAssertEqual(run([rates(faults: nil, migrated: 2000)], &machine, from: 6), ["6:STABLE->SHOCK"], "migrations still count")
    }

    func testThresholdsFromThePolicyWithDefaults() throws {
        let policy = try PolicyLoader.parse("""
            version: 1
            watch:
              interval: 250ms
              numa_maps_period: 2m
              listen: 9100
              regimes: {watch: {hint_faults_per_s: 7}, safe: {migration_failures_per_s: 3}, dwell: 10s, exit: 80%}
            """, file: "p.yaml")
        let t = RegimeThresholds(policy.watch)
        XCTAssertEqual(t.intervalSeconds, 0.25)
        XCTAssertEqual(t.hintFaultsPerSecond, 7)
        XCTAssertEqual(t.pagesMigratedPerSecond, 5000, "default")
        XCTAssertEqual(t.remoteFaultRatio, 0.3, "default")
        XCTAssertEqual(t.migrationFailuresPerSecond, 3)
        XCTAssertEqual(t.dwellSeconds, 10)
        XCTAssertEqual(t.exitShare, 0.8, accuracy: 1e-12)
        XCTAssertEqual(t.numaMapsPeriodSeconds, 120)
        XCTAssertEqual(policy.watch?.listen?.description, "127.0.0.1:9100")
        XCTAssertEqual(RegimeThresholds(nil), RegimeThresholds())
    }

    /// An interval below the floor that reaches the service some other way than the command
    /// line or the loader is raised to the floor: sampling must never be the loop's whole time.
    func testTheServiceRaisesAnIntervalBelowTheFloor() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-floor-\(UUID().uuidString).yaml").path
        try "version: 1\nwatch: {interval: 250ms}\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loaded = try PolicyLoader.load(file: path, reading: InputFile.read)
        func interval(_ override: Double?) -> Double {
            WatchService.thresholds(loaded, WatchOptions(policyPath: path, root: HostRoot(path: "/"), interval: override)).intervalSeconds
        }
        XCTAssertEqual(interval(nil), 0.25)
        XCTAssertEqual(interval(1e-19), DurationLimits.watchInterval.minimum)
        XCTAssertEqual(interval(0.001), 0.01)
        XCTAssertEqual(interval(0.02), 0.02)
    }
}
