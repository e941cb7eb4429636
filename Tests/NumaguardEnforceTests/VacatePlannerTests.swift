@testable import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import XCTest

/// vacate_cpus planned from a CPU reservation's threads finding, over hand-built thread scans:
/// one action per process, never a kernel thread, never a reserving workload's member, a
/// protected process refused.
final class VacatePlannerTests: XCTestCase {
    static let policy = """
        version: 1
        workloads:
          - {name: engine, match: {comm: engine}, protected: true}
          - {name: feed, match: {comm: feed}, protected: true}
          - {name: batch, match: {comm: batch}}
        reserve:
          - {cpus: "2-3", for: [engine]}
        """

    static func thread(_ pid: Int, _ tid: Int? = nil, comm: String, allowed: IDSet, kernel: Bool = false) -> TaskPlacement {
        TaskPlacement(pid: pid, tid: tid ?? pid, comm: comm, processComm: comm, uid: kernel ? 0 : 1000, kernel: kernel, allowed: allowed,
                      lastCPU: 0, startTime: UInt64(pid * 10), nonvoluntary: 0)
    }

    func plan(_ threads: [TaskPlacement], claims: [Int: [String]] = [:], selfPID: Int = 1) throws -> Plan {
        var state = IRQHost.state([], online: IDSet(0...3))
        state.threads = ThreadScan(threads: threads)
        state.claimants = claims
        state.owner = claims.compactMapValues(\.first)
        let policy = try PolicyLoader.parse(Self.policy, file: "p.yaml")
        let loaded = LoadedPolicy(policy: policy, file: "p.yaml", digest: "0")
        let findings = Evaluation.findings(loaded, state)
        XCTAssertTrue(findings.contains { $0.check == "cpus.2-3.reserve.threads" })
        let report = AuditReport(policyFile: "p.yaml", policyDigest: "0",
                                 host: HostIdentity(hostname: nil, machineID: nil, bootID: "boot-1", kernelRelease: "6.1.0", kernelCommandLine: "ro"),
                                 findings: findings, gone: [], unreadable: [], failOn: .warning)
        return Planner.plan(report, state: state, policy: policy, options: .init(selfPID: selfPID))
    }

    func testOneActionPerForeignProcessAndNeverKernelThreadsOrMembers() throws {
        let plan = try plan([
            Self.thread(100, comm: "batch", allowed: IDSet(0...3)), Self.thread(100, 101, comm: "batch", allowed: IDSet([3])),
            Self.thread(200, comm: "engine", allowed: IDSet([2, 3])),
            Self.thread(300, comm: "sshd", allowed: IDSet(0...3)),
            Self.thread(400, comm: "tidy", allowed: IDSet([0, 1])),
            Self.thread(2, comm: "kthreadd", allowed: IDSet(0...3), kernel: true),
            Self.thread(50, comm: "ksoftirqd/3", allowed: IDSet([3]), kernel: true),
            Self.thread(7, comm: "numaguard", allowed: IDSet(0...3)),
        ], claims: [100: ["batch"], 200: ["engine"]], selfPID: 7)
        let vacates = plan.actions.filter { $0.kind == .vacateCPUs }
        XCTAssertEqual(vacates.map { $0.process?.pid }, [100, 300], "not engine (a member), not kernel threads, not numaguard, not PID 400")
        XCTAssertEqual(vacates.map(\.cpus), [IDSet([2, 3]), IDSet([2, 3])])
        XCTAssertEqual(vacates[0].process, ProcessTarget(pid: 100, startTime: 1000, comm: "batch", uid: 1000, workload: "batch", protected: false))
        XCTAssertEqual(vacates[0].before, "2 threads allowed CPUs 0-3 / 3")
        XCTAssertEqual(vacates[0].after, "no thread allowed on CPUs 2-3 (each keeps its other CPUs)")
        XCTAssertEqual(vacates[0].checks, ["cpus.2-3.reserve.threads"])
        XCTAssertEqual(vacates[0].requires.map(\.privilege), ["CAP_SYS_NICE"])
        XCTAssertTrue(EnforceText.render(plan, privileges: Privileges(uid: 0, effective: ["CAP_SYS_NICE"]))
            .contains("1. move every thread of PID 100 (batch) off reserved CPUs 2-3\n"))
    }

    func testAProtectedProcessIsRefusedWithTheRestartAdvice() throws {
        let plan = try plan([Self.thread(500, comm: "feed", allowed: IDSet([3])), Self.thread(600, comm: "batch", allowed: IDSet([2]))],
                            claims: [500: ["feed"], 600: ["batch"]])
        XCTAssertEqual(plan.actions.map(\.kind), [.vacateCPUs, .restart])
        let refusal = plan.actions[1]
        XCTAssertEqual(refusal.status, .refused)
        XCTAssertEqual(refusal.process?.pid, 500)
        XCTAssertEqual(refusal.checks, ["cpus.2-3.reserve.threads"])
        XCTAssertTrue(refusal.reason?.contains("restart through numaguard run") ?? false, refusal.reason ?? "")
    }

    func testAProcessWhoseMainThreadWasNotReadIsLeftNotGuessed() throws {
        let plan = try plan([Self.thread(700, 701, comm: "batch", allowed: IDSet([2]))])
        XCTAssertEqual(plan.actions.map(\.kind), [.manual])
        XCTAssertTrue(plan.actions[0].reason?.hasPrefix("PID 700: its main thread was not read") ?? false)
    }
}
