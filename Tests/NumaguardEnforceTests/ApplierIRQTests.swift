import Foundation
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import XCTest

/// Applying an IRQ's affinity: over the in-memory host (EIO and EPERM as 6.1 and 6.12 answer
/// for managed vectors), and with the live actuator over a temporary root laid out as
/// proc/irq and sys/kernel/irq are (real files, real open/write/read, the poll's waits driven
/// by the test instead of the clock).
final class ApplierIRQTests: XCTestCase {
    var directory = URL(fileURLWithPath: "/nonexistent")
    var journalPath: String { directory.appendingPathComponent("journal.jsonl").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("irq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        _ = try? run("/usr/bin/chattr", ["-R", "-i", directory.path])
        try? FileManager.default.removeItem(at: directory)
    }

    static func action(_ irq: Int, _ actions: String?, to cpus: String, boot: String? = "boot-1") -> Action {
        let knob = Knob.irqAffinity(irq: irq)
        var action = Action(kind: .setKnob, checks: ["device.md-nic.irqs.effective"], subject: knob.name, knob: knob, value: cpus,
                            before: "0-3", after: cpus, requires: [Requirement("CAP_DAC_OVERRIDE", why: "root's", exceptUID: 0)])
        action.irq = IRQTarget(irq: irq, actions: actions, device: "md-nic", bootID: boot)
        return action
    }

    func applier(_ actuator: any Actuator, command: String = "apply", run: String = "run-1") throws -> Applier {
        Applier(actuator: actuator, privileges: Privileges(uid: 0, effective: ["CAP_DAC_OVERRIDE"]), journal: try Journal(path: journalPath),
                command: command, run: run, protection: .none, clock: { "2026-12-02T10:00:00Z" })
    }

    func memoryHost() -> MemoryHost {
        let host = MemoryHost()
        for (irq, name, effective) in [(31, "virtio1-input.0", 3), (35, "nvme0q2", 2), (36, "nvme0q3", 3)] {
            host.knobs["proc/irq/\(irq)/smp_affinity_list"] = "0-3"
            host.irqActions[irq] = name
            host.effective[irq] = IDSet([effective])
        }
        return host
    }

    // MARK: in memory

    func testManagedVectorsAreRefusedOnEIOAndEPERMAndTheRestIsDone() throws {
        let host = memoryHost()
        host.unwritable = [35: .ioError, 36: .notPermitted]
        var journaled: [String] = []
        host.beforeChange = { _ in journaled = ((try? Journal.read(self.journalPath)) ?? []).map { "\($0.phase?.rawValue ?? "outcome") \($0.subject)" } }
        let report = try applier(host).apply([Self.action(31, "virtio1-input.0", to: "0-1"), Self.action(35, "nvme0q2", to: "0-1"),
                                              Self.action(36, "nvme0q3", to: "0-1")])
        XCTAssertEqual(report.results.map(\.outcome), [.done, .refused, .refused])
        XCTAssertEqual(report.results[0].detail, "0-3 -> 0-1 (effective CPU 0)")
        XCTAssertEqual(report.results[1].detail, "IRQ 35 (nvme0q2) is managed or per-CPU: its affinity cannot be written from user space "
                       + "(the kernel answered Input/output error); left at 0-3")
        XCTAssertTrue(report.results[2].detail.contains("(the kernel answered Operation not permitted)"), report.results[2].detail)
        XCTAssertEqual(host.knobs["proc/irq/35/smp_affinity_list"], "0-3")
        XCTAssertEqual(report.status, .violations)
        // Write-ahead: the intent was on disk before the last write was attempted.
        XCTAssertEqual(journaled.last, "intent irq.36.smp_affinity_list")
        let outcomes = try Journal.read(journalPath).filter { !$0.isIntent }
        XCTAssertEqual(outcomes.map(\.result), [.done, .refused, .refused], "a refusal by the kernel is recorded: it confirms the managed status")
        XCTAssertEqual(outcomes[0].irq, IRQTarget(irq: 31, actions: "virtio1-input.0", device: "md-nic", bootID: "boot-1"))
        XCTAssertEqual([outcomes[0].before, outcomes[0].after], ["0-3", "0-1"])
    }

    func testALaggingEffectiveListIsPartialAfterTenPolls() throws {
        let host = memoryHost()
        host.lagging = [31]
        let report = try applier(host).apply([Self.action(31, "virtio1-input.0", to: "0-1")])
        XCTAssertEqual(report.results.map(\.outcome), [.partial])
        XCTAssertEqual(report.results[0].detail, "requested 0-1; effective still CPU 3: the chip moves it at the next interrupt")
        XCTAssertEqual(host.pauses, 10)
        XCTAssertEqual(host.knobs["proc/irq/31/smp_affinity_list"], "0-1")
        // An effective list still off when the request is already right is not "unchanged".
        host.pauses = 0
        let again = try applier(host, run: "run-2").apply([Self.action(31, "virtio1-input.0", to: "0-1")])
        XCTAssertEqual(again.results.map(\.outcome), [.partial])
        XCTAssertEqual(again.results[0].detail, "requested 0-1 already; effective still CPU 3: the chip moves it at the next interrupt")
        XCTAssertEqual(host.pauses, 0, "nothing written: nothing to wait for")
    }

    func testARenamedHandlerOrAnotherBootIsNeverWritten() throws {
        let host = memoryHost()
        host.irqActions[31] = "nvme1q1"
        host.irqActions[35] = nil
        let report = try applier(host).apply([Self.action(31, "virtio1-input.0", to: "0-1"), Self.action(35, "nvme0q2", to: "0-1"),
                                              Self.action(36, "nvme0q3", to: "0-1", boot: "boot-0"), Self.action(36, "nvme0q3", to: "0-1", boot: nil)])
        XCTAssertEqual(report.results.map(\.outcome), [.skipped, .skipped, .refused, .refused])
        XCTAssertEqual(report.results[0].detail, "IRQ 31 is now \"nvme1q1\", planned for \"virtio1-input.0\": not the same interrupt; nothing written")
        XCTAssertEqual(report.results[1].detail, "IRQ 35 is now freed, planned for \"nvme0q2\": not the same interrupt; nothing written")
        XCTAssertEqual(report.results[2].detail, "IRQ 36 was recorded on boot boot-0, this is boot boot-1: IRQ numbers are reassigned at boot; nothing written")
        XCTAssertEqual(host.calls, [])
        XCTAssertEqual(try Journal.read(journalPath).map(\.result), [.skipped, .skipped, .refused, .refused], "each journaled, no intent")
    }

    /// A handler's name is compared byte for byte: `e\u{301}th0-rx` is another interrupt than
    /// `\u{E9}th0-rx`, though equal as Strings.
    func testAHandlerEqualOnlyAsAStringIsNotTheSame() throws {
        let host = memoryHost()
        host.irqActions[31] = "e\u{301}th0-rx"
        XCTAssertEqual("e\u{301}th0-rx", "\u{E9}th0-rx")
        let report = try applier(host).apply([Self.action(31, "\u{E9}th0-rx", to: "0-1")])
        XCTAssertEqual(report.results.map(\.outcome), [.skipped])
        XCTAssertEqual(host.calls, [])
    }

    func testAnIRQKnobWithoutItsTargetIsNotWritten() throws {
        let host = memoryHost()
        var action = Self.action(31, "virtio1-input.0", to: "0-1")
        action.irq = nil
        var other = Self.action(31, "virtio1-input.0", to: "0-1")
        other.irq?.irq = 35
        let report = try applier(host).apply([action, other])
        XCTAssertEqual(report.results.map(\.outcome), [.failed, .failed])
        XCTAssertEqual(host.calls, [])
    }

    // MARK: a real directory

    /// proc/irq/N/{smp_affinity_list,effective_affinity_list}, sys/kernel/irq/N/actions, boot_id.
    func realRoot(irq: Int = 31, actions: String = "virtio1-input.0", effective: String = "3") throws -> HostRoot {
        try write("proc/sys/kernel/random/boot_id", "boot-1\n")
        try write("proc/irq/\(irq)/smp_affinity_list", "0-3\n")
        try write("proc/irq/\(irq)/effective_affinity_list", "\(effective)\n")
        try write("sys/kernel/irq/\(irq)/actions", "\(actions)\n")
        return HostRoot(path: directory.path)
    }

    func write(_ relative: String, _ text: String) throws {
        let url = directory.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: false, encoding: .utf8)
    }

