import Foundation
import NumaguardCore
import NumaguardEnforce
import XCTest

/// The apply loop over an in-memory host: outcomes, privilege blocking by capability
/// (a value, not the process's real set), identity re-reads, idempotence, the journal.
final class ApplierTests: XCTestCase {
    static let mib = 1 << 20
    static let all: Set<String> = ["CAP_SYS_NICE", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"]
    var journalPath = ""

    override func setUp() {
        journalPath = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)/j.jsonl").path
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: (journalPath as NSString).deletingLastPathComponent)
    }

    func host() -> MemoryHost {
        let host = MemoryHost()
        host.knobs["proc/sys/kernel/numa_balancing"] = "1"
        host.knobs["sys/kernel/mm/transparent_hugepage/enabled"] = "always"
        host.processes[100] = .init(startTime: 5000, threads: [100: IDSet([0, 1]), 101: IDSet([0, 1])],
                                    pages: [0: 48 * Self.mib, 1: Self.mib])
        host.processes[200] = .init(startTime: 6000, threads: [200: IDSet([0, 1])], pages: [0: 32 * Self.mib])
        return host
    }

    static let batch = ProcessTarget(pid: 100, startTime: 5000, comm: "probe", uid: 0, workload: "batch", protected: false)
    static let feed = ProcessTarget(pid: 200, startTime: 6000, comm: "probe", uid: 0, workload: "feed", protected: true)

    static var actions: [Action] {
        [
            Action(kind: .setKnob, checks: ["host.kernel.numa_balancing"], subject: "kernel.numa_balancing",
                   knob: .sysctl("kernel.numa_balancing"), value: "0", before: "1", after: "0",
                   requires: [Requirement("root", why: "sysctl"), Requirement("CAP_SYS_ADMIN", why: "numa_balancing")]),
            Action(kind: .setAffinity, checks: ["workload.batch.cpus"], subject: batch.label, process: batch, cpus: IDSet([2, 3]),
                   before: "0-1", after: "2-3", requires: [Requirement("CAP_SYS_NICE", why: "affinity", exceptUID: 0)]),
            Migration.action(batch, from: IDSet([0]), to: IDSet([1]), before: "48 MiB on node 0", protection: nil, onlyUnshared: false),
            Action(kind: .restart, status: .refused, checks: ["workload.feed.memory.remote"], subject: feed.label, process: feed,
                   before: "", after: "", reason: "protected workload feed"),
        ]
    }

    /// The journal's outcome lines (each change also has its intent line before it).
    func outcomes(_ path: String) throws -> [JournalEntry] {
        try Journal.read(path).filter { !$0.isIntent }
    }

    func applier(_ host: MemoryHost, _ privileges: Privileges = Privileges(uid: 0, effective: all), run: String = "run-1",
                 protection: Protection = .none) throws -> Applier {
        Applier(actuator: host, privileges: privileges, journal: try Journal(path: journalPath), command: "apply", run: run,
                protection: protection, clock: { "2026-11-21T10:00:00Z" })
    }

    func testAProcessProtectedNowIsRefusedWhateverThePlanSaid() throws {
        // The plan (a saved file, or a protected workload started since) says pending; the
        // policy's protected workloads claim PID 100 when apply comes to it.
        let host = host()
        let protection = Protection { $0.pid == 100 ? "\($0.label) belongs to protected workload feed of p.yaml" : nil }
        let report = try applier(host, protection: protection).apply(Array(Self.actions[1...2]))
        XCTAssertEqual(report.results.map(\.outcome), [.refused, .refused])
        XCTAssertEqual(report.results[0].detail, "PID 100 (probe) belongs to protected workload feed of p.yaml: never changed live; nothing done")
        XCTAssertEqual(host.calls, [], "nothing touched")
        XCTAssertEqual(host.processes[100]?.pages[0], 48 * Self.mib)
        XCTAssertEqual(try outcomes(journalPath).map(\.result), [.refused, .refused], "the due change not made is journaled")

        // A pending action whose recorded target is protected is never performed, whatever its status says.
        var edited = Self.actions[2]
        edited.process?.protected = true
        let second = try applier(host).apply([edited])
        XCTAssertEqual(second.results.map(\.outcome), [.refused])
        XCTAssertTrue(second.results[0].detail.contains("is protected (workload batch)"), second.results[0].detail)
        XCTAssertEqual(host.calls, [])
    }

    func testAnIdentityReadErrorIsAFailureNotAnExit() throws {
        let host = host()
        host.identityErrors[100] = ActuationError("open(/proc/100/stat): Permission denied", errno: .accessDenied)
        let report = try applier(host).apply([Self.actions[2]])
        XCTAssertEqual(report.results.map(\.outcome), [.failed])
        XCTAssertTrue(report.results[0].detail.contains("cannot re-read PID 100 (probe) before changing it: open(/proc/100/stat): Permission denied"),
                      report.results[0].detail)
        XCTAssertEqual(host.calls, [])
    }

    func testAJournalWhoseDirectoryCannotBeMadeFailsToOpen() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("plain-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: file, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertThrowsError(try Journal(path: file + "/sub/j.jsonl")) { error in
            XCTAssertTrue("\(error)".contains("cannot open the journal \(file)/sub/j.jsonl: \(file) is not a directory"), "\(error)")
        }
    }

    func testAppliesEachChangeReadsItBackAndNeverTouchesTheProtected() throws {
        let host = host()
        let report = try applier(host).apply(Self.actions)
        XCTAssertEqual(report.results.map(\.outcome), [.done, .done, .done, .refused])
        XCTAssertEqual(report.status, .violations, "the refused protected process remains")
        XCTAssertEqual(host.knobs["proc/sys/kernel/numa_balancing"], "0")
        XCTAssertEqual(host.processes[100]?.threads, [100: IDSet([2, 3]), 101: IDSet([2, 3])])
        XCTAssertEqual(host.processes[100]?.pages, [0: 0, 1: 49 * Self.mib])
        XCTAssertFalse(host.calls.contains { $0.contains(" 200") }, "\(host.calls)")
        XCTAssertEqual(host.processes[200]?.pages, [0: 32 * Self.mib])
        XCTAssertEqual(report.results[2].detail, "48 MiB on node 0, 1 MiB on node 1 -> 49 MiB on node 1")

        let lines = try Journal.read(journalPath)
        XCTAssertEqual(lines.map(\.isIntent), [true, false, true, false, true, false], "each change: its intent, then its outcome")
        XCTAssertEqual(lines[0].before, "1", "the intent records the value found")
        XCTAssertEqual(lines[0].after, "0", "and the value about to be written")
        XCTAssertNil(lines[0].result)
        let entries = try outcomes(journalPath)
        XCTAssertEqual(entries.map(\.action), [.setKnob, .setAffinity, .migratePages])
        XCTAssertEqual(entries[0].before, "1")
        XCTAssertEqual(entries[0].after, "0")
        XCTAssertEqual(entries[0].knob?.path, "proc/sys/kernel/numa_balancing")
        XCTAssertEqual(entries.map(\.run), ["run-1", "run-1", "run-1"])
        XCTAssertEqual(entries[2].process, Self.batch, "the journal names the target by PID and start time")
        XCTAssertEqual(entries[1].before, "0-1")
        XCTAssertEqual(entries[1].after, "2-3")
    }

    func testASecondApplyDoesNothing() throws {
        let host = host()
        _ = try applier(host).apply(Self.actions)
        let lines = try Journal.read(journalPath).count
        host.calls = []
        let again = try applier(host, run: "run-2").apply(Array(Self.actions.prefix(3)))
        XCTAssertEqual(again.results.map(\.outcome), [.unchanged, .unchanged, .unchanged])
        XCTAssertEqual(again.status, .success)
        XCTAssertEqual(host.calls, [], "nothing written")
        XCTAssertEqual(try Journal.read(journalPath).count, lines, "nothing journaled")
    }

    func testAMissingCapabilityBlocksExactlyTheActionsThatNeedIt() throws {
        // Root without CAP_SYS_NICE: the knob goes ahead, the (same-owner) affinity did here
        // because this action is declared without the requirement; planned ones carry it.
        let noNice = Privileges(uid: 0, effective: Self.all.subtracting(["CAP_SYS_NICE"]))
        let host = host()
        let report = try applier(host, noNice).apply(Array(Self.actions.prefix(3)))
        XCTAssertEqual(report.results.map(\.outcome), [.done, .done, .blocked])
        XCTAssertEqual(report.results[2].missing.map(\.privilege), ["CAP_SYS_NICE"])
        XCTAssertTrue(report.results[2].detail.hasPrefix("missing CAP_SYS_NICE (migrate_pages of another process"), report.results[2].detail)
        XCTAssertEqual(report.status, .noPermission, "only privilege stands in the way")
        XCTAssertEqual(host.processes[100]?.pages[0], 48 * Self.mib)
        XCTAssertFalse(host.calls.contains { $0.hasPrefix("migrate") })

        // An unprivileged user with CAP_SYS_NICE and CAP_SYS_PTRACE: processes yes, sysctls no.
        let user = Privileges(uid: 1000, effective: ["CAP_SYS_NICE", "CAP_SYS_PTRACE"])
        let second = try applier(self.host(), user).apply(Array(Self.actions.prefix(3)))
        XCTAssertEqual(second.results.map(\.outcome), [.blocked, .done, .done])
        XCTAssertEqual(second.results[0].missing.map(\.privilege), ["root", "CAP_SYS_ADMIN"])
        XCTAssertTrue(second.results[0].detail.contains("root (euid 0)"))

        // Same owner without capabilities: an action allowing the owner passes, migration still needs CAP_SYS_NICE.
        var own = Self.actions
        let mine = ProcessTarget(pid: 100, startTime: 5000, comm: "probe", uid: 1000, workload: "batch", protected: false)
        own[1].process = mine
        own[1].requires = [Requirement("CAP_SYS_NICE", why: "affinity", exceptUID: 1000)]
        own[2] = Migration.action(mine, from: IDSet([0]), to: IDSet([1]), before: "", protection: nil, onlyUnshared: false)
        let third = try applier(self.host(), Privileges(uid: 1000, effective: [])).apply(Array(own[1...2]))
        XCTAssertEqual(third.results.map(\.outcome), [.done, .blocked])
        XCTAssertEqual(third.results[1].missing.map(\.privilege), ["CAP_SYS_NICE"], "ptrace access to one's own process needs no capability")

        // A refusal among the blocked makes it 1, not 77.
        let mixed = try applier(self.host(), noNice).apply(Self.actions)
        XCTAssertEqual(mixed.status, .violations)
    }

    func testPermittedButNotEffectiveIsNotHeld() {
        let privileges = Privileges(uid: 1000, effective: [], permitted: ["CAP_SYS_NICE"])
        let requirement = Requirement("CAP_SYS_NICE", why: "x")
        XCTAssertFalse(privileges.holds(requirement))
        XCTAssertEqual(privileges.describe(requirement), "CAP_SYS_NICE: not held (permitted but not effective; numaguard does not raise capabilities itself)")
        XCTAssertEqual(Privileges(uid: 0, effective: []).describe(Requirement("CAP_DAC_OVERRIDE", why: "x", exceptUID: 0)),
                       "CAP_DAC_OVERRIDE: not needed (numaguard runs as uid 0, the owner)")
    }

    func testAProcessReplacedOrGoneBeforeTheChangeIsSkipped() throws {
        let host = host()
        host.processes[100]?.startTime = 5001 // the PID now belongs to another process
        let report = try applier(host).apply(Array(Self.actions[1...2]))
        XCTAssertEqual(report.results.map(\.outcome), [.skipped, .skipped])
        XCTAssertTrue(report.results[0].detail.contains("PID 100 was replaced: it started at tick 5001, the planned probe at 5000"),
                      report.results[0].detail)
        XCTAssertEqual(host.calls, [])
        XCTAssertEqual(try outcomes(journalPath).map(\.result), [.skipped, .skipped])

        host.processes[100] = nil
        let gone = try applier(host).apply([Self.actions[2]])
        XCTAssertEqual(gone.results.first?.outcome, .skipped)
        XCTAssertTrue(gone.results.first?.detail.contains("has exited") ?? false)
        XCTAssertEqual(gone.status, .violations)
    }

    func testAPartialFailureGoesOnAndReportsEachOutcome() throws {
        let host = host()
        host.processes[100]?.pinned = [0: 2 * 4096]
        let pool = Knob.hugePages(node: 1, sizeKiB: 2048)
        host.knobs[pool.path] = "0"
        host.ceilings[pool.path] = 10
        let missing = Knob.sysctl("vm.zone_reclaim_mode")
        let actions = [
            Action(kind: .setKnob, checks: [], subject: missing.name, knob: missing, value: "0", before: "1", after: "0"),
            Action(kind: .setKnob, checks: [], subject: pool.name, knob: pool, value: "16", before: "0", after: "16"),
            Self.actions[2],
            Self.actions[0],
        ]
        let report = try applier(host).apply(actions)
        XCTAssertEqual(report.results.map(\.outcome), [.failed, .partial, .partial, .done])
        XCTAssertEqual(report.results[0].detail, "/proc/sys/vm/zone_reclaim_mode does not exist on this kernel")
        XCTAssertEqual(report.results[1].detail, "0 -> 10: asked for 16, the kernel took 10")
        XCTAssertTrue(report.results[2].detail.hasSuffix("the kernel could not move 2 pages, 8 KiB still on node 0"), report.results[2].detail)
        XCTAssertEqual(report.status, .violations)
        XCTAssertEqual(try outcomes(journalPath).map(\.result), [.partial, .partial, .done])
    }
}
