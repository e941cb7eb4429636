import Foundation
@testable import NumaguardCore
import XCTest

/// LinearRegex against hostile inputs (the step count must stay within input × program size,
/// whatever the pattern) and against an independent engine for what it accepts.
final class LinearRegexTests: XCTestCase {
    /// Searches and asserts the linear step bound; returns whether it matched.
    private func search(_ pattern: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) -> Bool? {
        let regex: LinearRegex
        do { regex = try LinearRegex(pattern) } catch {
            XCTFail("\(pattern) refused: \(error)", file: file, line: line)
            return nil
        }
        let scalars = Array(text.unicodeScalars)
        let result = regex.search(scalars)
        XCTAssertLessThanOrEqual(result.steps, regex.stepBound(length: scalars.count),
                                 "\(pattern): \(result.steps) steps over \(scalars.count) scalars", file: file, line: line)
        XCTAssertLessThanOrEqual(result.comparisons, regex.comparisonBound(length: scalars.count),
                                 "\(pattern): \(result.comparisons) class comparisons over \(scalars.count) scalars", file: file, line: line)
        XCTAssertLessThanOrEqual(regex.compileWork, LinearRegex.maximumCompileWork, pattern, file: file, line: line)
        return result.matched
    }

    // MARK: the issue's pathological patterns

    func testNestedQuantifierAgainstTwentySixAsAndABang() throws {
        // Swift Regex and NSRegularExpression backtrack for minutes here.
        let text = String(repeating: "a", count: 26) + "!"
        XCTAssertEqual(search("^(a+)+$", text), false)
        XCTAssertEqual(search("^(a|a)*$", text), false)
        XCTAssertEqual(search("^(a*)*b", text), false)
        XCTAssertEqual(search("^(a+)+$", String(repeating: "a", count: 26)), true)
        let regex = try LinearRegex("^(a+)+$")
        // The bound is small in absolute terms too: a few instructions per character.
        XCTAssertLessThan(regex.stepBound(length: 27), 27 * 40)
    }

