import Foundation
import NumaguardCore
import NumaguardEnforce
import XCTest

/// The yes before a change, and the order around it: a no, or no one to answer, leaves the
/// host (MemoryHost) and the journal's path as they were; nothing pending asks nothing.
final class ConsentTests: XCTestCase {
    var directory = ""
    var journalPath: String { directory + "/journal.jsonl" }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("consent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(directory, 0o700), 0)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func testYesAnswersWithoutATerminalAndATerminalMustSayYes() throws {
        var prompts: [String] = []
        try Consent.obtain("Go?", yes: true, terminal: false) { prompts.append($0); return "n" }
        XCTAssertEqual(prompts, [], "--yes asks nothing")
        XCTAssertThrowsError(try Consent.obtain("Go?", yes: false, terminal: false) { prompts.append($0); return "y" }) {
            XCTAssertEqual($0 as? Consent.Refusal, .noTerminal)
        }
        XCTAssertEqual(prompts, [], "off a terminal no one is asked")
        for answer in ["y", "Y", "yes", "YES", "Yes"] {
            try Consent.obtain("Go?", yes: false, terminal: true) { prompts.append($0); return answer }
        }
        XCTAssertEqual(prompts, Array(repeating: "Go? [y/N] ", count: 5))
        for answer in ["n", "", " y", "yess", "ja", nil] as [String?] {
            XCTAssertThrowsError(try Consent.obtain("Go?", yes: false, terminal: true) { _ in answer }, "\(answer ?? "EOF")") {
                XCTAssertEqual($0 as? Consent.Refusal, .declined)
            }
        }
        XCTAssertEqual(Consent.Refusal.noTerminal.description,
                       "standard input is not a terminal: pass --yes to make these changes; nothing was changed")
        XCTAssertEqual(Consent.Refusal.declined.description, "nothing was changed")
    }

    func host() -> MemoryHost {
        let host = MemoryHost()
        host.knobs["proc/sys/kernel/numa_balancing"] = "1"
        host.processes[100] = .init(startTime: 5000, threads: [100: IDSet([0, 1]), 101: IDSet([0, 1])], pages: [0: 48 << 20])
        host.processes[200] = .init(startTime: 6000, threads: [200: IDSet([0, 1])], pages: [0: 32 << 20])
        return host
    }

    func applier(_ host: MemoryHost, _ command: String = "apply") -> (Journal?) -> Applier {
        { journal in
            Applier(actuator: host, privileges: Privileges(uid: 0, effective: ApplierTests.all), journal: journal, command: command,
                    run: "run-1", protection: .none, clock: { "2026-11-21T10:00:00Z" })
        }
    }

    func testANoOpensNoJournalAndChangesNothing() {
        let host = host()
        var opened = false
        XCTAssertThrowsError(try Consent.apply(ApplierTests.actions, confirm: { (_: Int) throws in throw Consent.Refusal.declined },
                                               openJournal: { () throws in
                                                   opened = true
                                                   return try Journal(path: self.journalPath)
                                               }, applier: applier(host))) {
            XCTAssertEqual($0 as? Consent.Refusal, .declined)
        }
        XCTAssertFalse(opened)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journalPath), "no journal created")
        XCTAssertEqual(host.calls, [])
    }

    func testAYesAsksWithThePendingCountThenOpensTheJournalThenApplies() throws {
        let host = host()
        var steps: [String] = []
        host.beforeChange = { steps.append("change \($0)") }
        let report = try Consent.apply(ApplierTests.actions, confirm: { (pending: Int) throws(JournalError) in
            steps.append("confirm \(pending)")
        }, openJournal: { () throws(JournalError) in
            steps.append("journal")
            return try Journal(path: self.journalPath)
        }, applier: applier(host))
        XCTAssertEqual(Array(steps.prefix(2)), ["confirm 3", "journal"], "three pending; the restart is refused already")
        XCTAssertTrue(steps.dropFirst(2).allSatisfy { $0.hasPrefix("change ") }, "\(steps)")
        XCTAssertEqual(report.results.map(\.outcome), [.done, .done, .done, .refused])
        XCTAssertFalse(try Journal.read(journalPath).isEmpty)
    }

    func testNothingPendingAsksNothingAndOpensNoJournal() throws {
        let host = host()
        let refusedOnly = [ApplierTests.actions[3]]
        let report = try Consent.apply(refusedOnly, confirm: { (_: Int) throws(JournalError) in XCTFail("nothing to ask") },
                                       openJournal: { () throws(JournalError) in
                                           XCTFail("no journal")
                                           return try Journal(path: self.journalPath)
                                       }, applier: applier(host))
        XCTAssertEqual(report.results.map(\.outcome), [.refused])
        XCTAssertFalse(FileManager.default.fileExists(atPath: journalPath))
    }

    /// A journal with run A (numa_balancing 1 -> 0) and a torn last line, as a killed writer leaves it.
    func tornJournal(_ host: MemoryHost) throws -> Undo.Selection {
        host.knobs["proc/sys/kernel/numa_balancing"] = "1"
        let balancing = Knob.sysctl("kernel.numa_balancing")
        let knob = Action(kind: .setKnob, checks: [], subject: balancing.name, knob: balancing, value: "0", before: "", after: "0")
        _ = applier(host)(try Journal(path: journalPath)).apply([knob])
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: journalPath))
        handle.seekToEndOfFile()
        handle.write(Data("{\"torn\":".utf8))
        try handle.close()
        let journal = try Journal.openExisting(journalPath)
        return try XCTUnwrap(try Undo.select(try journal.load().entries))
    }

    func testUndoDeclinedLeavesTheJournalByteForByte() throws {
        let host = host()
        let selection = try tornJournal(host)
        let before = try Data(contentsOf: URL(fileURLWithPath: journalPath))
        let journal = try Journal.openExisting(journalPath)
        XCTAssertThrowsError(try Consent.undo(selection, journal: journal, confirm: { () throws in throw Consent.Refusal.declined },
                                              repairFailed: { $0 }, applier: applier(host, "undo"))) {
            XCTAssertEqual($0 as? Consent.Refusal, .declined)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: journalPath)), before, "the torn line is not cut before a yes")
        XCTAssertEqual(host.knobs["proc/sys/kernel/numa_balancing"], "0")
    }

    func testUndoRepairsTheJournalOnlyAfterTheYesThenRestores() throws {
        let host = host()
        let selection = try tornJournal(host)
        let journal = try Journal.openExisting(journalPath)
        var repairedWhenAsked: String?? = .none
        let report = try Consent.undo(selection, journal: journal, confirm: { () throws(JournalError) in
            repairedWhenAsked = .some(journal.repaired)
        }, repairFailed: { $0 }, applier: applier(host, "undo"))
        XCTAssertEqual(repairedWhenAsked, .some(nil), "asked before the repair")
        XCTAssertNotNil(journal.repaired, "the torn line was cut")
        XCTAssertEqual(report.results.map(\.outcome), [.done])
        XCTAssertEqual(host.knobs["proc/sys/kernel/numa_balancing"], "1")
        let text = try String(contentsOfFile: journalPath, encoding: .utf8)
        XCTAssertFalse(text.contains("{\"torn\":"), text)
    }
}
