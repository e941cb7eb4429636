import Foundation
import TestSupport
import XCTest

/// plan, apply, undo and migrate end to end: exit codes and messages for everything that
/// must not change the host (the changes themselves are proven in the QEMU guest).
final class EnforceCommandTests: XCTestCase {
    private var files: [URL] = []

    override func tearDown() {
        for file in files { try? FileManager.default.removeItem(at: file) }
        files = []
    }

    private func write(_ contents: String, _ suffix: String = ".yaml") throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("enforce-\(UUID().uuidString)\(suffix)")
        try contents.write(to: file, atomically: true, encoding: .utf8)
        files.append(file)
        return file.path
    }

    private var fixture: String { Fixtures.path("linux-6.1-2node") }

    /// A saved plan (digest sha256:0) setting kernel.numa_balancing to 0.
    private func savedPlan(policy: String, boot: String) throws -> String {
        try write("""
            {"format_version": 1, "kind": "plan", "policy_file": "\(policy)", "policy_digest": "sha256:0",
             "boot_id": "\(boot)", "unreadable": [],
             "actions": [{"kind": "set_knob", "status": "pending", "checks": [], "subject": "kernel.numa_balancing",
                          "knob": {"name": "kernel.numa_balancing", "path": "proc/sys/kernel/numa_balancing", "kind": "sysctl"},
                          "value": "0", "before": "1", "after": "0", "requires": []}]}
            """, ".json")
    }

    func testPlanListsPendingChangesAndExits2() throws {
        let policy = try write("version: 1\nhost: {kernel: {numa_balancing: off}}\n")
        let result = try Command.numaguard(["plan", "--policy", policy, "--host-root", fixture])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stdout.contains("1. set kernel.numa_balancing\n   before: 1\n   after:  0"), result.stdout)
        XCTAssertTrue(result.stdout.contains("needs:  CAP_SYS_ADMIN: "), result.stdout)

        let json = try Command.numaguard(["plan", "--policy", policy, "--host-root", fixture, "--format", "json"])
        XCTAssertEqual(json.status, 2)
        let document = try Command.json(json.stdout)
        XCTAssertEqual(document["kind"] as? String, "plan")
        XCTAssertEqual(document["format_version"] as? Int, 1)
        let actions = try XCTUnwrap(document["actions"] as? [[String: Any]])
        XCTAssertEqual(actions.first?["kind"] as? String, "set_knob")
        XCTAssertEqual(actions.first?["before"] as? String, "1")
    }

    func testPlanWithNothingToDoExits0() throws {
        let policy = try write("version: 1\nhost: {kernel: {numa_balancing: normal}}\n")
        let result = try Command.numaguard(["plan", "--policy", policy, "--host-root", fixture])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("Nothing to do"), result.stdout)
    }

    func testPlanWithAnInvalidPolicyExits78() throws {
        let policy = try write("version: 1\nhost: {kernel: {numa_balance: off}}\n")
        let result = try Command.numaguard(["plan", "--policy", policy, "--host-root", fixture])
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("\(policy):2:"), result.stderr)
        XCTAssertEqual(result.stdout, "")
    }

    func testApplyRefusesACapturedHostAndNeedsYesOffATerminal() throws {
        let policy = try write("version: 1\nhost: {kernel: {numa_balancing: off}}\n")
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("j-\(UUID().uuidString).jsonl").path
        let captured = try Command.numaguard(["apply", "--policy", policy, "--host-root", fixture, "--yes", "--journal", journal])
        XCTAssertEqual(captured.status, 64)
        XCTAssertTrue(captured.stderr.contains("apply changes the live host only; --host-root \(fixture) is a captured host"), captured.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal), "nothing written, not even the journal")

        let neither = try Command.numaguard(["apply", "--journal", journal])
        XCTAssertEqual(neither.status, 64)
        XCTAssertTrue(neither.stderr.contains("give --policy FILE or --plan FILE"), neither.stderr)
    }

    /// The live host of the test machine: without --yes and off a terminal apply must refuse
    /// before anything, the journal and its directory included.
    func testApplyWithoutYesCreatesNoJournal() throws {
        let current = try String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)
        let selected = current.split(separator: "[").last?.split(separator: "]").first.map(String.init) ?? ""
        let other = ["always", "madvise", "never"].first { $0 != selected } ?? "never"
        let policy = try write("version: 1\nhost: {kernel: {transparent_hugepage: \(other)}}\n")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jdir-\(UUID().uuidString)").path
        let result = try Command.numaguard(["apply", "--policy", policy, "--journal", directory + "/j.jsonl"])
        XCTAssertEqual(result.status, 64, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("pass --yes"), result.stderr)
        XCTAssertTrue(result.stderr.contains("set transparent_hugepage.enabled"), "the plan is shown: \(result.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "no journal, no journal directory")
        XCTAssertEqual(try String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8), current)
    }

    func testApplyPlanRefusesAPolicyChangedSinceThePlan() throws {
        let boot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let policy = try write("version: 1\nhost: {kernel: {numa_balancing: off}}\n")
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("j-\(UUID().uuidString).jsonl").path
        let plan = try savedPlan(policy: policy, boot: boot)
        let result = try Command.numaguard(["apply", "--plan", plan, "--yes", "--journal", journal])
        XCTAssertEqual(result.status, 64, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("\(policy) has changed since \(plan) was planned (sha256:0, now "), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal))
    }

    func testApplyRefusesAPlanFromAnotherBootOrNotAPlan() throws {
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("j-\(UUID().uuidString).jsonl").path
        let plan = try savedPlan(policy: "p.yaml", boot: "00000000-0000-0000-0000-000000000000")
        let result = try Command.numaguard(["apply", "--plan", plan, "--yes", "--journal", journal])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("was planned on boot 00000000-0000-0000-0000-000000000000"), result.stderr)
        let audit = try write("{\"format_version\": 1, \"kind\": \"audit\"}", ".json")
        let wrong = try Command.numaguard(["apply", "--plan", audit, "--yes", "--journal", journal])
        XCTAssertEqual(wrong.status, 65, "bad data: \(wrong.stderr)")
        XCTAssertTrue(wrong.stderr.contains("is not a plan numaguard can read"), wrong.stderr)
    }

    func testUndoExitCodes() throws {
        let absent = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString).jsonl").path
        let missing = try Command.numaguard(["undo", "--journal", absent, "--yes"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("cannot read the journal \(absent)"), missing.stderr)

        let damaged = try write("{}\n", ".jsonl")
        let bad = try Command.numaguard(["undo", "--journal", damaged, "--yes"])
        XCTAssertEqual(bad.status, 65, "a damaged journal is bad data")
        XCTAssertTrue(bad.stderr.contains("\(damaged):1: not a numaguard journal line"), bad.stderr)

        let empty = try write("", ".jsonl")
        let nothing = try Command.numaguard(["undo", "--journal", empty, "--yes"])
        XCTAssertEqual(nothing.status, 0)
        XCTAssertTrue(nothing.stdout.hasPrefix("Nothing to undo"), nothing.stdout)
        let unknown = try Command.numaguard(["undo", "--journal", empty, "--run", "20260101T000000Z-1", "--yes"])
        XCTAssertEqual(unknown.status, 64)

        // A journal that cannot be read (a directory: EISDIR) is an input that is not there,
        // as a policy, snapshot or plan would be; not the host, not usage.
        let directory = FileManager.default.temporaryDirectory.path
        let unreadable = try Command.numaguard(["undo", "--journal", directory, "--yes"])
        XCTAssertEqual(unreadable.status, 66, unreadable.stderr)
        XCTAssertTrue(unreadable.stderr.contains("cannot read the journal \(directory)"), unreadable.stderr)
    }

    /// A plan chooses what root changes: one another user could have written is not read,
    /// and the policy it names is held to the same rule unless --policy names one.
    func testApplyPlanRefusesAPlanOrItsPolicyAnotherUserCouldHaveWritten() throws {
        try XCTSkipUnless(geteuid() == 0, "chown to another user needs root")
        let boot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("j-\(UUID().uuidString).jsonl").path
        let policy = try write("version: 1\nhost: {kernel: {numa_balancing: off}}\n")
        let plan = try savedPlan(policy: policy, boot: boot)
        XCTAssertEqual(chown(plan, 65534, 65534), 0)
        let foreign = try Command.numaguard(["apply", "--plan", plan, "--yes", "--journal", journal])
        XCTAssertEqual(foreign.status, 66, foreign.stderr)
        XCTAssertTrue(foreign.stderr.contains("cannot read the plan \(plan): belongs to uid 65534"), foreign.stderr)
        XCTAssertEqual(chown(plan, 0, 0), 0)
        XCTAssertEqual(chmod(plan, 0o666), 0)
        let writable = try Command.numaguard(["apply", "--plan", plan, "--yes", "--journal", journal])
        XCTAssertEqual(writable.status, 66, writable.stderr)
        XCTAssertTrue(writable.stderr.contains("is writable by others (mode 666)"), writable.stderr)
        XCTAssertEqual(chmod(plan, 0o644), 0)

        // The plan's own policy_file, another user's: the plan does not get to choose it.
        XCTAssertEqual(chown(policy, 65534, 65534), 0)
        let theirs = try Command.numaguard(["apply", "--plan", plan, "--yes", "--journal", journal])
        XCTAssertEqual(theirs.status, 66, theirs.stderr)
        XCTAssertTrue(theirs.stderr.contains("the policy \(plan) names: cannot use \(policy): belongs to uid 65534"), theirs.stderr)
        // --policy is the operator's choice: used as given (here it fails the digest check).
        let mine = try write("version: 1\nhost: {kernel: {numa_balancing: off}}\n")
        let chosen = try Command.numaguard(["apply", "--plan", plan, "--policy", mine, "--yes", "--journal", journal])
        XCTAssertEqual(chosen.status, 64, chosen.stderr)
        XCTAssertTrue(chosen.stderr.contains("\(mine) has changed since \(plan) was planned"), chosen.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal), "nothing journaled, nothing changed")
    }

    /// undo opens the journal under the journal's rule before reading it: a hard link (to a
    /// file root must not rewrite) is refused with 73, and nothing is cut from it.
    func testUndoRefusesAJournalThatIsAHardLink() throws {
        let victim = try write("{\"not\": \"a journal\"}\nno newline", ".txt")
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("j-\(UUID().uuidString).jsonl")
        XCTAssertEqual(link(victim, journal.path), 0)
        files.append(journal)
        let result = try Command.numaguard(["undo", "--journal", journal.path, "--yes"])
        XCTAssertEqual(result.status, 73, result.stderr)
        XCTAssertTrue(result.stderr.contains("hard links"), result.stderr)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "{\"not\": \"a journal\"}\nno newline")
    }

    /// Past 16 MiB (HostRoot's cap on a host file) undo could no longer read the journal; it
    /// is streamed now, and past 64 MiB the operator is told it keeps growing.
    func testUndoReadsAJournalPastSixteenMebibytesAndWarnsPastSixtyFour() throws {
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(UUID().uuidString).jsonl")
        files.append(journal)
        XCTAssertTrue(FileManager.default.createFile(atPath: journal.path, contents: nil))
        let detail = String(repeating: "d", count: 1_000_000)
        let line = Data(("{\"action\":\"migrate_pages\",\"command\":\"migrate\",\"detail\":\"\(detail)\",\"result\":\"done\","
                         + "\"run\":\"M\",\"subject\":\"PID 1 (x)\",\"time\":\"2026-11-21T10:00:00Z\"}\n").utf8)
        let handle = try FileHandle(forWritingTo: journal)
        for _ in 0..<20 { try handle.write(contentsOf: line) }
        try handle.close()
        let big = try Command.numaguard(["undo", "--journal", journal.path, "--yes"])
        XCTAssertEqual(big.status, 0, big.stderr)
        XCTAssertTrue(big.stdout.hasPrefix("Nothing to undo"), big.stdout)
        XCTAssertFalse(big.stderr.contains("warning: the journal"), "20 MB is not worth a warning: \(big.stderr)")

        let more = try FileHandle(forWritingTo: journal)
        try more.seekToEnd()
        for _ in 0..<50 { try more.write(contentsOf: line) }
        try more.close()
        let huge = try Command.numaguard(["undo", "--journal", journal.path, "--yes"])
        XCTAssertEqual(huge.status, 0, huge.stderr)
        XCTAssertTrue(huge.stderr.contains("numaguard: warning: the journal \(journal.path) is "), huge.stderr)
    }

    func testMigrateRefusesAThreadID() throws {
        // A thread of the test process itself: /proc/TID exists, its Tgid is not TID.
        let started = DispatchSemaphore(value: 0), finish = DispatchSemaphore(value: 0)
        let thread = Thread {
            started.signal()
            finish.wait()
        }
        thread.start()
        started.wait()
        defer { finish.signal() }
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        let tids = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap(Int.init)
        let tid = try XCTUnwrap(tids.first { $0 != pid })
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("j-\(UUID().uuidString).jsonl").path
        let result = try Command.numaguard(["migrate", "\(tid)", "--from", "0", "--to", "0", "--yes", "--journal", journal])
        XCTAssertEqual(result.status, 64, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("\(tid) is a thread of process \(pid), not a process"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal))
    }

    func testMigrateProtectNamesAndAll() throws {
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("j-\(UUID().uuidString).jsonl").path
        let long = try Command.numaguard(["migrate", "1", "--from", "0", "--to", "0", "--protect", "trading-engine-a", "--yes", "--journal", journal])
        XCTAssertEqual(long.status, 64, long.stderr)
        XCTAssertTrue(long.stderr.contains("--protect trading-engine-a: a comm is at most 15 characters"), long.stderr)
        let all = try Command.numaguard(["migrate", "1", "--from", "0", "--to", "0", "--all", "--protect", "engine", "--yes", "--journal", journal])
        XCTAssertEqual(all.status, 64, all.stderr)
        XCTAssertTrue(all.stderr.contains("--all moves pages a protected process may share"), all.stderr)
        let policy = try write("version: 1\nworkloads:\n  - name: engine\n    match: {comm: never-runs}\n    protected: true\n")
        let allPolicy = try Command.numaguard(["migrate", "1", "--from", "0", "--to", "0", "--all", "--policy", policy, "--yes", "--journal", journal])
        XCTAssertEqual(allPolicy.status, 64, allPolicy.stderr)
        XCTAssertTrue(allPolicy.stderr.contains("\(policy) protects a workload"), allPolicy.stderr)
        // Off a terminal without --yes: refused before the journal exists.
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        let noYes = try Command.numaguard(["migrate", "\(pid)", "--from", "0", "--to", "0", "--journal", journal])
        XCTAssertEqual(noYes.status, 64, noYes.stderr)
        XCTAssertTrue(noYes.stderr.contains("pass --yes"), noYes.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal))
    }

    func testMigrateUsageErrors() throws {
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("j-\(UUID().uuidString).jsonl").path
        let noProcess = try Command.numaguard(["migrate", "999999999", "--from", "0", "--to", "0", "--journal", journal])
        XCTAssertEqual(noProcess.status, 66, noProcess.stderr)
        XCTAssertTrue(noProcess.stderr.contains("no process with PID 999999999"), noProcess.stderr)
        let badNodes = try Command.numaguard(["migrate", "1", "--from", "x", "--to", "0", "--journal", journal])
        XCTAssertEqual(badNodes.status, 64, badNodes.stderr)
        XCTAssertTrue(badNodes.stderr.contains("--from x"), badNodes.stderr)
        let offline = try Command.numaguard(["migrate", "1", "--from", "0", "--to", "63", "--journal", journal])
        XCTAssertEqual(offline.status, 64, offline.stderr)
        XCTAssertTrue(offline.stderr.contains("node 63 is not online"), offline.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal))
    }
}
