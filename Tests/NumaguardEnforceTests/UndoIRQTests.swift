import Foundation
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import XCTest

/// Undoing an IRQ's affinity: restored like a knob, on the boot it was changed on only, and
/// left alone (reported) when someone changed it since.
final class UndoIRQTests: XCTestCase {
    var path = ""

    override func setUp() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("undo-irq-\(UUID().uuidString).jsonl").path
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: path) }

    func applier(_ host: MemoryHost, _ command: String, _ run: String) throws -> Applier {
        Applier(actuator: host, privileges: Privileges(uid: 0, effective: ["CAP_DAC_OVERRIDE"]), journal: try Journal(path: path),
                command: command, run: run, protection: .none, clock: { "2026-12-02T10:00:00Z" })
    }

    func host() -> MemoryHost {
        let host = MemoryHost()
        for (irq, name) in [(31, "virtio1-input.0"), (32, "virtio1-output.0")] {
            host.knobs["proc/irq/\(irq)/smp_affinity_list"] = "0-3"
            host.irqActions[irq] = name
            host.effective[irq] = IDSet([3])
        }
        return host
    }

    func applied(_ host: MemoryHost) throws -> Undo.Selection {
        let report = try applier(host, "apply", "A").apply([ApplierIRQTests.action(31, "virtio1-input.0", to: "0-1"),
                                                             ApplierIRQTests.action(32, "virtio1-output.0", to: "0-1")])
        XCTAssertEqual(report.results.map(\.outcome), [.done, .done])
        return try XCTUnwrap(try Undo.select(try Journal.read(path)))
    }

    func testUndoRestoresTheRequestedListAndLeavesOneChangedSince() throws {
        let host = host()
        let selection = try applied(host)
        XCTAssertEqual(selection.entries.map(\.subject), ["irq.32.smp_affinity_list", "irq.31.smp_affinity_list"])
        host.knobs["proc/irq/32/smp_affinity_list"] = "2" // irqbalance or an operator, since
        let undo = try applier(host, "undo", "U").undo(selection)
        XCTAssertEqual(undo.results.map(\.outcome), [.skipped, .done])
        XCTAssertEqual(undo.results[0].detail, "changed since that run: it is 2, the run left 0-1; left alone")
        XCTAssertEqual(undo.results[1].detail, "0-1 -> 0-3 (effective CPU 0)")
        XCTAssertEqual(host.knobs["proc/irq/31/smp_affinity_list"], "0-3")
        XCTAssertEqual(host.knobs["proc/irq/32/smp_affinity_list"], "2")
    }

    func testAnEntryFromAnotherBootIsRefused() throws {
        let host = host()
        let selection = try applied(host)
        host.boot = "boot-2"
        host.calls = []
        let undo = try applier(host, "undo", "U").undo(selection)
        XCTAssertEqual(undo.results.map(\.outcome), [.refused, .refused])
        XCTAssertEqual(undo.results[0].detail,
                       "IRQ 32 was recorded on boot boot-1, this is boot boot-2: IRQ numbers are reassigned at boot; nothing written")
        XCTAssertEqual(host.calls, [])
        XCTAssertEqual(host.knobs["proc/irq/31/smp_affinity_list"], "0-1")
    }

    func testAJournalLineStrippedOfItsTargetIsNotUndone() throws {
        let host = host()
        var selection = try applied(host)
        for index in selection.entries.indices { selection.entries[index].irq = nil }
        let undo = try applier(host, "undo", "U").undo(selection)
        XCTAssertEqual(undo.results.map(\.outcome), [.failed, .failed])
        XCTAssertEqual(host.knobs["proc/irq/31/smp_affinity_list"], "0-1")
    }
}
