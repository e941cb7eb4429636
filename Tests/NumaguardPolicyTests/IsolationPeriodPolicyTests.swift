import NumaguardCore
import NumaguardPolicy
import XCTest

/// `watch.isolation_period`: how often watch scans every thread for reserved CPUs (1s...24h,
/// absent by default: watch uses 10s).
final class IsolationPeriodPolicyTests: XCTestCase {
    func testThePeriodIsADurationWithinItsBounds() {
        XCTAssertEqual(PolicyText.loads("version: 1\nwatch: {isolation_period: 30s}\n")?.watch?.isolationPeriodSeconds, 30)
        XCTAssertEqual(PolicyText.loads("version: 1\nwatch: {isolation_period: 1s}\n")?.watch?.isolationPeriodSeconds, 1)
        XCTAssertEqual(PolicyText.loads("version: 1\nwatch: {isolation_period: 24h}\n")?.watch?.isolationPeriodSeconds, 86_400)
        XCTAssertNil(PolicyText.loads("version: 1\nwatch: {interval: 1s}\n")?.watch?.isolationPeriodSeconds, "absent: watch's default")
        assertPolicyError("version: 1\nwatch: {isolation_period: 500ms}\n", line: 2, column: 27, "watch.isolation_period", "below the minimum of 1s")
        assertPolicyError("version: 1\nwatch: {isolation_period: 25h}\n", line: 2, column: 27, "above the maximum of 24h")
        assertPolicyError("version: 1\nwatch: {isolation_period: often}\n", line: 2, column: 27, "is not a duration")
        assertPolicyError("version: 1\nwatch: {isolation_perod: 1s}\n", line: 2, column: 9, "unknown key \"isolation_perod\" in watch",
                          suggestion: "isolation_period")
    }
}
