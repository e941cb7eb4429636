@testable import NumaguardAudit
import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// cpus.LIST.reserve.*: foreign user threads, kernel threads, device interrupts and the
/// workqueue mask on reserved CPUs, over hand-built states and one real pinned process.
final class CPUReservationChecksTests: XCTestCase {
    private let policy = """
        version: 1
        workloads:
          - {name: engine, match: {comm: engine}}
        reserve:
          - {cpus: "2-3", for: [engine]}
        """

    func testForeignThreadsAreNamedConfinedOnesFirst() throws {
        let threads = [
            IsolationTestHost.thread(1, comm: "systemd", allowed: IDSet(0...3)),
            IsolationTestHost.thread(40, comm: "engine", allowed: IDSet([2, 3]), last: 2),
            IsolationTestHost.thread(41, comm: "engine", allowed: IDSet([2]), last: 2),
            IsolationTestHost.thread(77, comm: "java", allowed: IDSet(0...3)),
            IsolationTestHost.thread(77, 78, comm: "GC\u{1B}[31m", allowed: IDSet(0...3)),
            IsolationTestHost.thread(900, comm: "probe", allowed: IDSet([3]), last: 3),
            IsolationTestHost.thread(901, comm: "moved", allowed: IDSet([0]), last: 3),
            IsolationTestHost.thread(2, comm: "kthreadd", allowed: IDSet(0...3), kernel: true),
            IsolationTestHost.thread(30, comm: "ksoftirqd/2", allowed: IDSet([2]), kernel: true),
            IsolationTestHost.thread(31, comm: "irq/51-nvme0q2", allowed: IDSet([3]), kernel: true),
            IsolationTestHost.thread(32, comm: "kworker/0:1", allowed: IDSet([0]), kernel: true),
        ]
        var state = IsolationTestHost.state(threads: threads)
        state.owner = [40: "engine", 41: "engine"]
        state.claimants = [40: ["engine"], 41: ["engine"]]
        let findings = Evaluation.findings(try IsolationTestHost.loaded(policy), state)
        XCTAssertEqual(IsolationTestHost.lines(findings), ["cpus.2-3.reserve.threads fail [CPUs 2-3]", "cpus.2-3.reserve.last_cpu fail [CPUs 2-3]",
                                                           "cpus.2-3.reserve.kernel_threads fail [CPUs 2-3]", "cpus.2-3.reserve.workqueue pass [CPUs 2-3]"])
        XCTAssertEqual(findings[0].severity, .critical)
        XCTAssertEqual(findings[0].expected, "no user thread outside engine allowed on CPUs 2-3")
        XCTAssertEqual(findings[0].actual, "4 threads in 3 processes: PID 900 (probe) 3, PID 1 (systemd) 0-3, PID 77 (java, 2 threads) 0-3")
        XCTAssertNil(findings[0].pid)
        XCTAssertEqual(findings[1].severity, .warning)
        XCTAssertEqual(findings[1].actual, "1 thread in 1 process: PID 901 (moved) last on CPU 3")
        XCTAssertEqual(findings[1].pid, 901)
        XCTAssertEqual(findings[2].severity, .info)
        XCTAssertEqual(findings[2].actual, "per-CPU bound (expected): 1 (ksoftirqd/2); unbound: 1 (kthreadd 0-3); "
                       + "interrupt threads: 1 (irq/51-nvme0q2 (IRQ 51) 3)")
    }

    func testMoreThanFiveProcessesAreCountedAndEscaped() throws {
        let threads = (100..<108).map { IsolationTestHost.thread($0, comm: $0 == 100 ? "x\u{1B}y" : "p\($0)", allowed: IDSet(0...3)) }
        let findings = Evaluation.findings(try IsolationTestHost.loaded(policy), IsolationTestHost.state(threads: threads))
        XCTAssertEqual(findings.first?.actual, "8 threads in 8 processes: PID 100 (x\\x1by) 0-3, PID 101 (p101) 0-3, PID 102 (p102) 0-3, "
                       + "PID 103 (p103) 0-3, PID 104 (p104) 0-3, …")
    }

