@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import XCTest

/// host.isolation.* over hand-built states: each fact judged against the policy, with the
/// flags of isolcpus= explaining what /sys cannot show.
final class IsolationChecksTests: XCTestCase {
    private let policy = "version: 1\nhost:\n  isolation: {isolated: \"2-3\", nohz_full: \"2-3\", managed_irq: true, workqueue: housekeeping}\n"

    func testAnIsolatedHostPasses() throws {
        let findings = Evaluation.findings(try IsolationTestHost.loaded(policy), IsolationTestHost.state())
        XCTAssertEqual(IsolationTestHost.lines(findings), ["host.isolation.isolated pass", "host.isolation.nohz_full pass",
                                                           "host.isolation.managed_irq pass", "host.isolation.workqueue pass"])
    }

    func testEachMissingPieceFailsWithItsRemedy() throws {
        // isolcpus=managed_irq,3 alone: /sys/.../isolated stays empty (no domain flag).
        let state = IsolationTestHost.state(isolated: IDSet(), nohzFull: IDSet([3]), commandLine: "ro isolcpus=managed_irq,3", workqueue: IDSet(0...3))
        let findings = Evaluation.findings(try IsolationTestHost.loaded(policy), state)
        XCTAssertEqual(findings.map(\.outcome), [.fail, .fail, .fail, .fail])
        XCTAssertEqual(findings[0].actual, "none (isolcpus=managed_irq,3 has no domain flag)")
        XCTAssertEqual(findings[0].remediation, "boot with isolcpus=domain,managed_irq,2-3 on the kernel command line")
        XCTAssertEqual(findings[1].actual, "3")
        XCTAssertEqual(findings[2].expected, "isolcpus= carries managed_irq covering CPUs 2-3")
        XCTAssertEqual(findings[2].actual, "isolcpus=managed_irq,3")
        XCTAssertEqual(findings[3].severity, .warning)
        XCTAssertEqual(findings[3].expected, "unbound workqueue cpumask within the housekeeping CPUs 0-1")
        XCTAssertEqual(findings[3].actual, "0000000f (0-3)")
        XCTAssertTrue(findings[3].remediation.hasPrefix("echo 00000003 > /sys/devices/virtual/workqueue/cpumask"), findings[3].remediation)
    }

    func testManagedIRQFalseAndAWorkqueueListAndUnknownFlags() throws {
        let policy = try IsolationTestHost.loaded("version: 1\nhost:\n  isolation: {managed_irq: false, workqueue: \"0\"}\n")
        let findings = Evaluation.findings(policy, IsolationTestHost.state())
        XCTAssertEqual(IsolationTestHost.lines(findings), ["host.isolation.managed_irq fail", "host.isolation.workqueue fail"])
        XCTAssertEqual(findings[1].expected, "unbound workqueue cpumask within CPUs 0")
        let unknown = Evaluation.findings(try IsolationTestHost.loaded("version: 1\nhost:\n  isolation: {managed_irq: true}\n"),
                                          IsolationTestHost.state(commandLine: "isolcpus=fast,managed_irq,2-3"))
        XCTAssertEqual(unknown.first?.outcome, .fail)
        XCTAssertTrue(unknown.first?.actual.contains("unknown isolcpus flag \"fast\"") == true, unknown.first?.actual ?? "")
    }

    func testHousekeepingLeavesOutReservedCPUsAndAnUnreadableMaskIsNotJudged() throws {
        let policy = try IsolationTestHost.loaded("""
            version: 1
            host:
              isolation: {workqueue: housekeeping}
            workloads:
              - {name: engine, match: {comm: engine}}
            reserve:
              - {cpus: 1, for: [engine]}
            """)
        var state = IsolationTestHost.state(workqueue: IDSet([0, 1]))
        let workqueue = Evaluation.findings(policy, state).filter { $0.check.hasSuffix("workqueue") }
        XCTAssertEqual(IsolationTestHost.lines(workqueue), ["host.isolation.workqueue fail", "cpus.1.reserve.workqueue fail [CPUs 1]"])
        XCTAssertEqual(workqueue.first?.expected, "unbound workqueue cpumask within the housekeeping CPUs 0")
        state.isolation?.workqueueProblem = "cannot read x: permission denied"
        XCTAssertTrue(Evaluation.findings(policy, state).filter { $0.check.hasSuffix("workqueue") }.isEmpty)
    }

    func testNoIsolationReadMeansNoFindings() throws {
        var state = IsolationTestHost.state()
        state.isolation = nil
        XCTAssertTrue(Evaluation.findings(try IsolationTestHost.loaded(policy), state).isEmpty)
    }
}
