import NumaguardCore
import XCTest

final class WatchIntervalTests: XCTestCase {
    func testTheFloorIsRefusedBelowAndTakenAt() {
        XCTAssertNil(WatchInterval.refusal(0.01, spelled: "10ms"))
        XCTAssertNil(WatchInterval.refusal(1, spelled: "1s"))
        XCTAssertEqual(WatchInterval.refusal(0.001, spelled: "1ms")?.message, "\"1ms\" is below the shortest interval watch samples at, 10ms")
        XCTAssertNotNil(WatchInterval.refusal(1e-19, spelled: "1e-16ms"))
        XCTAssertNotNil(WatchInterval.refusal(.nan, spelled: "nan"))
    }
}
