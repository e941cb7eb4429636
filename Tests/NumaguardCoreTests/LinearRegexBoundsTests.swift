@testable import NumaguardCore
import XCTest

/// What compiling and class tests may cost, counted rather than timed: the compiler's work
/// (nodes visited, instructions emitted, class ranges read) and the range comparisons a search
/// makes, each against its documented bound.
final class LinearRegexBoundsTests: XCTestCase {
    /// The compile work `pattern` takes, refused or not.
    private func compileWork(_ pattern: String, file: StaticString = #filePath, line: UInt = #line) throws -> (work: Int, error: RegexError?) {
        let node = try RegexParser.parse(pattern)
        var work = 0
        do {
            _ = try RegexProgram.compile(node, work: &work)
            return (work, nil)
        } catch {
            return (work, error)
        }
    }

    // MARK: repeated empty bodies (they took > 20 s, and hung every policy load)

    func testRepeatedEmptyBodiesCompileToNothingWithinTheWorkBound() throws {
        // RE2 refuses the review's forms `(){1000}{1000}...` (see LinearRegexTests); grouped,
        // they are legal and must compile at once.
        for pattern in ["((((){1000}){1000}){1000}){1000}", "(?:(?:(?:(?:){1000}){1000}){1000}){1000}",
                        "(?:(?:(?:a{0}){1000}){1000}){1000}", "(?:(?:(?:x{0,0}){1000,}){1000}){0,1000}",
                        "(?:(?:(?:(?i)){1000}){1000}){1000}", "(?:(?:(?:()()){1000}){1000}){1000}z"] {
            let (work, error) = try compileWork(pattern)
            XCTAssertNil(error, pattern)
            XCTAssertLessThan(work, 100, "\(pattern): \(work) units of compile work")
            let regex = try LinearRegex(pattern)
            XCTAssertEqual(regex.programSize, pattern.hasSuffix("z") ? 2 : 1, pattern)
            XCTAssertTrue(regex.matches(pattern.hasSuffix("z") ? "z" : ""), pattern)
        }
    }

    func testTheCompilerSkipsABodyThatEmitsNothingWhateverTheTree() throws {
        // Trees the parser no longer builds, straight to the compiler: each repetition emits
        // its body once, sees that it added nothing, and stops.
        var node = RegexNode.concat([.empty, .concat([])])
        for (minimum, maximum) in [(1000, 1000), (0, nil), (1000, nil), (0, 1000), (3, 1000)] as [(Int, Int?)] {
            node = .repetition(.repetition(node, min: minimum, max: maximum), min: 1000, max: 1000)
        }
        var work = 0
        let program = try RegexProgram.compile(node, work: &work)
        XCTAssertEqual(program.instructions, [.match])
        XCTAssertLessThan(work, 100)
    }

    func testEveryPatternIsRefusedOnceItsCompileWorkPassesTheBound() throws {
        // 200 nested `{1}` around one `a`, repeated 1000 times: 1,001 instructions, but 200,000
        // nodes to visit. Refused when the work reaches the bound, not after.
        let nested = String(repeating: "(?:", count: 200) + "a" + String(repeating: "){1}", count: 200)
        let pattern = "(?:\(nested)){1000}"
        XCTAssertLessThanOrEqual(pattern.unicodeScalars.count, LinearRegex.maximumPatternLength)
        let (work, error) = try compileWork(pattern)
        XCTAssertEqual(work, LinearRegex.maximumCompileWork)
        XCTAssertEqual(error?.message, "the pattern takes more than 100000 steps to compile (lower its repetition counts, nesting or class sizes)")
        // A tenth of it is fine.
        XCTAssertNoThrow(try LinearRegex("(?:\(nested)){100}"))
        // Instructions beyond the program size are refused as before, within the work bound.
        let large = try compileWork("((a{1000}){1000}){1000}")
        XCTAssertTrue(large.error?.message.contains("more than 10000 instructions") ?? false, "\(String(describing: large.error))")
        XCTAssertLessThanOrEqual(large.work, LinearRegex.maximumCompileWork)
    }

    // MARK: class tests are binary searches of precompiled tables

    /// 1,300 CJK ideographs, every other one (so no two merge into one range).
    private let cjk = String(String.UnicodeScalarView((0..<1300).compactMap { Unicode.Scalar(0x4E00 + 2 * $0) }))

    func testALargeFoldedClassCostsALogarithmOfItsSizePerTest() throws {
        // Each test of this class used to walk 1,300 items and case-map each one (136 s over 2,000 characters).
        let regex = try LinearRegex("(?i)[\(cjk)]{1000}Z")
        // The class, and (?i)Z as the class [Zz].
        XCTAssertEqual(regex.classRanges, 1302)
        XCTAssertEqual(regex.program.tables.map(\.lookupBound), [11, 2])  // ⌊log2 1300⌋ + 1, ⌊log2 2⌋ + 1
        let text = Array((0..<2000).compactMap { Unicode.Scalar(0x4E00 + 2 * ($0 % 1300)) })
        let result = regex.search(text)
        XCTAssertFalse(result.matched)
        XCTAssertLessThanOrEqual(result.steps, regex.stepBound(length: text.count))
        XCTAssertLessThanOrEqual(result.comparisons, regex.comparisonBound(length: text.count))
        // At most one binary search per step, and each of at most 11 comparisons.
        XCTAssertLessThanOrEqual(result.comparisons, result.steps * 11)
        XCTAssertGreaterThan(result.steps, 1_000_000, "the text keeps 1,000 threads alive")
    }

