import NumaguardCore
import NumaguardHost
import NumaguardWatch
import XCTest

/// Counter deltas at the ends of UInt64 (issue 12: every arithmetic on kernel numbers is
/// checked): the largest growth is a finite rate, a wrap is a reset, never a trap.
final class WatchRatesExtremesTests: XCTestCase {
    func testLargestCountersGiveFiniteRatesAndWrapsAreResets() throws {
        let counters = try CounterFileParser.parse("numa_miss 18446744073709551615\n")
        XCTAssertEqual(counters["numa_miss"], UInt64.max)
        XCTAssertThrowsError(try CounterFileParser.parse("numa_miss 18446744073709551616\n"), "beyond 64 bits")
        let zero = CounterReading(miss: [0: 0], foreign: [0: .max], migrated: 0, hintFaults: 0, hintFaultsLocal: 0,
                                  balancingMigrated: 0, migrationFailures: 0)
        let full = CounterReading(miss: [0: .max], foreign: [0: 0], migrated: .max, hintFaults: .max, hintFaultsLocal: .max,
                                  balancingMigrated: .max, migrationFailures: .max)
        let rates = WatchRates.between(zero, full, seconds: 1e-9)
        for (name, value) in rates.figures {
            if let value { XCTAssertTrue(value.isFinite, name) }
        }
        XCTAssertEqual(rates.remoteFaultRatio, 0)
        XCTAssertEqual(rates.resets, ["node0.numa_foreign"])
        XCTAssertEqual(WatchRates.between(full, zero, seconds: 1).resets.count, 6)
    }
}