    func testDeviceInterruptsOnReservedCPUsOneFindingEach() throws {
        let irqs = [
            IRQAffinity(irq: 45, requested: IDSet(0...3), effective: IDSet([3]), actions: "virtio1-input.0"),
            IRQAffinity(irq: 51, requested: IDSet([3]), effective: IDSet([3]), actions: "nvme0q2"),
            IRQAffinity(irq: 60, requested: IDSet(0...3), effective: IDSet([0]), actions: "ahci"),
            IRQAffinity(irq: 61, requested: IDSet(0...3), effective: IDSet(), actions: "idle"),
            IRQAffinity(irq: 62, requested: IDSet(0...3), effective: nil, actions: nil),
            IRQAffinity(irq: 63, requested: IDSet([2]), effective: IDSet([2]), actions: ""),
        ]
        var state = IsolationTestHost.state(irqs: irqs)
        // IRQ 51 is a vector of the device the reservation names in irqs: (journal-disk).
        state.devices = DeviceLocality.Inventory(devices: [
            HostDevice(kind: .nvme, name: "nvme0", address: nil, driver: "nvme", pciClass: nil, reportedNode: 1,
                       irqs: [DeviceIRQ(mode: .msix, affinity: irqs[1], managedExpected: true)]),
        ])
        let named = try IsolationTestHost.loaded("""
            version: 1
            devices:
              - {name: journal-disk, match: {driver: nvme}}
            workloads:
              - {name: engine, match: {comm: engine}}
            reserve:
              - {cpus: "2-3", for: [engine], irqs: [journal-disk]}
            """)
        let findings = Evaluation.findings(named, state).filter { $0.check == "cpus.2-3.reserve.irqs" }
        XCTAssertEqual(findings.map(\.subject), ["IRQ 45 (virtio1-input.0)", "IRQ 61 (idle)", "IRQ 62"])
        XCTAssertEqual(findings.map(\.actual), ["effective CPU 3 (requested 0-3)", "requested 0-3 (not started: no effective CPU yet)",
                                                "requested 0-3 (effective affinity unknown)"])
        XCTAssertEqual(findings.first?.expected, "no device interrupt targets CPUs 2-3 except journal-disk's")
        XCTAssertTrue(findings.allSatisfy { $0.outcome == .fail && $0.severity == .critical && $0.pid == nil })
        let clean = Evaluation.findings(try IsolationTestHost.loaded(policy), IsolationTestHost.state(irqs: [irqs[2]]))
        XCTAssertEqual(IsolationTestHost.lines(clean), ["cpus.2-3.reserve.irqs pass [CPUs 2-3]", "cpus.2-3.reserve.workqueue pass [CPUs 2-3]"])
    }

    func testTheWorkqueueMaskOnReservedCPUsWarns() throws {
        let findings = Evaluation.findings(try IsolationTestHost.loaded(policy), IsolationTestHost.state(workqueue: IDSet(0...3)))
        let workqueue = try XCTUnwrap(findings.first { $0.check == "cpus.2-3.reserve.workqueue" })
        XCTAssertEqual(workqueue.outcome, .fail)
        XCTAssertEqual(workqueue.severity, .warning)
        XCTAssertEqual(workqueue.actual, "0000000f (0-3)")
        XCTAssertEqual(workqueue.remediation, "echo 00000003 > /sys/devices/virtual/workqueue/cpumask (manual: numaguard does not write it)")
    }

    /// A real child pinned with sched_setaffinity to CPU 1, and a policy reserving CPU 1 for
    /// another workload: the live audit names it (confined threads come first in the list).
    func testARealProcessPinnedToAReservedCPUIsNamed() throws {
        let online = try IDListParser.parse(try String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8))
        guard online.contains(1) else { throw XCTSkip("needs CPU 1 online") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("resv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let comm = "ngr\(getpid() % 100_000)"
        let sleeper = directory.appendingPathComponent(comm).path
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: sleeper)
        let child = try Child(sleeper, ["300"])
        try Affinity.set(IDSet([1]), tid: child.pid)
        let policy = try IsolationTestHost.loaded("""
            version: 1
            workloads:
              - {name: engine, match: {comm: ngr-none-such}}
            reserve:
              - {cpus: 1, for: [engine]}
            """)
        let state = try HostStateReader.read(root: .live, policy: policy)
        let threads = try XCTUnwrap(state.threads?.threads.filter { $0.pid == Int(child.pid) })
        XCTAssertEqual(threads.map(\.allowed), [IDSet([1])])
        let finding = try XCTUnwrap(Evaluation.findings(policy, state).first { $0.check == "cpus.1.reserve.threads" })
        XCTAssertEqual(finding.outcome, .fail)
        XCTAssertTrue(finding.actual.contains("PID \(child.pid) (\(comm)) 1"), finding.actual)
        XCTAssertFalse(state.threads?.threads.contains { $0.pid == Int(getpid()) } ?? true, "the audit leaves itself out")
        XCTAssertFalse(state.irqScan?.irqs.isEmpty ?? true, "every proc/irq entry read")
        XCTAssertNotNil(state.isolation?.workqueueCPUs)
    }
}
