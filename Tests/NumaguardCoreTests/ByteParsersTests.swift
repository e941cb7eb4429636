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

    /// A reader keeping a few keys gets exactly those of the whole table, the last of a
    /// repeated key included, from every recorded status and from hostile ones.
    func testStatusKeepsOnlyTheKeysAsked() throws {
        let kept = ["Cpus_allowed_list", "Mems_allowed_list", "VmRSS", "Uid", "Absent"]
        var texts = RecordedFiles.named(["status"]).map(\.text)
        XCTAssertGreaterThan(texts.count, 50)
        texts += ["Uid:\t1\nUid:\t2\nVmRSS:  5 kB\nUid\t3\n", "", "Uid:", ":\n:\n", "Ui:\t1\nUidd:\t2\n",
                  "Uid:\t\u{0301}7\n", String(repeating: "Uid:\t1\n", count: 20_000)]
        for text in texts {
            let whole = ProcStatus.parse(text)
            let some = ProcStatus.parse(text, keeping: kept)
            XCTAssertEqual(some.fields, whole.fields.filter { kept.contains($0.key) }, text.prefix(200).debugDescription)
            for key in kept { XCTAssertEqual(some.value(key), whole.fields[key], key) }
        }
        let repeated = ProcStatus.parse("Uid:\t1\nVmRSS:\t4 kB\nUid:\t2\n", keeping: ["Uid", "VmRSS"])
        XCTAssertEqual(repeated.value("Uid"), "2", "the last of a repeated key wins")
        XCTAssertEqual(repeated.uids, [2])
        XCTAssertEqual(try repeated.kilobytes("VmRSS"), 4096)
        XCTAssertNil(repeated.value("Name"), "a key not kept is not there")
        XCTAssertEqual(ProcStatus(fields: ["A": "1", "B": "2"]), ProcStatus.parse("B:2\nA:1\n"), "equal by their fields")
    }

    /// /proc/PID/cgroup as it was read over Substrings (lines, then two colons, then commas):
    /// the byte-wise reader must give the same entries, or refuse the same lines.
    private func referenceCgroups(_ text: String) -> [CgroupEntry]? {
        var entries: [CgroupEntry] = []
        for line in Lex.lines(text) where !line.isEmpty {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let id = Lex.decimal(parts[0]) else { return nil }
            entries.append(CgroupEntry(hierarchy: id, controllers: parts[1].split(separator: ",").map(String.init), path: String(parts[2])))
        }
        return entries
    }

    func testCgroupLinesParseAsBefore() throws {
        let files = RecordedFiles.named(["cgroup"]).map(\.text)
        XCTAssertGreaterThan(files.count, 50, "the fixtures hold the cgroup file of every captured process")
        var texts: [String] = []
        for text in files + ["12:cpu,cpuacct:/a\n11:blkio:/\n0::/x:y\n"] {
            texts += [text, text.replacingOccurrences(of: ",", with: ",,"), text.replacingOccurrences(of: ":/", with: ":"),
                      text.replacingOccurrences(of: "\n", with: "\n\n"), text + "x", text.replacingOccurrences(of: "0::", with: "0:"),
                      text.replacingOccurrences(of: "1", with: "\u{00e9}"), String(text.dropLast())]
        }
        texts += ["", "\n", "0::\n", "::/\n", "a::/\n", "0:,,:/\n", "0:a,:/ \n", " 0::/\n", "99999999999999999999::/\n", "0::/a\r\n"]
        for text in texts {
            let reference = referenceCgroups(text)
            let parsed = try? CgroupEntry.parse(text)
            XCTAssertEqual(parsed, reference, text.prefix(300).debugDescription)
        }
        XCTAssertEqual(try CgroupEntry.parse("3:cpu,,cpuacct:/a:b\n"), [CgroupEntry(hierarchy: 3, controllers: ["cpu", "cpuacct"], path: "/a:b")])
        // Where bytes and Characters part ways: a colon followed by a combining mark is a
        // colon to the kernel and to the byte-wise reader.
        XCTAssertEqual(try CgroupEntry.parse("0::\u{0301}/a\n"), [CgroupEntry(hierarchy: 0, controllers: [], path: "\u{0301}/a")])
        XCTAssertNil(referenceCgroups("0::\u{0301}/a\n"))
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
