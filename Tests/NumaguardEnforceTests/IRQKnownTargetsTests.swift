import NumaguardCore
import NumaguardEnforce
import XCTest

/// The IRQ knob's allow-list: a saved plan or a journal is a file anyone with write access can
/// edit, so an IRQ knob is rebuilt from its number, and its value must be a CPU list in the
/// spelling numaguard itself writes.
final class IRQKnownTargetsTests: XCTestCase {
    func testOnlyThePlannersOwnSpellingNamesAnIRQ() {
        XCTAssertEqual(KnownTargets.knob(named: "irq.51.smp_affinity_list"), Knob.irqAffinity(irq: 51))
        XCTAssertEqual(Knob.irqAffinity(irq: 51).path, "proc/irq/51/smp_affinity_list")
        XCTAssertEqual(KnownTargets.knob(named: "irq.0.smp_affinity_list")?.path, "proc/irq/0/smp_affinity_list")
        XCTAssertEqual(KnownTargets.knob(named: "irq.1048575.smp_affinity_list")?.path, "proc/irq/1048575/smp_affinity_list")
        for forged in ["irq.01.smp_affinity_list", "irq.+5.smp_affinity_list", "irq.5/../../x.smp_affinity_list",
                       "irq.5/../../../etc/passwd", "irq.1048576.smp_affinity_list", "irq..smp_affinity_list",
                       "irq.5.smp_affinity", "irq.5.smp_affinity_list\n", "irq. 5.smp_affinity_list", "irq.-1.smp_affinity_list",
                       "irq.99999999999999999999999.smp_affinity_list"] {
            XCTAssertNil(KnownTargets.knob(named: forged), forged)
        }
    }

    func testARecordedPathOrKindOtherThanTheRebuiltOneIsRefused() {
        let forged = Knob(name: "irq.5.smp_affinity_list", path: "proc/sys/kernel/core_pattern", kind: .irqAffinity)
        XCTAssertEqual(KnownTargets.refusal(forged), "irq.5.smp_affinity_list is recorded with path /proc/sys/kernel/core_pattern "
                       + "(irq_affinity); numaguard writes it at /proc/irq/5/smp_affinity_list (irq_affinity) only; nothing written")
        let kind = Knob(name: "irq.5.smp_affinity_list", path: "proc/irq/5/smp_affinity_list", kind: .sysctl)
        XCTAssertNotNil(KnownTargets.refusal(kind))
        XCTAssertNil(KnownTargets.refusal(Knob.irqAffinity(irq: 5)))
    }

    func testAValueIsACanonicalCPUListOfAtMost4096Bytes() {
        let knob = Knob.irqAffinity(irq: 5)
        for good in ["0", "0-1", "0-3,8,10-11", "8191"] {
            XCTAssertNil(KnownTargets.refusal(knob, value: good), good)
        }
        for bad in ["", "0-3\nkernel.x=1", "0,1", "1-1", "0-1\n", " 0-1", "3-1", "ff", "0-", "all", "0-3 ", "-1"] {
            XCTAssertNotNil(KnownTargets.refusal(knob, value: bad), bad)
        }
        let long = (0..<2000).map { "\($0 * 2)" }.joined(separator: ",")
        XCTAssertGreaterThan(long.utf8.count, 4096)
        XCTAssertEqual(KnownTargets.refusal(knob, value: long), "irq.5.smp_affinity_list does not take \"\(long.prefix(64))\" from numaguard; nothing written")
        let fits = (0..<900).map { "\($0 * 2)" }.joined(separator: ",")
        XCTAssertLessThanOrEqual(fits.utf8.count, 4096)
        XCTAssertNil(KnownTargets.refusal(knob, value: fits))
    }

    func testValuesAreComparedInTheCanonicalSpelling() {
        let knob = Knob.irqAffinity(irq: 5)
        XCTAssertEqual(knob.value(of: "0,1\n"), "0-1")
        XCTAssertEqual(knob.value(of: "0-1\n"), knob.value(of: "0,1"))
        XCTAssertEqual(knob.value(of: "\n"), "")
        XCTAssertEqual(knob.value(of: "garbage\n"), "garbage", "not a list: kept as read, so it never equals a list")
    }

    func testAnApplyOfAForgedIRQKnobIsRefusedBeforeAnythingIsRead() throws {
        let host = MemoryHost()
        host.knobs["proc/irq/5/smp_affinity_list"] = "0-3"
        let forged = Knob(name: "irq.05.smp_affinity_list", path: "proc/irq/5/smp_affinity_list", kind: .irqAffinity)
        var injected = Action(kind: .setKnob, checks: [], subject: "irq.5.smp_affinity_list", knob: .irqAffinity(irq: 5),
                              value: "0-3\nkernel.x=1", before: "0-3", after: "0")
        injected.irq = IRQTarget(irq: 5, actions: "x", device: nil, bootID: "boot-1")
        var renamed = injected
        renamed.knob = forged
        renamed.value = "0"
        let applier = Applier(actuator: host, privileges: Privileges(uid: 0, effective: ["CAP_DAC_OVERRIDE"]), journal: nil,
                              command: "apply", run: "r", protection: .none)
        let report = applier.apply([injected, renamed])
        XCTAssertEqual(report.results.map(\.outcome), [.refused, .refused])
        XCTAssertEqual(host.calls, [])
        XCTAssertEqual(host.knobs["proc/irq/5/smp_affinity_list"], "0-3")
    }
}
