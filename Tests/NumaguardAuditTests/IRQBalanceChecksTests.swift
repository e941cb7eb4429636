@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import XCTest

/// host.irqbalance.*: irqbalance's own rule. BANNED variables set → its detection is off and
/// they alone count; unset → it bans isolated ∪ nohz_full; --banirq changes neither.
final class IRQBalanceChecksTests: XCTestCase {
    private func process(_ pid: Int, env: String?, arguments: [String] = ["irqbalance"]) -> IRQBalanceProcess {
        IRQBalanceProcess(pid: pid, arguments: IRQBalanceArguments.parse(arguments),
                          environment: env.map { IRQBalanceEnvironment.parse(Array($0.utf8)) } ?? IRQBalanceEnvironment(banned: nil))
    }

    private let running = """
        version: 1
        host:
          irqbalance: {running: true}
        workloads:
          - {name: engine, match: {comm: engine}}
        reserve:
          - {cpus: 1, for: [engine]}
        """

    func testDetectionCoversIsolatedButNotReservedCPUs() throws {
        let state = IsolationTestHost.state(irqbalance: [process(812, env: nil, arguments: ["irqbalance", "--banirq=45"])])
        let findings = try Evaluation.findings(IsolationTestHost.loaded(running), state).filter { $0.check.hasPrefix("host.irqbalance") }
        XCTAssertEqual(IsolationTestHost.lines(findings), ["host.irqbalance.running pass", "host.irqbalance.banned_cpus fail [irqbalance (PID 812)]"])
        XCTAssertEqual(findings[1].expected, "irqbalance bans CPUs ⊇ 1-3 (isolated ∪ reserved)")
        XCTAssertEqual(findings[1].actual, "no IRQBALANCE_BANNED_* set: it bans the isolated and nohz_full CPUs (2-3); 1 not banned")
        XCTAssertEqual(findings[1].pid, 812)
        XCTAssertEqual(findings[1].remediation, "set IRQBALANCE_BANNED_CPULIST=1-3 (or unset it so isolated and nohz_full CPUs are banned) and restart irqbalance")
    }

    func testABannedListTurnsDetectionOff() throws {
        let policy = try IsolationTestHost.loaded("version: 1\nhost:\n  irqbalance: {running: true}\n")
        let narrow = IsolationTestHost.state(irqbalance: [process(812, env: "IRQBALANCE_BANNED_CPULIST=2\0")])
        let finding = try XCTUnwrap(Evaluation.findings(policy, narrow).last)
        XCTAssertEqual(finding.outcome, .fail)
        XCTAssertEqual(finding.actual, "IRQBALANCE_BANNED_CPULIST=2 set: its isolcpus/nohz_full detection is off; 3 not banned")
        let wide = IsolationTestHost.state(irqbalance: [process(812, env: "IRQBALANCE_BANNED_CPUS=e\0",
                                                                arguments: ["irqbalance", "-l", "/etc/ib.sh", "--oneshot"])])
        let passing = try XCTUnwrap(Evaluation.findings(policy, wide).last)
        XCTAssertEqual(passing.outcome, .pass)
        XCTAssertEqual(passing.actual, "IRQBALANCE_BANNED_CPUS=e set: its isolcpus/nohz_full detection is off; bans 2-3; "
                       + "a policy script (/etc/ib.sh) may ban more; not judged; --oneshot: it balanced once")
        let broken = IsolationTestHost.state(irqbalance: [process(812, env: "IRQBALANCE_BANNED_CPULIST=x\0")])
        XCTAssertEqual(try XCTUnwrap(Evaluation.findings(policy, broken).last).outcome, .fail)
    }

    func testRunningOrNotAndOtherUsersIrqbalance() throws {
        var state = IsolationTestHost.state()
        state.isolation?.ignoredIRQBalance = [.init(pid: 900, uid: 1000)]
        let must = try Evaluation.findings(IsolationTestHost.loaded("version: 1\nhost:\n  irqbalance: {running: true}\n"), state)
        XCTAssertEqual(IsolationTestHost.lines(must), ["host.irqbalance.running fail"])
        XCTAssertEqual(must.first?.actual, "not running; ignored, not root's: PID 900 (uid 1000)")
        let mustNot = try Evaluation.findings(IsolationTestHost.loaded("version: 1\nhost:\n  irqbalance: {running: false}\n"),
                                              IsolationTestHost.state(irqbalance: [process(812, env: nil)]))
        XCTAssertEqual(IsolationTestHost.lines(mustNot), ["host.irqbalance.running fail"], "banned CPUs are not judged when it must not run")
        XCTAssertEqual(mustNot.first?.actual, "running: PID 812")
    }

    func testAnUnreadableEnvironmentIsNotJudged() throws {
        let state = IsolationTestHost.state(irqbalance: [IRQBalanceProcess(pid: 812, arguments: nil, environment: nil)])
        let findings = try Evaluation.findings(IsolationTestHost.loaded("version: 1\nhost:\n  irqbalance: {running: true}\n"), state)
        XCTAssertEqual(IsolationTestHost.lines(findings), ["host.irqbalance.running pass"])
    }
}
