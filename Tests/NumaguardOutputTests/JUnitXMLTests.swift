@testable import NumaguardOutput
import XCTest

/// The writer's layout, byte for byte (the audit's golden file pins it for a full report).
final class JUnitXMLTests: XCTestCase {
    func testSuiteWithoutPropertiesAndEveryElement() {
        let suite = JUnitXML.Suite(
            name: "s<1>", counts: .init(tests: 3, failures: 1, errors: 1, skipped: 1), timestamp: "2026-11-21T10:00:00Z",
            testcases: [
                .init(classname: "h.c", name: "a", elements: [.failure(message: "m\"", type: "critical", text: "x\ny")]),
                .init(classname: "h.c", name: "b", elements: [.skipped(message: "w"), .systemOut("o")]),
                .init(classname: "h.c", name: "c", elements: [.error(message: "e", type: "incomplete", text: "t")]),
                .init(classname: "h.c", name: "d", elements: []),
            ],
            systemErr: "err\u{1}")
        XCTAssertEqual(JUnitXML.render(suite), """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="numaguard" tests="3" failures="1" errors="1" time="0">
              <testsuite name="s&lt;1&gt;" tests="3" failures="1" errors="1" skipped="1" time="0" timestamp="2026-11-21T10:00:00Z">
                <testcase classname="h.c" name="a" time="0">
                  <failure message="m&quot;" type="critical">x
            y</failure>
                </testcase>
                <testcase classname="h.c" name="b" time="0">
                  <skipped message="w"/>
                  <system-out>o</system-out>
                </testcase>
                <testcase classname="h.c" name="c" time="0">
                  <error message="e" type="incomplete">t</error>
                </testcase>
                <testcase classname="h.c" name="d" time="0"/>
                <system-err>err\\u{1}</system-err>
              </testsuite>
            </testsuites>

            """)
    }

    func testEscaping() {
        XCTAssertEqual(XML.escape("&<>\"'\r\t\n"), "&amp;&lt;&gt;&quot;&apos;&#13;&#9;&#10;")
        XCTAssertEqual(XML.text("\t\n\r"), "\t\n&#13;")
        XCTAssertEqual(XML.escape("\u{0}\u{FFFE}é"), "\\u{0}\\u{FFFE}é")
    }
}
