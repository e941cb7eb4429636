@testable import NumaguardOutput
import XCTest

final class PrometheusTextTests: XCTestCase {
    func testLabelValuesAndHelpAreEscapedAndNumbersFormatted() {
        XCTAssertEqual(PrometheusText.escapeLabel("a\\b\"c\nd"), #"a\\b\"c\nd"#)
        XCTAssertEqual(PrometheusText.escapeHelp("a\\b\nc\"d"), #"a\\b\nc"d"#)
        XCTAssertEqual(PrometheusText.format(1_795_000_000), "1795000000")
        XCTAssertEqual(PrometheusText.format(1_795_000_000.25), "1795000000.25")
        XCTAssertEqual(PrometheusText.format(.nan), "NaN")
        XCTAssertEqual(PrometheusText.format(-.infinity), "-Inf")
        XCTAssertEqual(PrometheusText.format(.infinity), "+Inf")
    }

    func testFamilyLayout() {
        var text = PrometheusText()
        text.family("x_total", .counter, "Things\nseen.", [([], "1"), ([("k", "v\"1"), ("j", "2")], "3")])
        text.family("y", .gauge, "Empty.", [])
        XCTAssertEqual(text.output, """
            # HELP x_total Things\\nseen.
            # TYPE x_total counter
            x_total 1
            x_total{k="v\\"1",j="2"} 3
            # HELP y Empty.
            # TYPE y gauge

            """)
    }
}
