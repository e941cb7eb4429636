import XCTest

@testable import NumaguardCore

/// Lines a tally's scanner reads against the learned token layout in a loop of their own
/// (`NumaMapsScanner.takeSummaries`): no recent line repeats them, so after
/// `missesBeforeProbing` of them the scanner neither compares nor remembers most lines, and
/// those are checked and read there without a search for their newline. The loop must take
/// only what `take` would have read the same way: the tally, the mapping count and every
/// error (its line and column) are those of the lines parsed one by one.
final class NumaMapsSummaryRunTests: XCTestCase {
    private let policies = ["default", "prefer:0", "bind:0", "interleave:0", "local"]

    /// `count` lines of one layout that repeat none of the twenty before them (the bench's
    /// distinct victim): policies in turn, `dirty` moving every five lines, other counts random.
    private func distinctLines(_ count: Int, seed: UInt64) -> [String] {
        var generator = SplitMix(state: seed)
        return (0..<count).map { index in
            let pages = 1 + Int(generator.next() % 9), dirty = 1 + index / 5 % 9
            return "\(String(0x7f00_0000_0000 + index * 0x3000, radix: 16)) \(policies[index % policies.count]) "
                + "anon=\(pages) dirty=\(dirty) active=0 N0=\(pages) kernelpagesize_kB=4"
        }
    }

    /// What parsing every line alone makes of `text`: the tally and the mapping count, or the
    /// error's text.
    private func parsedAlone(_ text: String) -> Result<(MemoryTally, Int), ParseError> {
        Result { () throws(ParseError) in
            var every = MemoryTally()
            let mappings = try NumaMapsParser.parse(text)
            for mapping in mappings { every.add(mapping) }
            return (every, mappings.count)
        }
    }

    private func assertTalliedAsParsed(_ text: String, chunks: [Int], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let expected = parsedAlone(text)
        for chunk in chunks {
            let got = Result { () throws(ParseError) in try tallyInChunks(text, chunk: chunk) }
            switch (expected, got) {
            case let (.success((tally, count)), .success((gotTally, gotCount))):
                XCTAssertEqual(gotTally, tally, "\(label), chunks of \(chunk)", file: file, line: line)
                XCTAssertEqual(gotCount, count, "\(label), chunks of \(chunk)", file: file, line: line)
            case let (.failure(error), .failure(gotError)):
                XCTAssertEqual(gotError.description, error.description, "\(label), chunks of \(chunk)", file: file, line: line)
                XCTAssertEqual(gotError.line, error.line, "\(label), chunks of \(chunk)", file: file, line: line)
                XCTAssertEqual(gotError.column, error.column, "\(label), chunks of \(chunk)", file: file, line: line)
            default:
                XCTFail("\(label), chunks of \(chunk): tallied \(got), parsed alone \(expected)", file: file, line: line)
            }
        }
    }

    /// Thousands of such lines, at chunk sizes that cut lines anywhere and that hold them all.
    func testDistinctLinesTallyAsEveryMappingAdded() {
        let text = distinctLines(5000, seed: 7).joined(separator: "\n") + "\n"
        assertTalliedAsParsed(text, chunks: [1, 7, 64, 4096, 1 << 20], "5000 distinct lines")
        // A last line with no newline is left for `finish`, as before.
        assertTalliedAsParsed(String(text.dropLast()), chunks: [13, 1 << 20], "no final newline")
    }

    /// One line three hundred lines into such a run, changed in ways that must leave the loop
    /// (to be tallied or refused as when parsed alone), each one alone in its own run.
    func testALineOffTheLayoutIsTalliedOrRefusedAsParsedAlone() {
        let changes: [(String, (String) -> String)] = [
            ("a byte of the address not hex", { $0.replacingOccurrences(of: "7f", with: "7g") }),
            ("an uppercase address", { $0.replacingOccurrences(of: "7f", with: "7F") }),
            ("a sixteen-digit address", { "ffff" + $0 }),
            ("a short address", { String($0.drop { $0 != " " }).replacingOccurrences(of: " ", with: "1f ", options: .anchored) }),
            ("no address", { String($0.drop { $0 != " " }) }),
            ("tokens after the layout's", { $0 + " N1=2" }),
            ("an unknown key after them", { $0 + " later=x" }),
            ("a policy not seen before", { $0.replacingOccurrences(of: " anon=", with: ":1 anon=").replacingOccurrences(of: "default:1", with: "bind:0-1") }),
            ("a policy the kernel never prints", { $0.replacingOccurrences(of: " anon=", with: "x anon=") }),
            ("a count with a letter", { $0.replacingOccurrences(of: "anon=", with: "anon=1x") }),
            ("a wider count", { $0.replacingOccurrences(of: "N0=", with: "N0=12") }),
            ("a count past 2^63 bytes", { $0.replacingOccurrences(of: "N0=", with: "N0=99999999999999999") }),
            ("a carriage return in a count", { $0.replacingOccurrences(of: "active=0", with: "active=\r") }),
            ("a NUL in a key", { $0.replacingOccurrences(of: "active", with: "act\u{0}ve") }),
            ("a newline inside the layout", { $0.replacingOccurrences(of: " active=0", with: "\nactive=0") }),
            ("the layout's end one byte early", { String($0.dropLast()) }),
            ("an empty line", { _ in "" }),
            ("a node beyond Linux's", { $0.replacingOccurrences(of: "N0=", with: "N9999=") }),
            ("the page size changed", { $0.replacingOccurrences(of: "kB=4", with: "kB=2048") }),
        ]
        for (label, change) in changes {
            var lines = distinctLines(400, seed: 11)
            lines[300] = change(lines[300])
            assertTalliedAsParsed(lines.joined(separator: "\n") + "\n", chunks: [1, 61, 4096, 1 << 20], label)
        }
    }

    /// The loop stops at the lines the scanner compares or remembers while it probes for
    /// repeats: a run of repeats after a long stretch of distinct lines is found again, and
    /// counted as the same mappings.
    func testRepeatsAfterARunAreFoundAgain() {
        var lines = distinctLines(700, seed: 3)
        for index in 300..<500 { lines[index] = lines[299].replacingOccurrences(of: "7f", with: "7e") }
        assertTalliedAsParsed(lines.joined(separator: "\n") + "\n", chunks: [1, 64, 4096, 1 << 20], "a run of repeats inside")
    }
}