    func testLongCommandLineAgainstBacktrackingTrap() throws {
        // The issue's real case was 1,384 characters; this is 100k, and still bounded.
        let words = (0..<40_000).map { "w\($0 % 10)" }.joined(separator: " ")
        let text = String(words.prefix(100_000))
        XCTAssertEqual(text.unicodeScalars.count, 100_000)
        XCTAssertEqual(search(#"^(\S+\s?)+engine$"#, text), false)
        XCTAssertEqual(search(#"^(\S+\s?)+engine$"#, text + " engine"), true)
        XCTAssertEqual(search(#"(x+x+)+y"#, String(repeating: "x", count: 100_000)), false)
        XCTAssertEqual(search(#"(.*a){20}"#, String(repeating: "a", count: 19) + String(repeating: "b", count: 5_000)), false)
    }

    func testStepsGrowLinearlyWithTheInput() throws {
        let regex = try LinearRegex("^(a+)+$")
        let short = regex.search(Array((String(repeating: "a", count: 1_000) + "!").unicodeScalars)).steps
        let long = regex.search(Array((String(repeating: "a", count: 10_000) + "!").unicodeScalars)).steps
        // Ten times the input, about ten times the work (a backtracker doubles per character).
        XCTAssertLessThanOrEqual(long, short * 11)
    }

    // MARK: refusals

    func testBackreferencesAndLookaroundAreRefusedAsNotLinear() {
        for (pattern, offset, what) in [(#"(a)\1"#, 3, "backreferences"), ("(?=a)b", 0, "lookahead"), ("x(?!a)", 1, "lookahead"),
                                        ("(?<=a)b", 0, "lookbehind"), ("(?<!a)b", 0, "lookbehind"), (#"(?<n>a)\k<n>"#, 7, "backreferences"),
                                        ("(?>a+)b", 0, "atomic groups"), ("a++", 2, "possessive"), ("(?P=n)", 0, "backreferences")] {
            XCTAssertThrowsError(try LinearRegex(pattern), pattern) { error in
                guard let error = error as? RegexError else { return XCTFail("\(error)") }
                XCTAssertTrue(error.message.contains(what), "\(pattern): \(error)")
                XCTAssertTrue(error.message.contains("not supported: numaguard matches in linear time"), "\(pattern): \(error)")
                XCTAssertEqual(error.offset, offset, "\(pattern): \(error)")
            }
        }
    }

    func testSyntaxErrorsNameThePlace() {
        for (pattern, offset, fragment) in [("foo([", 4, "unclosed class"), ("(ab", 0, "unclosed group"), ("ab)", 2, "unmatched ')'"),
                                            ("*a", 0, "nothing to repeat"), ("a|+", 2, "nothing to repeat"), ("[z-a]", 2, "out of order"),
                                            (#"\q"#, 0, "unknown escape"), ("a{5,2}", 1, "maximum below its minimum"),
                                            (#"ab\"#, 2, "trailing"), ("[[:nope:]]", 1, "unknown POSIX class"),
                                            ("[a[b]]", 2, "nested classes"), (#"\p{L}"#, 0, "Unicode property"), ("(?Px>a)", 0, "must be followed by <name>")] {
            XCTAssertThrowsError(try LinearRegex(pattern), pattern) { error in
                guard let error = error as? RegexError else { return XCTFail("\(error)") }
                XCTAssertTrue(error.message.contains(fragment), "\(pattern): \(error)")
                XCTAssertEqual(error.offset, offset, "\(pattern): \(error)")
            }
        }
    }

    func testRepetitionAndProgramSizeAreBounded() throws {
        XCTAssertNoThrow(try LinearRegex("a{1000}"))
        XCTAssertThrowsError(try LinearRegex("a{1001}")) { XCTAssertTrue("\($0)".contains("above 1000"), "\($0)") }
        XCTAssertThrowsError(try LinearRegex("a{2,99999999999999999999}")) { XCTAssertTrue("\($0)".contains("above 1000"), "\($0)") }
        // Each count is legal; the product is not: refused while compiling, before it is built.
        XCTAssertThrowsError(try LinearRegex("((a{1000}){1000}){1000}")) {
            XCTAssertTrue("\($0)".contains("more than \(LinearRegex.maximumProgramSize) instructions"), "\($0)")
        }
        XCTAssertThrowsError(try LinearRegex(String(repeating: "(", count: 300) + String(repeating: ")", count: 300))) {
            XCTAssertTrue("\($0)".contains("nest deeper than"), "\($0)")
        }
        XCTAssertThrowsError(try LinearRegex(String(repeating: "a", count: LinearRegex.maximumPatternLength + 1)))
        XCTAssertLessThanOrEqual(try LinearRegex("(a{1000}){9}").programSize, LinearRegex.maximumProgramSize)
    }

    // MARK: correctness against NSRegularExpression (ICU), as an oracle for accepted patterns

    static let table: [(pattern: String, texts: [String])] = [
        ("abc", ["abc", "xabcx", "ab", ""]),
        ("^probe 16$", ["probe 16", "probe 160", "xprobe 16"]),
        ("batch-runner( |$)", ["batch-runner", "batch-runner --x", "batch-runnerx", "/opt/batch-runner"]),
        ("^b( |$)", ["b", "b c", "bc", "ab"]),
        ("a.c", ["abc", "a\nc", "ac", "a c"]),
        ("a|b|", ["", "c"]),
        ("(foo|bar)+baz", ["foobarbaz", "baz", "foofoo", "xbarbazx"]),
        ("(?:ab){2,3}$", ["abab", "ab", "ababababab", "aba"]),
        ("x{3}", ["xx", "xxx", "xxxx"]),
        ("x{2,}y", ["xy", "xxy", "xxxxxy"]),
        ("^x{0,2}$", ["", "x", "xx", "xxx"]),
        ("^ax{0}b$", ["ab", "axb"]),
        ("^(?:x{2}){3}$", ["xxxxxx", "xxxxx", "xxxxxxxx"]),
        ("a(){3}b|c(?:){2,}d", ["ab", "cd", "a()b"]),
        // `\d \w \s \b` are ASCII here (RE2) and Unicode-aware in ICU: these texts agree either
        // way; testClassShorthandsAreASCIIAsInRE2 holds the texts where they differ.
        (#"\d+\.\d+"#, ["1.25", "x.5", "3."]),
        (#"\w+@\w+"#, ["a@b", "@b", "a_1@b2"]),
        (#"\s\S\s"#, ["a b c", "   ", "\tx\n"]),
        (#"\D\W"#, ["1-", "a-", "--"]),
        ("[a-c]+z", ["bcz", "dz", "az"]),
        ("[^a-c]z", ["bz", "dz", "z"]),
        ("[]a]", ["]", "a", "b"]),
        ("[a-]", ["-", "a", "b"]),
        (#"[\d.]+%"#, ["50%", "0.5%", "%"]),
        ("[[:digit:][:upper:]]{2}", ["A1", "a1", "11"]),
        (#"\bfoo\b"#, ["a foo b", "afoo", "foo", "foo_"]),
        (#"\Bfoo"#, ["afoo", "foo"]),
        (#"\Aab\z"#, ["ab", "ab\n", "xab"]),
        ("(?i)SLEEP", ["sleep", "SLEEP", "SlEeP", "slep"]),
        ("(?i:A)b", ["ab", "Ab", "AB"]),
        ("(?s)a.b", ["a\nb"]),
        ("(?m)^b$", ["a\nb\nc", "ab"]),
        ("a*?b", ["aab", "b", "a"]),
        ("(a|ab)(c|bcd)(d*)", ["abcd", "abc"]),
        (#"\x41\u00e9\t"#, ["Aé\t", "A\t"]),
        (#"\.\*\+\?\(\)\[\]\{\}\|\^\$\\"#, [#".*+?()[]{}|^$\"#]),
        ("(?<name>ab)c", ["abc", "ac"]),
        ("()*x", ["x", ""]),
        ("(a*)*$", ["", "aaa", "b"]),
        ("日本+", ["日本本", "日"]),
        (#"^/usr/bin/python3 .*\bworker\.py( |$)"#, ["/usr/bin/python3 -u /srv/worker.py --n 2", "/usr/bin/python3 myworker.py"]),
    ]

    func testAgreesWithNSRegularExpression() throws {
        for (pattern, texts) in Self.table {
            let oracle = try NSRegularExpression(pattern: pattern)
            for text in texts {
                let expected = oracle.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
                XCTAssertEqual(search(pattern, text), expected, "\(pattern) against \(text.debugDescription)")
            }
        }
    }

    // MARK: RE2's reading where ICU (or the engine before) differed

    func testClassShorthandsAreASCIIAsInRE2() throws {
        // (pattern, text, matches here) — NSRegularExpression, Unicode-aware, says the opposite.
        let differences: [(String, String, Bool)] = [
            (#"\d"#, "٣", false), (#"\D"#, "٣", true), (#"\w"#, "é", false), (#"\W"#, "é", true),
            (#"\s"#, "\u{A0}", false), (#"\s"#, "\u{2003}", false), (#"\S"#, "\u{A0}", true),
            (#"\bé"#, "é", false), (#"x\Bé"#, "xé", false), (#"^\w+$"#, "naïve", false), (#"[\d]"#, "٣", false),
        ]
        for (pattern, text, expected) in differences {
            XCTAssertEqual(search(pattern, text), expected, "\(pattern) against \(text.debugDescription)")
            let oracle = try NSRegularExpression(pattern: pattern)
            let icu = oracle.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            XCTAssertNotEqual(icu, expected, "\(pattern) against \(text.debugDescription) was meant as a difference from ICU")
        }
        // RE2's \s is [\t\n\f\r ]: no vertical tab (POSIX [[:space:]] has it).
        XCTAssertEqual(search(#"\s"#, "\u{0B}"), false)
        XCTAssertEqual(search("[[:space:]]", "\u{0B}"), true)
        XCTAssertEqual(search(#"^\s+$"#, "\t\n\u{0C}\r "), true)
        // What stays Unicode: literals, `.`, ranges, and (?i) folding.
        XCTAssertEqual(search("^.$", "é"), true)
        XCTAssertEqual(search("(?i)É", "é"), true)
    }

    func testCountedRepetitionWithoutAMinimumIsALiteralAsInRE2() {
        XCTAssertEqual(search("a{,2}b", "a{,2}b"), true)
        XCTAssertEqual(search("a{,2}b", "b"), false)
        XCTAssertEqual(search("a{,2}b", "aab"), false)
        XCTAssertEqual(search("^{,3}$", "{,3}"), true)
        XCTAssertEqual(search("x{2}{,3}", "xx{,3}"), true)
        XCTAssertEqual(search("x*{", "xx{"), true)
    }

    func testARepetitionOfARepetitionIsRefusedAtItsColumnAsInRE2() {
        for (pattern, offset, operators) in [("a**", 2, "**"), ("x{2}{3}", 4, "{2}{3}"), ("a*??", 3, "*??"), ("a{2}*", 4, "{2}*"),
                                             ("(){1000}{1000}{1000}{1000}", 8, "{1000}{1000}"),
                                             ("a{0}{1000}{1000}{1000}", 4, "{0}{1000}"), ("a+*", 2, "+*")] {
            XCTAssertThrowsError(try LinearRegex(pattern), pattern) { error in
                guard let error = error as? RegexError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.offset, offset, "\(pattern): \(error)")
                XCTAssertTrue(error.message.hasPrefix("bad repetition operator \(operators): a repetition cannot be repeated again"),
                              "\(pattern): \(error)")
                XCTAssertTrue(error.message.contains("(?:x{2}){3}"), "\(pattern): the message shows the way out")
            }
        }
        // A `?` after a quantifier is its lazy form, not a repetition of it.
        XCTAssertEqual(search("^(a)+?$", "aa"), true)
        XCTAssertEqual(search("^a??b{2}?$", "bb"), true)
        // Repeating a group is the way: it means what the refused form would have.
        XCTAssertEqual(search("^(?:a*)*$", "aaa"), true)
        XCTAssertEqual(search("^(?:x{2}){3}$", "xxxxxx"), true)
    }

    func testDollarIsTheEndOfTheTextAsSwiftRegexHadIt() {
        // NSRegularExpression (ICU) also matches `$` before a final newline; Swift Regex, which
        // numaguard used before, did not, and neither does this engine (nor RE2).
        XCTAssertEqual(search("a$", "a\n"), false)
        XCTAssertEqual(search(#"a\Z"#, "a\n"), true)
        // A `{` that starts no repetition is a literal, as in RE2 (ICU refuses it).
        XCTAssertEqual(search("a{", "a{"), true)
        XCTAssertEqual(search("a{,", "a"), false)
    }
}
