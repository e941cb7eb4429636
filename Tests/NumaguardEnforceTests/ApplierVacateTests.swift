import Foundation
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import XCTest

/// vacate_cpus carried out and undone: over the in-memory host (each thread's mask, the
/// cpuset fallback, a confined thread, the journal's groups and their bound, undo's guards)
/// and on a real child process through sched_setaffinity.
final class ApplierVacateTests: XCTestCase {
    var journalPath = ""
    static let batch = ProcessTarget(pid: 100, startTime: 5000, comm: "batch", uid: 1000, workload: nil, protected: false)

    override func setUp() {
        journalPath = FileManager.default.temporaryDirectory.appendingPathComponent("vacate-\(UUID().uuidString).jsonl").path
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: journalPath) }

    static func action(_ target: ProcessTarget = batch, reserved: IDSet = IDSet([2, 3])) -> Action {
        Action(kind: .vacateCPUs, checks: ["cpus.2-3.reserve.threads"], subject: target.label, process: target, cpus: reserved,
               before: "", after: "", requires: [Requirement("CAP_SYS_NICE", why: "affinity")])
    }

    func applier(_ actuator: any Actuator, command: String = "apply", run: String = "A", protection: Protection = .none) throws -> Applier {
        Applier(actuator: actuator, privileges: Privileges(uid: 0, effective: ["CAP_SYS_NICE"]), journal: try Journal(path: journalPath),
                command: command, run: run, protection: protection, clock: { "2026-12-02T10:00:00Z" })
    }

    func host(_ threads: [Int: IDSet], cpuset: IDSet = IDSet(0...3)) -> MemoryHost {
        let host = MemoryHost()
        host.processes[100] = .init(startTime: 5000, threads: threads, pages: [:])
        host.cpusets[100] = cpuset
        return host
    }

    func testEachThreadKeepsItsOtherCPUsOrFallsBackToTheCpusetAndTheMasksAreJournaledFirst() throws {
        let host = host([100: IDSet(0...3), 101: IDSet([3]), 102: IDSet([0, 1]), 103: IDSet(0...3)])
        host.isolated = IDSet([1])
        var intents: [JournalEntry] = []
        host.beforeChange = { _ in if intents.isEmpty { intents = ((try? Journal.read(self.journalPath)) ?? []).filter(\.isIntent) } }
        let report = try applier(host).apply([Self.action()])
        XCTAssertEqual(report.results.map(\.outcome), [.done], report.results.map(\.detail).joined())
        XCTAssertEqual(host.processes[100]?.threads, [100: IDSet([0, 1]), 101: IDSet([0]), 102: IDSet([0, 1]), 103: IDSet([0, 1])],
                       "101 had only reserved CPUs: its cpuset's CPUs minus reserved and isolated")
        XCTAssertEqual(report.results[0].detail, "3 of 4 threads off CPUs 2-3: CPUs 0-3 (2 threads) / CPUs 3 (1 thread) -> CPUs 0 (1 thread) / CPUs 0-1 (2 threads)")
        XCTAssertEqual(intents.map(\.before), ["100,103=0-3 101=3"], "write-ahead: every thread's mask before the first moves")
        XCTAssertEqual(intents.map(\.after), ["100,103=0-1 101=0"])
        let outcome = try XCTUnwrap(try Journal.read(journalPath).last)
        XCTAssertEqual([outcome.before, outcome.after], ["100,103=0-3 101=3", "100,103=0-1 101=0"])
        XCTAssertEqual(try applier(host, run: "B").apply([Self.action()]).results.map(\.outcome), [.unchanged], "a second apply does nothing")
    }

    func testAThreadConfinedToReservedCPUsIsSkippedWithTheReason() throws {
        let host = host([100: IDSet(1...3), 101: IDSet([3])], cpuset: IDSet([2, 3]))
        let report = try applier(host).apply([Self.action()])
        XCTAssertEqual(report.results.map(\.outcome), [.partial])
        XCTAssertTrue(report.results[0].detail.hasSuffix("thread 101: its cpuset confines it to reserved CPUs 2-3 (or to isolated ones): change the cgroup"),
                      report.results[0].detail)
        XCTAssertEqual(host.processes[100]?.threads[101], IDSet([3]))
        let alone = self.host([100: IDSet([3])], cpuset: IDSet([3]))
        XCTAssertEqual(try applier(alone, run: "C").apply([Self.action()]).results.map(\.outcome), [.skipped])
        XCTAssertEqual(alone.calls, [])
    }

    func testTooManyThreadsToJournalIsPartialAndNotUndoable() throws {
        // No two thread IDs adjacent: 9000 of seven digits and a comma each, beyond 64 KiB.
        var threads: [Int: IDSet] = [:]
        for index in 0..<9000 { threads[4_000_000 + 2 * index] = IDSet(0...3) }
        let host = MemoryHost()
        host.processes[100] = .init(startTime: 5000, threads: threads, pages: [:])
        let report = try applier(host).apply([Self.action()])
        XCTAssertEqual(report.results.map(\.outcome), [.partial])
        XCTAssertTrue(report.results[0].detail.hasSuffix("; too many threads to journal; not undoable"), String(report.results[0].detail.suffix(200)))
        XCTAssertEqual(host.processes[100]?.threads[4_000_002], IDSet([0, 1]), "moved all the same")
        let lines = try Journal.read(journalPath)
        XCTAssertEqual(lines.map { $0.before == nil && $0.after == nil }, [true, true], "intent and outcome record no masks")
        XCTAssertTrue(try Undo.select(lines) == nil, "nothing recorded, nothing to undo")
    }

    // MARK: undo

    func applied(_ host: MemoryHost) throws -> Undo.Selection {
        XCTAssertEqual(try applier(host).apply([Self.action()]).results.map(\.outcome), [.done])
        return try XCTUnwrap(try Undo.select(try Journal.read(journalPath)))
    }

    func testUndoPutsBackEachThreadStillAsApplyLeftIt() throws {
        let host = host([100: IDSet(0...3), 101: IDSet([1, 3]), 102: IDSet([2, 3])])
        let selection = try applied(host)
        XCTAssertEqual(selection.entries.map(\.action), [.vacateCPUs])
        host.processes[100]?.threads[101] = IDSet([0]) // re-pinned since by someone else
        host.processes[100]?.threads[102] = nil        // exited
        let undo = try applier(host, command: "undo", run: "U", protection: .none).undo(selection)
        XCTAssertEqual(undo.results.map(\.outcome), [.partial])
        XCTAssertEqual(undo.results[0].detail, "1 thread back: CPUs 0-1 (1 thread) -> CPUs 0-3 (1 thread); "
                       + "thread 101 is on CPUs 0 now, not 1 as that run left it; left alone; thread 102 has exited")
        XCTAssertEqual(host.processes[100]?.threads, [100: IDSet(0...3), 101: IDSet([0])])
    }

    func testUndoMovesNoThreadOfAProcessProtectedNowReplacedOrWithoutAPolicy() throws {
        let host = host([100: IDSet(0...3)])
        let selection = try applied(host)
        host.calls = []
        let protected = Protection { "\($0.label) belongs to protected workload engine of p.yaml" }
        XCTAssertEqual(try applier(host, command: "undo", run: "U1", protection: protected).undo(selection).results.map(\.outcome), [.refused])
        let unknown = try applier(host, command: "undo", run: "U2", protection: .unknown).undo(selection)
        XCTAssertEqual(unknown.results.map(\.outcome), [.refused])
        XCTAssertTrue(unknown.results[0].detail.contains("undo was given no policy to ask (undo --policy FILE)"), unknown.results[0].detail)
        host.processes[100]?.startTime = 9999
        XCTAssertEqual(try applier(host, command: "undo", run: "U3").undo(selection).results.map(\.outcome), [.skipped])
        XCTAssertEqual(host.calls, [])
        host.processes[100]?.startTime = 5000
        XCTAssertEqual(try applier(host, command: "undo", run: "U4").undo(selection).results.map(\.outcome), [.done])
        XCTAssertEqual(host.processes[100]?.threads[100], IDSet(0...3))
        XCTAssertNil(try Undo.select(try Journal.read(journalPath)), "restored: nothing left")
    }

    // MARK: a real process

    func testARealChildLeavesTheReservedCPUAndUndoPutsItBack() throws {
        let online = try Affinity.current()
        guard online.count >= 2, let reserved = online.members.last else { throw XCTSkip("needs two CPUs") }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["60"]
        try child.run()
        defer { child.terminate(); child.waitUntilExit() }
        let pid = Int(child.processIdentifier)
        try Affinity.set(online, tid: Int32(pid))
        let live = LiveActuator()
        let identity = try XCTUnwrap(try live.identity(of: pid))
        let target = ProcessTarget(pid: pid, startTime: identity.startTime, comm: "sleep", uid: 0, workload: nil, protected: false)
        let report = try applier(live).apply([Self.action(target, reserved: IDSet([reserved]))])
        XCTAssertEqual(report.results.map(\.outcome), [.done], report.results.map(\.detail).joined())
        XCTAssertEqual(try Affinity.current(tid: Int32(pid)), online.subtracting(IDSet([reserved])))
        let selection = try XCTUnwrap(try Undo.select(try Journal.read(journalPath)))
        let undo = try applier(live, command: "undo", run: "U").undo(selection)
        XCTAssertEqual(undo.results.map(\.outcome), [.done], undo.results.map(\.detail).joined())
        XCTAssertEqual(try Affinity.current(tid: Int32(pid)), online)
    }
}
