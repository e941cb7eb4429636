import Foundation
import NumaguardCore
import NumaguardEnforce
import NumaguardOutput
import XCTest

/// Journal lines carry `format_version` (DocumentKind.journalEntry); journals written before
/// it existed are still read (undo must take back an old run), and a line of a layout this
/// numaguard does not know is refused by file:line instead of misread.
final class JournalFormatVersionTests: XCTestCase {
    var directory = ""
    var path: String { directory + "/journal.jsonl" }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jfv-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    let entry = JournalEntry(time: "2026-11-21T10:00:00Z", run: "20261121T100000Z-1", command: "apply", action: .setKnob,
                             subject: "kernel.numa_balancing", knob: .sysctl("kernel.numa_balancing"), process: nil, file: nil,
                             before: "1", after: "0", result: .done, detail: "", undoes: nil)

    /// A line as numaguard wrote it before `format_version` existed (no phase either).
    let oldLine = #"{"action":"set_knob","after":"0","before":"1","command":"apply","detail":"","#
        + #""knob":{"kind":"sysctl","name":"kernel.numa_balancing","path":"proc/sys/kernel/numa_balancing"},"#
        + #""result":"done","run":"20261121T090000Z-7","subject":"kernel.numa_balancing","time":"2026-11-21T09:00:00Z"}"#

    func testEveryWrittenLineCarriesTheJournalsFormatVersion() throws {
        let journal = try Journal(path: path)
        try journal.append(entry)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("\"format_version\":\(DocumentKind.journalEntry.formatVersion),"), text)
        XCTAssertEqual(DocumentKind.journalEntry.formatVersion, 1)
        XCTAssertEqual(try Journal.read(path), [entry])
    }

    func testAJournalWrittenBeforeFormatVersionIsStillRead() throws {
        // Its old line first, then one written now: undo reads the journal across the upgrade.
        try (oldLine + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let journal = try Journal(path: path)
        try journal.append(entry)
        let entries = try Journal.read(path)
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries[0].formatVersion, JournalEntry.unversioned)
        XCTAssertEqual(entries[0].run, "20261121T090000Z-7")
        XCTAssertEqual(entries[0].before, "1")
        XCTAssertEqual(entries[0].knob, .sysctl("kernel.numa_balancing"))
        XCTAssertEqual(entries[1], entry)
    }

    func testALineOfAnotherFormatVersionIsRefusedByLine() throws {
        let newer = oldLine.replacingOccurrences(of: #"{"action""#, with: #"{"format_version":2,"action""#)
        XCTAssertThrowsError(try JournalParser.parse(Array((oldLine + "\n" + newer + "\n").utf8), file: "j.jsonl")) { error in
            let error = error as? JournalError
            XCTAssertEqual(error?.damaged, true)
            XCTAssertEqual(error?.description, "j.jsonl:2: format_version 2 is not one this numaguard reads (it reads 1); "
                           + "use the numaguard that wrote the journal")
        }
    }
}
