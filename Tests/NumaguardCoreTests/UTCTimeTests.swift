import NumaguardCore
import XCTest

final class UTCTimeTests: XCTestCase {
    func testKnownInstants() {
        XCTAssertEqual(UTCTime.text(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UTCTime.text(951_782_400), "2000-02-29T00:00:00Z")
        XCTAssertEqual(UTCTime.text(1_795_000_000.25, milliseconds: true), "2026-11-18T11:06:40.250Z")
        XCTAssertEqual(UTCTime.text(1_795_235_596.375, milliseconds: true), "2026-11-21T04:33:16.375Z")
        XCTAssertEqual(UTCTime.text(4_107_542_399), "2100-02-28T23:59:59Z", "2100 is not a leap year")
        XCTAssertEqual(UTCTime.text(-1), "1969-12-31T23:59:59Z")
        XCTAssertEqual(UTCTime.day(1_795_235_596), Day(year: 2026, month: 11, day: 21))
        XCTAssertEqual(UTCTime.day(1_798_761_599), Day(year: 2026, month: 12, day: 31))
        XCTAssertEqual(UTCTime.day(1_798_761_600), Day(year: 2027, month: 1, day: 1))
    }
}
