import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
@testable import NumaguardWatch
import TestSupport
import XCTest

/// watch on isolated and reserved CPUs over copies of the recorded guests: /proc/interrupts as
/// the guest printed it before and after a dd on its NVMe, swapped between samples; the
/// isolated guest's threads (only the probe pinned to CPU 3 is a user thread there). `now`
/// is given, so no clock is involved.
final class IsolationWatchTests: XCTestCase {
    private var copies: [URL] = []

    override func tearDown() {
        for copy in copies { try? FileManager.default.removeItem(at: copy) }
        copies = []
    }

    func host(_ fixture: String) throws -> URL {
        let copy = try Fixtures.copy(fixture)
        copies.append(copy)
        try interrupts(copy, Fixtures.oracle(fixture, "interrupts-before-dd.txt"))
        return copy
    }

    func interrupts(_ root: URL, _ text: String) throws {
        try text.write(to: root.appendingPathComponent("proc/interrupts"), atomically: true, encoding: .utf8)
    }

    func watch(_ root: URL, devices: [HostDevice] = []) throws -> IsolationWatch {
        let host = HostRoot(path: root.path)
        return IsolationWatch(root: host, topology: try TopologyReader.read(host), devices: { _ in DeviceLocality.Inventory(devices: devices) })
    }

    static func policy(_ yaml: String) throws -> Policy { try PolicyLoader.parse(yaml, file: "p.yaml") }

    static let reserveThree = """
        version: 1
        workloads:
          - {name: engine, match: {comm: no-such-engine}}
        reserve:
          - {cpus: "3", for: [engine]}
        """

    static func metrics(_ watch: IsolationWatch) -> String {
        var status = WatchStatus()
        status.isolation = watch.metrics
        return WatchMetrics.render(status)
    }

