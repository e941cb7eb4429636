@testable import NumaguardPolicy
import XCTest
@testable import NumaguardCore

/// The value spellings, strictly: what the JSON Schema's patterns describe is what is accepted.
final class QuantityTests: XCTestCase {
    func testSizes() throws {
        let good: [(String, Int)] = [("120GiB", 120 << 30), ("256MiB", 256 << 20), ("2MiB", 2 << 20), ("4096", 4096), ("1.5GiB", 3 << 29),
                                     ("1 GiB", 1 << 30), ("1TiB", 1 << 40), ("10KiB", 10240), ("7B", 7), ("0", 0), ("007MiB", 7 << 20)]
        for (text, bytes) in good { XCTAssertEqual(try Quantity.size(text).get(), bytes, text) }
        for text in ["1GB", "1gb", "1G", "2MB", "4k", "1 TB"] {
            XCTAssertTrue(failure(Quantity.size(text))?.contains("ambiguous") == true, text)
        }
        for text in ["", "abc", "-1GiB", "+1GiB", "1e3GiB", "0x10", "0x10GiB", ".5GiB", "1.GiB", "1 0GiB", "1.5", "infGiB", "nanGiB", "GiB", "1giB",
                     "99999999999999999999", "9999999999TiB"] {
            XCTAssertNotNil(failure(Quantity.size(text)), text)
        }
    }

    func testPercents() throws {
        for (text, value) in [("1%", 1.0), ("0.5%", 0.5), ("100%", 100), ("0%", 0), ("50 %", 50)] {
            XCTAssertEqual(try Quantity.percent(text).get(), value, text)
        }
        for text in ["1", "150%", "100.5%", "-1%", "+1%", "1e1%", "nan%", "inf%", "%", "0x1%", "50%%"] {
            XCTAssertNotNil(failure(Quantity.percent(text)), text)
        }
    }

    func testDurations() throws {
        for (text, value) in [("1s", 1.0), ("500ms", 0.5), ("30s", 30), ("5m", 300), ("1h", 3600), ("0.5s", 0.5)] {
            XCTAssertEqual(try Quantity.seconds(text).get(), value, text)
        }
        for text in ["0s", "1", "s", "-1s", "1e3s", "infs", "1d", "1 5s"] {
            XCTAssertNotNil(failure(Quantity.seconds(text)), text)
        }
    }

    func testDays() throws {
        XCTAssertEqual(try Quantity.day("2026-12-31").get(), Day(year: 2026, month: 12, day: 31))
        XCTAssertEqual(try Quantity.day("2024-02-29").get(), Day(year: 2024, month: 2, day: 29))
        XCTAssertEqual(try Quantity.day("2000-02-29").get().description, "2000-02-29")
        for text in ["2026-02-30", "2023-02-29", "1900-02-29", "2026-04-31", "2026-00-10", "2026-13-01", "2026-1-01", "26-01-01",
                     "+202-01-01", "2026-+1-01", "2026-01-+1", "2026/01/01", "2026-01-01T00:00", ""] {
            XCTAssertNotNil(failure(Quantity.day(text)), text)
        }
        XCTAssertLessThan(Day(year: 2026, month: 1, day: 31), Day(year: 2026, month: 2, day: 1))
    }

    func testFreeMemoryRules() throws {
        XCTAssertEqual(try PolicySections.freeMemoryRule("2x protected").get(), .protectedMultiple(2))
        XCTAssertEqual(try PolicySections.freeMemoryRule("1.5x protected").get(), .protectedMultiple(1.5))
        XCTAssertEqual(try PolicySections.freeMemoryRule("50%").get(), .percent(50))
        XCTAssertEqual(try PolicySections.freeMemoryRule("64GiB").get(), .bytes(64 << 30))
        for text in ["0x protected", "x protected", "2 protected", "2x", "infx protected", "nanx protected", "-1x protected", "2x resident", "150%"] {
            XCTAssertNotNil(failure(PolicySections.freeMemoryRule(text)), text)
        }
    }

    func testSuggestionsAreNearOnly() {
        XCTAssertEqual(Suggestion.nearest(to: "numa_balance", in: PolicyLoader.kernelKeys), "numa_balancing")
        XCTAssertEqual(Suggestion.nearest(to: "workload", in: PolicyLoader.topKeys), "workloads")
        XCTAssertNil(Suggestion.nearest(to: "foo", in: PolicyLoader.topKeys))
        XCTAssertEqual(Suggestion.distance("kitten", "sitting"), 3)
        XCTAssertEqual(Suggestion.distance("", "abc"), 3)
    }

    private func failure<T>(_ result: Result<T, Invalid>) -> String? {
        if case let .failure(invalid) = result { return invalid.message }
        return nil
    }
}
