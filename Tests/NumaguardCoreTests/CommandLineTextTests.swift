import NumaguardCore
import XCTest

final class CommandLineTextTests: XCTestCase {
    /// Arguments joined by single spaces, as `split(separator: "\0").joined(separator: " ")`
    /// did (empty arguments and the trailing NUL leave no space behind).
    func testJoinsArgumentsAsBefore() {
        for raw in ["probe\u{0}16\u{0}", "a\u{0}\u{0}b\u{0}", "\u{0}lead", "one", "", "x\u{0}y z\u{0}é\u{0}"] {
            XCTAssertEqual(CommandLineText.matchable(raw), raw.split(separator: "\u{0}").joined(separator: " "), String(reflecting: raw))
        }
    }

    /// A 6 MiB command line (46 arguments of 131,000 bytes, as `ulimit -s unlimited` allows) is
    /// matched on its first 64 KiB only, so it costs a matcher no more than a short one.
    func testAHugeCommandLineIsCutAtTheCap() {
        let argument = String(repeating: "a", count: 131_000)
        let raw = Array(repeating: argument, count: 46).joined(separator: "\u{0}") + "\u{0}"
        let matched = CommandLineText.matchable(raw)
        XCTAssertEqual(matched.utf8.count, CommandLineText.matchedBytes)
        XCTAssertTrue(matched.hasPrefix("aaaa"))
    }

    /// The cap never splits a character: a multi-byte one straddling it is left out whole.
    func testTheCapKeepsWholeCharacters() {
        let raw = String(repeating: "a", count: CommandLineText.matchedBytes - 1) + "日本"
        let matched = CommandLineText.matchable(raw)
        XCTAssertEqual(matched, String(repeating: "a", count: CommandLineText.matchedBytes - 1))
        XCTAssertFalse(matched.contains("\u{FFFD}"))
    }
}
