import NumaguardCore
@testable import NumaguardPolicy
import XCTest

/// `host.isolation`, `host.irqbalance` and `reserve:` items with `cpus`: what loads, and every
/// mistake located to file:line:col.
final class CPUReservationPolicyTests: XCTestCase {
    private let workloads = "version: 1\nworkloads:\n  - {name: engine, match: {comm: engine}}\n  - {name: feed, match: {comm: feed}}\n"

    func testIsolationIRQBalanceAndCPUReservationsLoad() throws {
        let text = """
            version: 1
            host:
              isolation: {isolated: "2-15", nohz_full: [2, 3], managed_irq: true, workqueue: housekeeping}
              irqbalance: {running: true}
            devices:
              - {name: md-nic, match: {interface: ens1f0}}
              - {name: journal_disk, match: {block: nvme0n1}}
            workloads:
              - {name: engine, match: {comm: engine}}
            reserve:
              - {node: 0, for: [engine], max_foreign_memory: 256MiB}
              - {cpus: "2-15", for: [engine], irqs: [md-nic, journal_disk]}
              - {cpus: 16, for: [engine]}
            waivers:
              - {check: cpus.2-15.reserve.threads, reason: r, expires: 2030-01-01}
            """
        let policy = try XCTUnwrap(PolicyText.loads(text))
        XCTAssertEqual(policy.host.isolation, IsolationPolicy(isolated: IDSet(2...15), nohzFull: IDSet([2, 3]), managedIRQ: true, workqueue: .housekeeping))
        XCTAssertEqual(policy.host.irqbalance, IRQBalancePolicy(running: true))
        XCTAssertEqual(policy.reservations.map(\.node), [0], "node reservations are unchanged")
        XCTAssertEqual(policy.cpuReservations, [CPUReservation(cpus: IDSet(2...15), workloads: ["engine"], irqDevices: ["md-nic", "journal_disk"]),
                                                CPUReservation(cpus: IDSet([16]), workloads: ["engine"])])
        XCTAssertEqual(policy.waivers.map(\.check), ["cpus.2-15.reserve.threads"])
        let within = try XCTUnwrap(PolicyText.loads("version: 1\nhost:\n  isolation: {workqueue: \"0-1\"}\n  irqbalance: {running: false}\n"))
        XCTAssertEqual(within.host.isolation?.workqueue, .within(IDSet([0, 1])))
        XCTAssertEqual(within.host.irqbalance?.running, false)
    }

    func testAnItemTakesNodeOrCPUsNotBoth() {
        assertPolicyError(workloads + "reserve:\n  - {node: 0, for: [engine]}\n  - {node: 1, cpus: \"2-3\", for: [engine]}\n",
                          line: 7, column: 5, "reserve[1] takes node or cpus, not both")
    }

    func testCPUReservationMistakesAreLocated() {
        assertPolicyError(workloads + "reserve:\n  - {cpus: \"3-2\", for: [engine]}\n", line: 6, column: 12, "reserve[0].cpus", "descending")
        assertPolicyError(workloads + "reserve:\n  - {cpus: \"2\"}\n", line: 6, column: 5, "reserve[0] needs \"for\"")
        assertPolicyError(workloads + "reserve:\n  - {cpus: 2, for: [engine], max_foreign_memory: 1GiB}\n", line: 6, column: 30,
                          "unknown key \"max_foreign_memory\" in reserve[0]")
        assertPolicyError(workloads + "reserve:\n  - {cpus: 2, for: [engine], irqs: [md.nic]}\n", line: 6, column: 37,
                          "reserve[0].irqs item \"md.nic\" is not a device name")
        assertPolicyError(workloads + "reserve:\n  - {cpus: 2, for: [engin]}\n", line: 6, column: 20,
                          "reserve[0] names workload \"engin\", which the policy does not declare", suggestion: "engine")
    }

    func testIRQsNameDeclaredDevices() {
        let text = "version: 1\ndevices:\n  - {name: md-nic, match: {interface: eth0}}\n" + workloads.dropFirst("version: 1\n".count)
            + "reserve:\n  - {cpus: 2, for: [engine], irqs: [md-nic, md-nik]}\n"
        assertPolicyError(text, line: 8, column: 45, "reserve[0].irqs names device \"md-nik\", which the policy's devices: does not declare",
                          suggestion: "md-nic")
    }

    func testCPUReservationsMayNotOverlap() {
        assertPolicyError(workloads + "reserve:\n  - {cpus: \"2-5\", for: [engine]}\n  - {node: 0, for: [feed]}\n  - {cpus: \"5-7\", for: [feed]}\n",
                          line: 8, column: 12, "reserve[2].cpus overlaps reserve[0] on CPUs 5")
    }

    func testIsolatedCPUsMustBeInTheDeclaredTopology() {
        let text = "version: 1\nhost:\n  topology: {cpus: {0: \"0-3\"}}\n  isolation:\n    isolated: \"2-5\"\n    nohz_full: \"2-3\"\n"
        assertPolicyError(text, line: 5, column: 15, "host.isolation.isolated names CPUs 4-5, which host.topology.cpus does not declare (0-3)")
    }

    func testIsolationMistakesAreLocated() {
        assertPolicyError("version: 1\nhost:\n  isolation: {isolated: \"\"}\n", line: 3, column: 25, "host.isolation.isolated is empty")
        assertPolicyError("version: 1\nhost:\n  isolation: {}\n", line: 3, column: 14, "host.isolation is empty")
        assertPolicyError("version: 1\nhost:\n  isolation: {managed_irq: yes}\n", line: 3, column: 28, "host.isolation.managed_irq must be true or false")
        assertPolicyError("version: 1\nhost:\n  isolation: {workqueue: housekeep}\n", line: 3, column: 26,
                          "host.isolation.workqueue must be housekeeping or a CPU list", suggestion: "housekeeping")
        assertPolicyError("version: 1\nhost:\n  isolation: {isolate: 2}\n", line: 3, column: 15, "unknown key \"isolate\" in host.isolation",
                          suggestion: "isolated")
        assertPolicyError("version: 1\nhost:\n  irqbalance: {}\n", line: 3, column: 15, "host.irqbalance needs \"running\"")
        assertPolicyError("version: 1\nhost:\n  irqbalance: {running: maybe}\n", line: 3, column: 25, "host.irqbalance.running must be true or false")
    }

    func testWaiversMayNameCPUChecks() {
        assertPolicyError("version: 1\nwaivers:\n  - {check: cpu.2.reserve.threads, reason: r, expires: 2030-01-01}\n", line: 3, column: 13,
                          "cpus. for a CPU reservation")
    }
}
