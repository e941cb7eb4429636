import NumaguardCore
import NumaguardHost
@testable import NumaguardWatch
import TestSupport
import XCTest

/// Rates between two counter readings: deltas per second, the remote share, counters the
/// kernel lacks, counters that go backwards; and readings of recorded kernels' files.
final class WatchRatesTests: XCTestCase {
    func testRatesAndRemoteShare() {
        let before = CounterReading(miss: [0: 10, 1: 5], foreign: [0: 5, 1: 10], migrated: 1000, hintFaults: 500,
                                    hintFaultsLocal: 400, balancingMigrated: 800, migrationFailures: 3)
        let after = CounterReading(miss: [0: 10, 1: 25], foreign: [0: 25, 1: 10], migrated: 3000, hintFaults: 1500,
                                   hintFaultsLocal: 650, balancingMigrated: 2600, migrationFailures: 3)
        let rates = WatchRates.between(before, after, seconds: 2)
        XCTAssertEqual(rates.hintFaultsPerSecond, 500)
        XCTAssertEqual(rates.remoteFaultRatio ?? -1, 0.75, accuracy: 1e-12, "250 of 1000 faults were local")
        XCTAssertEqual(rates.pagesMigratedPerSecond, 1000)
        XCTAssertEqual(rates.balancingMigratedPerSecond, 900)
        XCTAssertEqual(rates.migrationFailuresPerSecond, 0)
        XCTAssertEqual(rates.missPerSecond, [0: 0, 1: 10])
        XCTAssertEqual(rates.foreignPerSecond, [0: 10, 1: 0])
        XCTAssertEqual(rates.resets, [])
    }

    func testNoFaultsMeansNoRemoteShareAndAbsentCountersStayAbsent() {
        let reading = CounterReading(miss: [:], foreign: [:], migrated: 7)
        let rates = WatchRates.between(reading, reading, seconds: 1)
        XCTAssertNil(rates.hintFaultsPerSecond, "no such counter (PREEMPT_RT): unavailable, not 0")
        XCTAssertNil(rates.remoteFaultRatio)
        XCTAssertEqual(rates.pagesMigratedPerSecond, 0)
        let quiet = CounterReading(miss: [:], foreign: [:], migrated: 7, hintFaults: 9, hintFaultsLocal: 9)
        XCTAssertEqual(WatchRates.between(quiet, quiet, seconds: 1).hintFaultsPerSecond, 0)
        XCTAssertNil(WatchRates.between(quiet, quiet, seconds: 1).remoteFaultRatio, "no faults, no share")
    }

    func testACounterGoingBackwardsIsAResetNotARate() {
        let before = CounterReading(miss: [0: 100], foreign: [0: 1], migrated: 5000, hintFaults: 900, hintFaultsLocal: 100)
        let after = CounterReading(miss: [0: 3], foreign: [0: 2], migrated: 10, hintFaults: 950, hintFaultsLocal: 120)
        let rates = WatchRates.between(before, after, seconds: 1)
        XCTAssertEqual(rates.resets, ["pgmigrate_success", "node0.numa_miss"])
        XCTAssertNil(rates.pagesMigratedPerSecond)
        XCTAssertNil(rates.missPerSecond[0])
        XCTAssertEqual(rates.foreignPerSecond[0], 1)
        XCTAssertEqual(rates.hintFaultsPerSecond, 50)
        XCTAssertEqual(rates.remoteFaultRatio ?? -1, 0.6, accuracy: 1e-12)
    }

    /// The recorded 6.1 guest has every counter; the recorded RT guest has no hint faults.
    func testReadingsOfRecordedKernels() throws {
        let full = try CounterReading.read(HostRoot(path: Command.fixture("linux-6.1-2node")), nodes: [0, 1])
        XCTAssertNotNil(full.hintFaults)
        XCTAssertNotNil(full.hintFaultsLocal)
        XCTAssertNotNil(full.balancingMigrated)
        XCTAssertNotNil(full.migrationFailures)
        XCTAssertEqual(WatchSampler.available(full).map(\.1), [true, true, true, true, true])
        let rt = try CounterReading.read(HostRoot(path: Command.fixture("linux-rt-2node")), nodes: [0, 1])
        XCTAssertNil(rt.hintFaults)
        XCTAssertNil(rt.balancingMigrated)
        XCTAssertNotNil(rt.migrated, "pgmigrate_success exists without NUMA balancing")
        XCTAssertEqual(WatchSampler.available(rt).map(\.0), ["numa_hint_faults", "numa_hint_faults_local", "numa_pages_migrated", "pgmigrate_success", "pgmigrate_fail"])
        XCTAssertEqual(WatchSampler.available(rt).map(\.1), [false, false, false, true, true])
    }

    func testSamplerReportsTheKnobAndWhatItCannotRead() throws {
        let sample = WatchSampler(root: HostRoot(path: Command.fixture("linux-6.1-2node")), nodes: [0, 1]).sample()
        XCTAssertNotNil(sample.counters)
        XCTAssertEqual(sample.numaBalancing, 1)
        XCTAssertEqual(sample.unreadable, [])
        let rt = WatchSampler(root: HostRoot(path: Command.fixture("linux-rt-2node")), nodes: [0, 1]).sample()
        XCTAssertNil(rt.numaBalancing, "no sysctl on RT: absent, not unreadable")
        XCTAssertEqual(rt.unreadable, [])
        let missingNode = WatchSampler(root: HostRoot(path: Command.fixture("linux-6.1-2node")), nodes: [0, 7]).sample()
        XCTAssertNil(missingNode.counters)
        XCTAssertEqual(missingNode.unreadable.count, 1)
        XCTAssertTrue(missingNode.unreadable[0].contains("node7/numastat"), missingNode.unreadable[0])
    }
}
