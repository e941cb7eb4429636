import Foundation
import XCTest

@testable import NumaguardCore

/// The byte-wise line, status and counter parsers (watch reads them every interval) against
/// the Character-wise definitions they replaced, over every such file recorded from a real
/// kernel in Tests/Fixtures, and over the inputs where bytes and Characters part ways.
final class ByteParsersTests: XCTestCase {
    // The definitions the byte-wise parsers must keep, as they were written over Characters.

    private func referenceLines(_ text: String) -> [Substring] {
        var result = text.split(separator: "\n", omittingEmptySubsequences: false)
        if result.last?.isEmpty == true { result.removeLast() }
        return result
    }

    private func referenceStatus(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in referenceLines(text) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(Lex.trimmed(line[line.index(after: colon)...]))
        }
        return fields
    }

    private func referenceCounters(_ text: String) -> [String: UInt64]? {
        var values: [String: UInt64] = [:]
        for line in referenceLines(text) where !Lex.trimmed(line).isEmpty {
            let words = line.split(separator: " ")
            guard words.count == 2, words[1].utf8.allSatisfy(Lex.isDigit), let value = UInt64(words[1]) else { return nil }
            values[String(words[0])] = value
        }
        return values
    }

    func testRecordedStatusFilesParseAsBefore() throws {
        let files = RecordedFiles.named(["status"])
        XCTAssertGreaterThan(files.count, 50, "the fixtures hold the status of every captured process and thread")
        for file in files {
            XCTAssertEqual(ProcStatus.parse(file.text).fields, referenceStatus(file.text), file.path)
            XCTAssertFalse(ProcStatus.parse(file.text).fields.isEmpty, file.path)
        }
    }

    func testRecordedCounterFilesParseAsBefore() throws {
        let files = RecordedFiles.named(["vmstat", "numastat"])
        XCTAssertGreaterThan(files.count, 20, "every fixture records /proc/vmstat and each node's vmstat and numastat")
        for file in files {
            let reference = try XCTUnwrap(referenceCounters(file.text), file.path)
            XCTAssertEqual(try CounterFileParser.parse(file.text), reference, file.path)
            XCTAssertGreaterThan(reference.count, 5, file.path)
            let kept = ["numa_hit", "numa_hint_faults", "pgmigrate_success", "absent"]
            XCTAssertEqual(try CounterFileParser.parse(file.text, keeping: kept), reference.filter { kept.contains($0.key) }, file.path)
        }
    }

    func testLinesSplitAtEveryLineFeedByte() {
        for text in ["", "\n", "a", "a\n", "a\nb", "a\n\nb\n\n", "é\nñ\n", "x\u{0301}\ny"] {
            XCTAssertEqual(Lex.lines(text), referenceLines(text), text.debugDescription)
        }
        // Where they part ways, the byte-wise split is the kernel's: "\r\n" is one Character,
        // and a split by Characters kept it inside the line.
        XCTAssertEqual(Lex.lines("a\r\nb\n"), ["a\r", "b"])
        XCTAssertEqual(Lex.lines("\n\u{0301}x\n"), ["", "\u{0301}x"], "a combining mark after the line feed starts the next line")
        let long = String(repeating: "numa_hit 1\n", count: 10_000)
        XCTAssertEqual(Lex.lines(long).count, 10_000)
    }

    func testStatusKeysEndAtTheFirstColonByte() {
        let status = ProcStatus.parse("Name:\tprobe: with colon\nNoColonHere\n  \t\nKey:\u{0301}value\nDup:\t1\nDup:\t2\r\nLast:\t  end")
        XCTAssertEqual(status.fields["Name"], "probe: with colon")
        XCTAssertNil(status.fields["NoColonHere"])
        XCTAssertEqual(status.fields["Key"], "\u{0301}value", "a combining mark after the colon is the value's")
        XCTAssertEqual(status.fields["Dup"], "2", "the last of a repeated key wins; a carriage return is trimmed as a blank")
        XCTAssertEqual(status.fields["Last"], "end", "the last line needs no line feed")
        XCTAssertEqual(status.fields.count, 4)
        XCTAssertTrue(ProcStatus.parse("").fields.isEmpty)
    }

    func testCounterLinesRefuseWhatTheKernelNeverWrites() {
        for bad in ["numa_hit +5\n", "numa_hit 5x\n", "numa_hit 18446744073709551616\n", "numa_hit 1 2\n", "\u{00e9} \n", "numa_hit\n"] {
            XCTAssertThrowsError(try CounterFileParser.parse(bad), bad.debugDescription)
        }
        XCTAssertEqual(try CounterFileParser.parse("numa_hit 18446744073709551615\n"), ["numa_hit": .max])
        XCTAssertEqual(try CounterFileParser.parse("\t\r\n a 1 \n\u{0B}\n"), ["a": 1], "lines of blanks are skipped")
        XCTAssertEqual(try CounterFileParser.parse("\u{00e9}t\u{00e9} 3\n"), ["\u{00e9}t\u{00e9}": 3], "a name is any bytes but a space")
    }
}