    func testARecordedPairIsOneInterruptEventAndTheLabelsAreBounded() throws {
        let fixture = "linux-6.1-2node-isolated"
        let root = try host(fixture)
        let watch = try watch(root)
        let policy = try Self.policy(Self.reserveThree)
        let first = watch.sample(policy, now: 0, period: 10, members: [:])
        XCTAssertEqual(first.map(\.kind), [.foreignThread], "the first look: the probe pinned to CPU 3; no interrupt yet (nothing to compare)")
        XCTAssertEqual(first.first?.message, "PID 190 (probe) thread 190 allowed on reserved CPU 3, outside engine (cpus.3)")
        XCTAssertEqual(first.first?.fields.map { "\($0.0)=\($0.1)" }, ["reservation=cpus.3", "kind=allowed", "pid=190", "tid=190"])

        try interrupts(root, Fixtures.oracle(fixture, "interrupts-after-dd.txt"))
        let second = watch.sample(policy, now: 1, period: 10, members: [:])
        XCTAssertEqual(second.map(\.kind), [.interrupt])
        XCTAssertEqual(second.first?.message, "a device interrupt on reserved CPU 3: virtio1-output.0 ×2 in 1 s (cpus.3)")
        XCTAssertEqual(second.first?.fields.map { "\($0.0)=\($0.1)" }, ["reservation=cpus.3", "cpu=3", "source=undeclared"])
        // Still firing at the same count is no new event; a quiet interval ends it.
        XCTAssertEqual(watch.sample(policy, now: 2, period: 10, members: [:]).map(\.kind), [])

        let text = Self.metrics(watch)
        XCTAssertTrue(text.contains(#"numaguard_watch_reserved_interrupts_total{cpus="3",source="undeclared"} 2"#), text)
        XCTAssertTrue(text.contains(#"numaguard_watch_foreign_threads{cpus="3",kind="allowed"} 1"#), text)
        XCTAssertTrue(text.contains(#"numaguard_watch_foreign_threads{cpus="3",kind="last_cpu"} 0"#), text)
        XCTAssertTrue(text.contains("numaguard_watch_isolation_scans_total 1"), text)
        for forbidden in ["virtio", "190", "IRQ", "probe"] {
            XCTAssertFalse(text.split(separator: "\n").contains { $0.hasPrefix("numaguard_watch_") && $0.contains(forbidden) }, forbidden)
        }
        // A protected process of the reservation's workload is no foreign thread.
        let own = try self.watch(root)
        XCTAssertEqual(own.sample(try Self.policy(Self.reserveThree.replacingOccurrences(of: "no-such-engine", with: "probe")),
                                  now: 0, period: 10, members: [190: "engine"]).map(\.kind), [])
    }

    /// The dd's queue vector on a reserved CPU, from a declared device: its rule name is the
    /// label; an event unless the reservation names the device in irqs:.
    func testADeclaredDevicesVectorIsLabelledByItsRuleName() throws {
        let fixture = "linux-6.12-2node-devices"
        let vector = DeviceIRQ(mode: .msix, affinity: IRQAffinity(irq: 35, requested: IDSet([3]), effective: IDSet([3]), actions: "nvme0q2"),
                               managedExpected: true)
        let nvme = HostDevice(kind: .nvme, name: "nvme0", address: PCIAddress(segment: 0, bus: 0x11, device: 0, function: 0), driver: "nvme",
                              pciClass: 0x010802, reportedNode: 0, irqs: [vector])
        let devices = "\ndevices:\n  - {name: journal-disk, match: {driver: nvme}, irqs: {cpus: \"0-1\"}}\n"
        for declared in [false, true] {
            let root = try host(fixture)
            let watch = try watch(root, devices: [nvme])
            let yaml = Self.reserveThree.replacingOccurrences(of: "for: [engine]}", with: "for: [engine]" + (declared ? ", irqs: [journal-disk]}" : "}"))
            let policy = try Self.policy(yaml + devices)
            _ = watch.sample(policy, now: 0, period: 10, members: [:])
            try interrupts(root, Fixtures.oracle(fixture, "interrupts-after-dd.txt"))
            let notes = watch.sample(policy, now: 2, period: 10, members: [:])
            if declared {
                XCTAssertEqual(notes.map(\.kind), [])
            } else {
                XCTAssertEqual(notes.map(\.message), ["a device interrupt on reserved CPU 3: nvme0q2 (journal-disk) ×2000 in 2 s (cpus.3)"])
                XCTAssertEqual(notes.first?.fields.last.map { "\($0.0)=\($0.1)" }, "source=journal-disk")
            }
            let text = Self.metrics(watch)
            for line in [#"{cpus="3",source="journal-disk"} 2000"#, #"{cpus="3",source="LOC"} 116"#, #"{cpus="3",source="CAL"} 2"#,
                         #"{cpus="3",source="RES"} 1"#, #"{cpus="3",source="undeclared"} 0"#] {
                XCTAssertTrue(text.contains("numaguard_watch_reserved_interrupts_total" + line), line + "\n" + text)
            }
            // Its one vector is handled on CPU 3, outside its irqs: CPUs 0-1.
            XCTAssertTrue(text.contains(#"numaguard_watch_device_irqs_off_policy{device="journal-disk"} 1"#), text)
        }
    }

    /// A count gone down by more than a wrap allows (the IRQ freed and reused) is a
    /// counter_reset, never 4 billion interrupts; a wrap is counted right.
    func testAWrapIsCountedAndAReuseIsAReset() throws {
        let root = try host("linux-6.1-2node-isolated")
        let watch = try watch(root)
        let policy = try Self.policy(Self.reserveThree)
        try interrupts(root, """
                       CPU0       CPU1       CPU2       CPU3
             32:          0          0          0 4294967290   PCI-MSI 17301506-edge      virtio1-output.0
             35:          0          0          0       1000   PCI-MSI 8912898-edge      nvme0q2
            """)
        _ = watch.sample(policy, now: 0, period: 3600, members: [:])
        try interrupts(root, """
                       CPU0       CPU1       CPU2       CPU3
             32:          0          0          0          4   PCI-MSI 17301506-edge      virtio1-output.0
             35:          0          0          0          5   PCI-MSI 8912898-edge      nvme0q2
            """)
        let notes = watch.sample(policy, now: 1, period: 3600, members: [:])
        XCTAssertEqual(notes.map(\.kind), [.counterReset, .interrupt])
        XCTAssertEqual(notes.first?.message, "nvme0q2 on CPU 3 restarted its count (the IRQ was freed and reused): not counted this interval")
        XCTAssertEqual(notes.last?.message, "a device interrupt on reserved CPU 3: virtio1-output.0 ×10 in 1 s (cpus.3)")
        XCTAssertTrue(Self.metrics(watch).contains(#"numaguard_watch_reserved_interrupts_total{cpus="3",source="undeclared"} 10"#))
    }

    /// The thread scan runs every isolation period, /proc/interrupts every sample: 26 samples
    /// a second apart with a 10 s period scan at 0, 10 and 20. A policy without isolation or
    /// reservations reads nothing.
    func testTheScanPeriodIsHonoured() throws {
        let root = try host("linux-6.1-2node-isolated")
        let watch = try watch(root)
        let policy = try Self.policy(Self.reserveThree)
        var foreign: [Int] = []
        for second in 0...25 where watch.sample(policy, now: Double(second), period: 10, members: [:]).contains(where: { $0.kind == .foreignThread }) {
            foreign.append(second)
        }
        XCTAssertEqual(watch.metrics.scans, 3)
        XCTAssertEqual(foreign, [0], "a thread still there is reported once, not every scan")

        let none = try self.watch(root)
        try FileManager.default.removeItem(at: root.appendingPathComponent("proc/interrupts"))
        XCTAssertEqual(none.sample(try Self.policy("version: 1\n"), now: 0, period: 10, members: [:]).count, 0, "nothing read, nothing unreadable")
        XCTAssertEqual(none.metrics.scans, 0)
    }
}
