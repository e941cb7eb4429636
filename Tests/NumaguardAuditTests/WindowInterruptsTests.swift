import Foundation
@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// certify's window on isolated and reserved CPUs, over recorded guests: /proc/interrupts as
/// the guest printed it before and after a dd on its NVMe (the sleeper swaps the files, so no
/// clock is involved), and the protected threads' task status.
final class WindowInterruptsTests: XCTestCase {
    private var copies: [URL] = []

    override func tearDown() {
        for copy in copies { try? FileManager.default.removeItem(at: copy) }
        copies = []
    }

    static let day = Day(year: 2026, month: 12, day: 2)

    /// A copy of `fixture` whose proc/interrupts is the one read before the dd.
    func host(_ fixture: String) throws -> URL {
        let copy = try Fixtures.copy(fixture)
        copies.append(copy)
        try Fixtures.oracle(fixture, "interrupts-before-dd.txt").write(to: copy.appendingPathComponent("proc/interrupts"), atomically: true, encoding: .utf8)
        return copy
    }

    static func after(_ fixture: String, _ root: URL) {
        try? Fixtures.oracle(fixture, "interrupts-after-dd.txt").write(to: root.appendingPathComponent("proc/interrupts"), atomically: true, encoding: .utf8)
    }

    func certify(_ root: URL, _ yaml: String, seconds: Double = 2, during: @escaping () -> Void) throws -> AuditReport {
        let loaded = try IsolationTestHost.loaded(yaml)
        let host = HostRoot(path: root.path)
        let window = CertificationWindow(root: host, seconds: seconds, sleep: { (_: Double) throws(SystemCallError) in during() })
        return try window.certify(policy: loaded.policy, today: Self.day) { () throws(Auditor.Failure) in
            try Auditor.audit(root: host, policy: loaded, today: Self.day)
        }
    }

    static let reserveThree = """
        version: 1
        workloads:
          - name: engine
            match: {comm: "no-such-engine"}
            protected: true
        reserve:
          - {cpus: "3", for: [engine]}
        """

    func testTheDdsNVMeInterruptsOnAReservedCPUAreOneFinding() throws {
        let fixture = "linux-6.12-2node-devices"
        let root = try host(fixture)
        let report = try certify(root, Self.reserveThree) { Self.after(fixture, root) }
        let window = report.findings.filter { $0.check.description.contains("window") && $0.check.description != "host.window.migrations" }
        XCTAssertEqual(window.map(\.check.description), ["cpus.3.window.interrupts", "workload.engine.window.nonvoluntary_switches"])
        let interrupts = window[0]
        XCTAssertEqual(interrupts.outcome, .fail)
        XCTAssertEqual(interrupts.severity, .critical)
        XCTAssertEqual(interrupts.subject, "CPUs 3")
        XCTAssertEqual(interrupts.expected, "no device interrupt on CPUs 3 during the 2s window")
        XCTAssertEqual(interrupts.actual, "CPU 3: nvme0q2 ×2000 (1000/s); timers and IPIs (info, not judged; LOC near HZ per second "
                       + "is normal on a CPU without nohz_full): LOC ×116, CAL ×2, RES ×1")
        XCTAssertTrue(interrupts.remediation.contains("isolcpus=managed_irq,3"), interrupts.remediation)
        XCTAssertEqual(window[1].outcome, .pass)
        XCTAssertEqual(window[1].severity, .info)
        XCTAssertEqual(window[1].actual, "no process of engine running")
        XCTAssertEqual(report.status, .violations)
    }

    /// The same interrupts from a device the reservation declares in `irqs:` pass, named.
    func testADeclaredDevicesInterruptsPass() throws {
        let fixture = "linux-6.12-2node-devices"
        let root = try host(fixture)
        let loaded = try IsolationTestHost.loaded(Self.reserveThree.replacingOccurrences(of: "for: [engine]}", with: "for: [engine], irqs: [journal-disk]}") + """

            devices:
              - {name: journal-disk, match: {driver: nvme}}
            """)
        let hostRoot = HostRoot(path: root.path)
        var state = try HostStateReader.read(root: hostRoot, policy: loaded)
        // The device reader's inventory, as it reports the guest's controller (IRQ 35 is nvme0q2).
        let vector = DeviceIRQ(mode: .msix, affinity: IRQAffinity(irq: 35, requested: IDSet([3]), effective: IDSet([3]), actions: "nvme0q2"),
                               managedExpected: true)
        state.devices = DeviceLocality.Inventory(devices: [
            HostDevice(kind: .nvme, name: "nvme0", address: PCIAddress(segment: 0, bus: 0x11, device: 0, function: 0), driver: "nvme",
                       pciClass: 0x010802, reportedNode: 0, irqs: [vector]),
        ])
        let before = try IsolationCounters.read(hostRoot, threads: false)
        Self.after(fixture, root)
        let after = try IsolationCounters.read(hostRoot, threads: false)
        let findings = WindowIsolationChecks.judge(policy: loaded.policy, state: state, before: before, after: after, seconds: 2)
        XCTAssertEqual(findings.map(\.check.description), ["cpus.3.window.interrupts"])
        XCTAssertEqual(findings[0].outcome, .pass)
        XCTAssertEqual(findings[0].expected, "no device interrupt on CPUs 3 except journal-disk's during the 2s window")
        XCTAssertTrue(findings[0].actual.hasPrefix("no device interrupt; declared: CPU 3: nvme0q2 (journal-disk) ×2000 (1000/s); "), findings[0].actual)
    }

