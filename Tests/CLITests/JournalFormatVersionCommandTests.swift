import Foundation
import TestSupport
import XCTest

/// `undo` over journals across the format_version change: lines written before it existed are
/// read (a migrate line: nothing to take back, so nothing on this host is touched), and a line
/// of another version is bad data named by file:line.
final class JournalFormatVersionCommandTests: XCTestCase {
    var files: [String] = []
    override func tearDown() { for file in files { try? FileManager.default.removeItem(atPath: file) } }

    func journal(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jfv-\(UUID().uuidString).jsonl").path
        files.append(path)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    let line = #"{"action":"migrate_pages","command":"migrate","detail":"","result":"done","run":"M","#
        + #""subject":"PID 1 (x)","time":"2026-11-21T10:00:00Z"}"#

    func testUndoReadsAnUnversionedJournalAndRefusesAnotherVersion() throws {
        let old = try journal(line + "\n")
        let read = try Command.numaguard(["undo", "--journal", old, "--yes"])
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertTrue(read.stdout.hasPrefix("Nothing to undo"), read.stdout)

        let current = try journal(line.replacingOccurrences(of: "{", with: #"{"format_version":1,"#) + "\n")
        XCTAssertEqual(try Command.numaguard(["undo", "--journal", current, "--yes"]).status, 0)

        let newer = try journal(line + "\n" + line.replacingOccurrences(of: "{", with: #"{"format_version":2,"#) + "\n")
        let refused = try Command.numaguard(["undo", "--journal", newer, "--yes"])
        XCTAssertEqual(refused.status, 65, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(newer):2: format_version 2 is not one this numaguard reads (it reads 1)"),
                      refused.stderr)
    }
}
