// The journal reader (Sources/NumaguardEnforce: JournalParser, Undo) and the snapshot reader
// (Sources/NumaguardSnapshot: SnapshotDocument), fuzzed in the same binary as the policy
// loader (scripts/fuzz.sh, target "policy"): every input goes to all three, so CI's fuzzing
// time is unchanged and JSON inputs (which are YAML too) feed the policy loader as well.
//
// Contract: any bytes make each reader return or throw its typed error, never crash or hang.
// The journal: an error names `fuzz.jsonl:LINE` with a line of the input; a read keeps every
// complete line and warns about a torn last one only; what it read survives writing it back;
// undo's selection over it takes back only restorable lines. The snapshot: what parses
// renders and parses back to itself, and diffs against itself with no change.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NumaguardEnforce
import NumaguardReport
import NumaguardSnapshot

func checkJournal(_ bytes: [UInt8], _ text: String) {
    let contents: JournalContents
    do {
        contents = try JournalParser.parse(bytes, file: "fuzz.jsonl")
    } catch {
        guard error.damaged, error.description.hasPrefix("fuzz.jsonl:") else {
            violation("journal error without file:line: \(error.description.prefix(120))", text)
        }
        let number = error.description.dropFirst("fuzz.jsonl:".count).prefix { $0.isNumber }
        let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        guard let line = Int(number), line >= 1, line <= lines else {
            violation("journal error names line \(number) of \(lines): \(error.description.prefix(120))", text)
        }
        return
    }
    let torn = (bytes.last.map { $0 != 0x0A } ?? false) && !(bytes.split(separator: 0x0A, omittingEmptySubsequences: false).last?.isEmpty ?? true)
    if contents.warnings.count != (torn ? 1 : 0) {
        violation("journal: \(contents.warnings.count) warnings for a \(torn ? "torn" : "whole") last line", text)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var written: [UInt8] = []
    for entry in contents.entries {
        guard let data = try? encoder.encode(entry) else { violation("journal entry does not encode", text) }
        written += Array(data) + [0x0A]
    }
    do {
        let again = try JournalParser.parse(written, file: "again.jsonl")
        if again.entries != contents.entries || !again.warnings.isEmpty { violation("journal lines do not survive writing back", text) }
    } catch {
        violation("journal lines written back do not read: \(error)", text)
    }
    let settled = Undo.settled(contents.entries)
    if settled.count > contents.entries.count { violation("undo settled more lines than it read", text) }
    if let selection = try? Undo.select(contents.entries) {
        if selection.entries.isEmpty { violation("undo selected a run with nothing to take back", text) }
        for entry in selection.entries where entry.command != "apply" || ![.setKnob, .persist].contains(entry.action) {
            violation("undo selected a \(entry.command) \(entry.action.rawValue) line", text)
        }
        _ = selection.entries.map(Undo.action(restoring:))
    }
}

func checkSnapshot(_ bytes: [UInt8], _ text: String) {
    guard let snapshot = try? SnapshotDocument.parse(bytes) else { return }
    let rendered: String
    do { rendered = try SnapshotDocument.render(snapshot) } catch { violation("a snapshot read does not render: \(error)", text) }
    do {
        if try SnapshotDocument.parse(Array(rendered.utf8)) != snapshot { violation("snapshot changes when written back", text) }
    } catch {
        violation("a rendered snapshot does not read: \(error)", text)
    }
    let diff = SnapshotComparison.diff(old: snapshot, oldFile: "a", new: snapshot, newFile: "b")
    if !diff.changes.isEmpty { violation("a snapshot differs from itself: \(diff.changes.prefix(3))", text) }
}
