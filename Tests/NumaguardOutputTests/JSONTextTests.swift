import Foundation
import NumaguardOutput
import XCTest

/// The hand-written JSON: what it writes must be what Foundation's decoder reads back.
final class JSONTextTests: XCTestCase {
    func testHeaderPutsVersionThenKind() {
        XCTAssertEqual(JSONText.compact(JSONText.header(.watchEvent)), #"{"format_version":1,"kind":"watch_event"}"#)
        XCTAssertEqual(JSONText.compact(JSONText.header(.journalEntry)), #"{"format_version":1}"#, "no kind field")
    }

    func testObjectAndCompactLayouts() {
        let members = [("a", JSONText.quoted("x")), ("b", "null"), ("c", JSONText.array(["1", "2"]))]
        XCTAssertEqual(JSONText.object(members), "{\n  \"a\": \"x\",\n  \"b\": null,\n  \"c\": [\"1\", \"2\"]\n}\n")
        XCTAssertEqual(JSONText.compact(members), #"{"a":"x","b":null,"c":["1", "2"]}"#)
        XCTAssertEqual(JSONText.compact([]), "{}")
    }

    func testHostileStringsReadBackExactly() throws {
        let odd = ["", "quote\"d", "back\\slash", "new\nline", "\u{00}\u{1F}\u{7F}", "\u{2028}", "日本🚀", "</script>"]
        let text = JSONText.compact(odd.enumerated().map { (String($0.offset), JSONText.quoted($0.element)) })
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        for (index, value) in odd.enumerated() { XCTAssertEqual(decoded[String(index)], value) }
        XCTAssertEqual(JSONText.optional(nil), "null")
    }
}