    func read(_ relative: String) throws -> String { try String(contentsOf: directory.appendingPathComponent(relative), encoding: .utf8) }

    func testTheEffectiveListFollowsOnTheThirdPollAndTheFileHoldsTheWrittenList() throws {
        let root = try realRoot()
        var waits: [Double] = []
        let actuator = LiveActuator(root: root, dropIn: "/nonexistent", wait: { seconds in
            waits.append(seconds)
            if waits.count == 3 { try? self.write("proc/irq/31/effective_affinity_list", "1\n") }
        })
        let report = try applier(actuator).apply([Self.action(31, "virtio1-input.0", to: "0-1")])
        XCTAssertEqual(report.results.map(\.outcome), [.done], report.results.map(\.detail).joined())
        XCTAssertEqual(report.results[0].detail, "0-3 -> 0-1 (effective CPU 1)")
        XCTAssertEqual(waits, [0.1, 0.1, 0.1])
        XCTAssertEqual(try read("proc/irq/31/smp_affinity_list"), "0-1\n")
    }

    func testARealFileWhoseEffectiveListNeverMovesIsPartial() throws {
        let root = try realRoot()
        var waits = 0
        let actuator = LiveActuator(root: root, dropIn: "/nonexistent", wait: { _ in waits += 1 })
        let report = try applier(actuator).apply([Self.action(31, "virtio1-input.0", to: "0-1")])
        XCTAssertEqual(report.results.map(\.outcome), [.partial])
        XCTAssertEqual(report.results[0].detail, "requested 0-1; effective still CPU 3: the chip moves it at the next interrupt")
        XCTAssertEqual(waits, 10)
    }