    func testClassRangesCountTowardsTheProgramSize() throws {
        let repeated = try LinearRegex("(?:[\(cjk)]x){2}")  // one class, emitted twice: one table
        XCTAssertEqual(repeated.classRanges, 1300)
        XCTAssertEqual(repeated.programSize, 5)
        XCTAssertEqual(try LinearRegex("[\(cjk)]x[\(cjk)]").classRanges, 2600)  // written twice: two
        // 1,300 ranges and 9 × 1,001 instructions do not fit in 10,000.
        XCTAssertThrowsError(try LinearRegex("(?:[\(cjk)]{1000}){9}")) {
            XCTAssertTrue("\($0)".contains("more than 10000 instructions (each class range counts as one"), "\($0)")
        }
        XCTAssertNoThrow(try LinearRegex("(?:[\(cjk)]{1000}){8}"))
    }

    /// The class test before the fix: each item, through each case variant of the scalar.
    private func matchedBefore(_ ranges: [ClosedRange<UInt32>], negated: Bool, fold: Bool, _ scalar: Unicode.Scalar) -> Bool {
        let holds = { (candidate: Unicode.Scalar) in ranges.contains { $0.contains(candidate.value) } }
        return (fold ? CaseFold.variants(scalar).contains(where: holds) : holds(scalar)) != negated
    }

    func testFoldedTablesMatchWhatTheClassesMatchedBefore() throws {
        let classes: [[ClosedRange<UInt32>]] = [
            [0x61...0x7A], [0x4B...0x4B], [0x6B...0x6B], [0x53...0x53], [0xDF...0xDF], [0x1E9E...0x1E9E], [0x3A3...0x3A3],
            [0x3C2...0x3C2], [0x130...0x131], [0x100...0x17F], [0x41...0x5A, 0x391...0x3A9], [0x10400...0x1044F], [0x1E900...0x1E943],
            ScalarSet.complement(ScalarSet.word), [0x1C4...0x1CC], [0x2160...0x216F], [0x24B6...0x24E9], [0x212A...0x212B],
        ]
        let probes = Array(UInt32(0)...0x2FFF) + Array(UInt32(0xA640)...0xA7FF) + Array(UInt32(0xFF00)...0xFF5F)
            + Array(UInt32(0x10400)...0x104FF) + Array(UInt32(0x1E900)...0x1E95F) + [0x10FFFF]
        var differences: [String] = []
        for ranges in classes {
            for (negated, fold) in [(false, true), (true, true), (false, false), (true, false)] {
                let table = ScalarTable(ScalarSet(ranges: ranges, negated: negated, fold: fold)) { (_: Int) in }
                var comparisons = 0
                for value in probes {
                    guard let scalar = Unicode.Scalar(value),
                          table.contains(scalar, comparisons: &comparisons) != matchedBefore(ranges, negated: negated, fold: fold, scalar)
                    else { continue }
                    differences.append("\(ranges) negated \(negated) fold \(fold) at U+\(String(value, radix: 16))")
                }
            }
        }
        XCTAssertEqual(differences, [])
    }

    func testFoldedLiteralsMatchWhatTheyMatchedBefore() throws {
        // Before: a literal with case variants matched any scalar sharing one with it.
        for literal in ["k", "K", "\u{212A}", "s", "\u{17F}", "\u{3A3}", "\u{3C2}", "\u{1C5}", "\u{130}", "i", "ß", "\u{1E9E}", "1"] {
            let scalar = try XCTUnwrap(literal.unicodeScalars.first)
            let regex = try LinearRegex("(?i)^\(literal)$")
            var differences: [String] = []
            for value in UInt32(0)...0x2FFF {
                guard let candidate = Unicode.Scalar(value) else { continue }
                let before = CaseFold.variants(scalar).count == 1
                    ? candidate == scalar
                    : CaseFold.variants(candidate).contains { CaseFold.variants(scalar).contains($0) }
                if regex.search([candidate]).matched != before { differences.append("U+\(String(value, radix: 16))") }
            }
            XCTAssertEqual(differences, [], "(?i)\(literal)")
        }
    }

    func testNoScalarPastTheFoldTableHasACaseVariant() {
        // The fold table is built from planes 0 and 1; the rest must stay caseless.
        for value in (CaseFold.lastCased + 1)...ScalarTable.largestScalar {
            guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenCaseMapped else { continue }
            XCTFail("U+\(String(value, radix: 16)) has a case mapping past CaseFold.lastCased")
            return
        }
    }
}
