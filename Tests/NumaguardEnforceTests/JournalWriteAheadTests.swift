import Foundation
import NumaguardCore
import NumaguardEnforce
import XCTest

/// The journal is write-ahead: an intent line is on disk before each change, the outcome
/// after; undo copes with an intent that has no outcome and with a torn last line, and
/// still refuses a damaged line in the middle, naming file:line.
final class JournalWriteAheadTests: XCTestCase {
    var directory = ""
    var path: String { directory + "/journal.jsonl" }
    let balancing = Knob.sysctl("kernel.numa_balancing")

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func applier(_ host: MemoryHost, _ command: String, _ run: String) throws -> Applier {
        Applier(actuator: host, privileges: Privileges(uid: 0, effective: ApplierTests.all), journal: try Journal(path: path),
                command: command, run: run, protection: .none, clock: { "2026-11-21T10:00:00Z" })
    }

    func knobAction(_ value: String) -> Action {
        Action(kind: .setKnob, checks: [], subject: balancing.name, knob: balancing, value: value, before: "", after: value)
    }

    /// Lines as written by a run that died right after its intents were synced.
    func writeIntents(_ entries: [JournalEntry], tail: String = "") throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var text = ""
        for entry in entries { text += String(decoding: try encoder.encode(entry), as: UTF8.self) + "\n" }
        try (text + tail).write(toFile: path, atomically: false, encoding: .utf8)
    }

    func intent(_ run: String, knob value: (before: String, after: String)) -> JournalEntry {
        JournalEntry(time: "2026-11-21T10:00:00Z", run: run, command: "apply", phase: .intent, action: .setKnob, subject: balancing.name,
                     knob: balancing, process: nil, file: nil, before: value.before, after: value.after, result: nil,
                     detail: "about to change it", undoes: nil)
    }

    func testTheIntentIsOnDiskBeforeTheActuatorIsCalled() throws {
        let host = MemoryHost()
        host.knobs[balancing.path] = "1"
        host.processes[100] = .init(startTime: 5000, threads: [100: IDSet([0, 1])], pages: [0: 1 << 20])
        let target = ProcessTarget(pid: 100, startTime: 5000, comm: "probe", uid: 0, workload: "batch", protected: false)
        let actions = [
            knobAction("0"),
            Action(kind: .setAffinity, checks: [], subject: target.label, process: target, cpus: IDSet([2]), before: "0-1", after: "2"),
            Migration.action(target, from: IDSet([0]), to: IDSet([1]), before: "1 MiB on node 0", protection: nil, onlyUnshared: true),
        ]
        var seen: [String] = []
        host.beforeChange = { [path] call in
            // Read from the file itself, as a crash right now would leave it.
            let lines = (try? Journal.read(path)) ?? []
            guard let last = lines.last else { return XCTFail("\(call): the journal is empty before the change") }
            XCTAssertTrue(last.isIntent, "\(call): the last line on disk is not the intent: \(last)")
            seen.append("\(call) after intent \(last.subject) \(last.before ?? "nil") -> \(last.after ?? "nil")")
        }
        let report = try applier(host, "apply", "A").apply(actions)
        XCTAssertEqual(report.results.map(\.outcome), [.done, .done, .done])
        XCTAssertEqual(seen, [
            "write kernel.numa_balancing=0 after intent kernel.numa_balancing 1 -> 0",
            "affinity 100=2 after intent PID 100 (probe) 0-1 -> 2",
            "migrate 100 after intent PID 100 (probe) 1 MiB on node 0 -> pages on node 0 moved to node 1",
        ])
        XCTAssertEqual(try Journal.read(path).map(\.isIntent), [true, false, true, false, true, false])
    }

    func testAJournalThatRefusesTheIntentChangesNothing() throws {
        let host = MemoryHost()
        host.knobs[balancing.path] = "1"
        // RLIMIT_FSIZE stands in for a full disk: every write past it fails (EFBIG). The
        // journal is a regular file only (a device such as /dev/full is refused).
        let full = Applier(actuator: host, privileges: Privileges(uid: 0, effective: ApplierTests.all),
                           journal: try Journal(path: path), command: "apply", run: "A", protection: .none)
        var saved = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved), 0)
        let previous = signal(SIGXFSZ, SIG_IGN)
        var none = saved
        none.rlim_cur = 0
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &none), 0)
        let report = full.apply([knobAction("0"), knobAction("0")])
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved), 0)
        signal(SIGXFSZ, previous)
        XCTAssertEqual(report.results.map(\.outcome), [.skipped, .skipped])
        XCTAssertEqual(report.results[0].detail, "not attempted: the journal could not record the change beforehand")
        XCTAssertEqual(host.calls, [], "nothing changed without its intent on disk")
        XCTAssertTrue(report.journalFailure?.contains("File too large") ?? false, "\(report.journalFailure ?? "nil")")
        XCTAssertEqual(host.knobs[balancing.path], "1")
    }

    func testUndoOfAnIntentWithoutOutcomeRestoresTheOldValueWhetherOrNotItWasMade() throws {
        try writeIntents([intent("A", knob: ("1", "0"))])
        // Made before the crash: the knob holds the new value; undo restores the old one.
        let made = MemoryHost()
        made.knobs[balancing.path] = "0"
        var selection = try XCTUnwrap(try Undo.select(try Journal.read(path)))
        XCTAssertEqual(selection.run, "A")
        XCTAssertEqual(try applier(made, "undo", "U").undo(selection).results.map(\.outcome), [.done])
        XCTAssertEqual(made.knobs[balancing.path], "1")
        XCTAssertNil(try Undo.select(try Journal.read(path)), "restored: nothing left")

        // Not made: the knob still holds the old value; undo finds it unchanged, writes nothing.
        try writeIntents([intent("B", knob: ("1", "0"))])
        let notMade = MemoryHost()
        notMade.knobs[balancing.path] = "1"
        selection = try XCTUnwrap(try Undo.select(try Journal.read(path)))
        let undo = try applier(notMade, "undo", "U").undo(selection)
        XCTAssertEqual(undo.results.map(\.outcome), [.unchanged])
        XCTAssertEqual(notMade.calls, [])
        XCTAssertNil(try Undo.select(try Journal.read(path)))

        // An intent followed by its outcome is the outcome's business: a failed change is not undone.
        var outcome = intent("C", knob: ("1", "0"))
        outcome.phase = nil
        outcome.result = .failed
        try writeIntents([intent("C", knob: ("1", "0")), outcome])
        XCTAssertNil(try Undo.select(try Journal.read(path)))
    }

    func testAProcessIntentWithoutOutcomeIsReportedNotReversed() throws {
        let target = ProcessTarget(pid: 100, startTime: 5000, comm: "probe", uid: 0, workload: "batch", protected: false)
        let affinity = JournalEntry(time: "t", run: "A", command: "apply", phase: .intent, action: .setAffinity, subject: target.label,
                                    knob: nil, process: target, file: nil, before: "0-1", after: "2", result: nil, detail: "", undoes: nil)
        try writeIntents([affinity])
        let lines = try Journal.read(path)
        XCTAssertNil(try Undo.select(lines), "placement is not undone")
        XCTAssertEqual(Undo.unfinished(lines).map(\.subject), [target.label])
        XCTAssertEqual(Undo.unfinished(lines, run: "B"), [])
    }

    func testATornLastLineIsIgnoredWithAWarningAndCutOffBeforeTheNextAppend() throws {
        let host = MemoryHost()
        host.knobs[balancing.path] = "1"
        _ = try applier(host, "apply", "A").apply([knobAction("0")])
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"time\":\"2026-11-21T10:00:01Z\",\"run\":\"A\",\"comm".utf8))
        try handle.close()

        let contents = try Journal.load(path)
        XCTAssertEqual(contents.entries.count, 2, "the complete lines are all read")
        XCTAssertEqual(contents.warnings.count, 1)
        XCTAssertTrue(contents.warnings[0].hasPrefix("\(path):3: ignoring a torn last line"), contents.warnings[0])
        let selection = try XCTUnwrap(try Undo.select(contents.entries))
        XCTAssertEqual(selection.run, "A")

        // The next run cuts the fragment off first, so it never becomes a damaged middle line.
        let undo = try applier(host, "undo", "U")
        XCTAssertEqual(undo.journal?.repaired?.hasPrefix("\(path): cut off a torn last line (46 bytes"), true, "\(undo.journal?.repaired ?? "nil")")
        XCTAssertEqual(undo.undo(selection).results.map(\.outcome), [.done])
        let after = try Journal.load(path)
        XCTAssertEqual(after.warnings, [])
        XCTAssertEqual(after.entries.count, 4)
        XCTAssertEqual(host.knobs[balancing.path], "1")
    }

    func testATornLineInTheMiddleIsRefusedWithFileAndLine() throws {
        try writeIntents([intent("A", knob: ("1", "0"))], tail: "{\"time\":\"2026-11-21T10:00:01Z\",\"ru\n"
                         + "{\"time\":\"2026-11-21T10:00:02Z\"}\n")
        XCTAssertThrowsError(try Journal.load(path)) { error in
            let error = error as? JournalError
            XCTAssertEqual(error?.damaged, true)
            XCTAssertTrue(error?.description.hasPrefix("\(path):2: not a numaguard journal line") ?? false, "\(String(describing: error))")
        }
    }

    func testADanglingLinkInAStickyWorldWritableDirectoryIsRefusedAndNothingIsCreated() throws {
        let shared = directory + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(shared, 0o1777), 0)
        let target = directory + "/must-not-exist"
        let link = shared + "/journal.jsonl"
        XCTAssertEqual(symlink(target, link), 0)
        XCTAssertEqual(lchown(link, 65534, 65534), 0, "the link belongs to another user (nobody)")
        XCTAssertThrowsError(try Journal(path: link)) { error in
            let error = error as? JournalError
            XCTAssertEqual(error?.cannotCreate, true)
            XCTAssertTrue(error?.description.contains("cannot open the journal \(link): is a symbolic link (to \(target))") ?? false,
                          "\(String(describing: error))")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "nothing created through the link")
        // Our own link is refused the same way: the journal never follows a link.
        XCTAssertEqual(lchown(link, 0, 0), 0)
        XCTAssertThrowsError(try Journal(path: link))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
    }
}