    /// The isolated guest (isolcpus=managed_irq,domain,3 nohz_full=3; irqbalance put virtio1's
    /// output vector on CPU 3): the isolated CPU took it twice during the dd; the probe pinned
    /// there is a protected workload whose involuntary switches grew.
    func testIsolatedCPUsInterruptsAndAPinnedProtectedThreadsSwitches() throws {
        let fixture = "linux-6.1-2node-isolated"
        let root = try host(fixture)
        let status = root.appendingPathComponent("proc/190/task/190/status")
        let text = try String(contentsOf: status, encoding: .utf8)
        let switches = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("nonvoluntary_ctxt_switches:") })
        let count = try XCTUnwrap(Int(switches.split(separator: "\t").last ?? ""))
        let report = try certify(root, """
            version: 1
            host:
              isolation: {isolated: "3", nohz_full: "3"}
            workloads:
              - name: probe
                match: {comm: probe}
                protected: true
            """, seconds: 4) {
            Self.after(fixture, root)
            try? text.replacingOccurrences(of: String(switches), with: "nonvoluntary_ctxt_switches:\t\(count + 6)")
                .write(to: status, atomically: true, encoding: .utf8)
        }
        let window = report.findings.filter { $0.check.description.contains("window") && $0.check.description != "host.window.migrations" }
        XCTAssertEqual(window.map(\.check.description), ["host.isolation.window.interrupts", "workload.probe.window.nonvoluntary_switches"])
        XCTAssertEqual(window[0].outcome, .fail)
        XCTAssertEqual(window[0].subject, "isolated CPUs 3")
        XCTAssertEqual(window[0].actual, "CPU 3: virtio1-output.0 ×2 (0.5/s)")
        XCTAssertEqual(window[1].severity, .warning, "PID 190 runs on the isolated CPU")
        XCTAssertEqual(window[1].outcome, .fail)
        XCTAssertEqual(window[1].pid, 190)
        XCTAssertEqual(window[1].actual, "PID 190 (probe) thread 190 on CPU 3: +6 (1.5/s); elsewhere: +0 in 0 threads")
    }

    /// A reserved CPU that went offline between the readings cannot be certified: incomplete,
    /// and the finding says which.
    func testACPUGoingOfflineDuringTheWindowIsSaid() throws {
        let fixture = "linux-6.12-2node-devices"
        let root = try host(fixture)
        let offline = try Self.withoutCPU3(Fixtures.oracle(fixture, "interrupts-before-dd.txt"))
        let policy = Self.reserveThree.replacingOccurrences(of: "cpus: \"3\"", with: "cpus: \"2-3\"")
        let report = try certify(root, policy) {
            try? offline.write(to: root.appendingPathComponent("proc/interrupts"), atomically: true, encoding: .utf8)
        }
        let finding = try XCTUnwrap(report.findings.first { $0.check.description == "cpus.2-3.window.interrupts" })
        XCTAssertEqual(finding.outcome, .fail, "CPU 2 still took a device interrupt")
        XCTAssertTrue(finding.actual.hasPrefix("CPU 2: nvme0q1 ×1 (0.5/s)"), finding.actual)
        XCTAssertTrue(finding.actual.hasSuffix("; CPU 3 went offline during the window: not compared"), finding.actual)
    }

    /// The recorded table with CPU 3's column gone and nvme0q1 (IRQ 34) once more on CPU 2.
    static func withoutCPU3(_ text: String) -> String {
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var words: [String] = line.split(separator: " ").map(String.init)
            if words.first == "CPU0" {
                out.append("           CPU0       CPU1       CPU2")
                continue
            }
            guard words.count >= 5, words[0].hasSuffix(":"), words[0] != "ERR:", words[0] != "MIS:" else {
                out.append(String(line))
                continue
            }
            words.remove(at: 4)
            if words[0] == "34:" { words[3] = String((Int(words[3]) ?? 0) + 1) }
            out.append(words.joined(separator: " "))
        }
        return out.joined(separator: "\n")
    }
}