    func testARealHandlerRenamedSinceThePlanIsSkipped() throws {
        let root = try realRoot(actions: "virtio2-input.0")
        let actuator = LiveActuator(root: root, dropIn: "/nonexistent", wait: { _ in })
        let report = try applier(actuator).apply([Self.action(31, "virtio1-input.0", to: "0-1")])
        XCTAssertEqual(report.results.map(\.outcome), [.skipped])
        XCTAssertEqual(try read("proc/irq/31/smp_affinity_list"), "0-3\n", "never written")
    }

    /// An immutable file answers a write with EPERM, which is what 6.12 answers for a managed
    /// vector: the real open(2) and its errno through the funnel, not a stand-in.
    func testARealEPERMIsRefusedAsManaged() throws {
        let root = try realRoot(irq: 35, actions: "nvme0q2", effective: "2")
        let file = directory.appendingPathComponent("proc/irq/35/smp_affinity_list").path
        guard getuid() == 0, (try? run("/usr/bin/chattr", ["+i", file])) == 0 else {
            throw XCTSkip("needs root and chattr on a filesystem with the immutable flag")
        }
        let actuator = LiveActuator(root: root, dropIn: "/nonexistent", wait: { _ in })
        let report = try applier(actuator).apply([Self.action(35, "nvme0q2", to: "0-1")])
        XCTAssertEqual(report.results.map(\.outcome), [.refused])
        XCTAssertEqual(report.results[0].detail, "IRQ 35 (nvme0q2) is managed or per-CPU: its affinity cannot be written from user space "
                       + "(the kernel answered Operation not permitted); left at 0-3")
        XCTAssertEqual(try read("proc/irq/35/smp_affinity_list"), "0-3\n")
    }

    @discardableResult
    func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
