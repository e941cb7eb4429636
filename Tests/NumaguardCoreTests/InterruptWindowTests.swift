import Foundation
import NumaguardCore
import XCTest

/// Two readings of /proc/interrupts compared: recorded pairs from the QEMU guests (a dd on the
/// NVMe between them), a 32-bit wrap, a reused IRQ number, a CPU going offline.
final class InterruptWindowTests: XCTestCase {
    static func recorded(_ fixture: String, _ file: String) throws -> InterruptTable {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(fixture)/oracle/\(file)")
        return try InterruptsParser.parse(try String(contentsOf: url, encoding: .utf8))
    }

    func testTheDdOnTheNVMeIsTheQueueOfItsCPU() throws {
        // 6.12 guest: dd ran on CPU 3, so its 2000 completions came on nvme0q2 (managed to CPU 3).
        let before = try Self.recorded("linux-6.12-2node-devices", "interrupts-before-dd.txt")
        let after = try Self.recorded("linux-6.12-2node-devices", "interrupts-after-dd.txt")
        let window = InterruptWindow(before: before, after: after, seconds: 2)
        XCTAssertEqual(window.resets, [])
        XCTAssertEqual(window.wentOffline, IDSet())
        let onThree = window.on(IDSet([3]))
        XCTAssertEqual(onThree.map(\.source), [.irq(35), .named("LOC"), .named("RES"), .named("CAL")])
        XCTAssertEqual(onThree.map(\.count), [2000, 116, 1, 2])
        XCTAssertEqual(onThree.first?.detail, "PCI-MSIX-0000:11:00.0 2-edge nvme0q2")
        // Every delta the window reports is the plain difference: no wrap in a real 2 s.
        XCTAssertEqual(window.deltas.reduce(0) { $0 + Int($1.count) }, 2000 + 2 + (27 + 3 + 23 + 116) + (1 + 1) + (14 + 12 + 5 + 2))
    }

    func testAWrappedCounterGivesTheRightDelta() throws {
        let before = try InterruptsParser.parse("""
                       CPU0       CPU1
             35:          0 4294967290   PCI-MSIX-0000:11:00.0   2-edge      nvme0q2
            LOC:        100 4294967295   Local timer interrupts
            """)
        let after = try InterruptsParser.parse("""
                       CPU0       CPU1
             35:          0         10   PCI-MSIX-0000:11:00.0   2-edge      nvme0q2
            LOC:        100        999   Local timer interrupts
            """)
        let window = InterruptWindow(before: before, after: after, seconds: 1)
        XCTAssertEqual(window.deltas.map(\.count), [16, 1000])
        XCTAssertEqual(window.resets, [])
    }

    /// A count that went down by far more than one wrap allows, or an IRQ number now held by
    /// another handler: a reset (the IRQ was freed and reused), never counted as 4 billion.
    func testAReusedIRQIsAResetNotFourBillionInterrupts() throws {
        let before = try InterruptsParser.parse("""
                       CPU0       CPU1
             35:          0       1000   PCI-MSIX-0000:11:00.0   2-edge      nvme0q2
             36:          0         50   PCI-MSIX-0000:11:00.0   3-edge      nvme0q3
            """)
        let after = try InterruptsParser.parse("""
                       CPU0       CPU1
             35:          0          5   PCI-MSIX-0000:11:00.0   2-edge      nvme0q2
             36:          0         60   PCI-MSIX-0000:21:00.0   1-edge      virtio1-input.0
            """)
        let window = InterruptWindow(before: before, after: after, seconds: 1)
        XCTAssertEqual(window.deltas, [])
        XCTAssertEqual(window.resets.map(\.source), [.irq(35), .irq(36)])
        XCTAssertEqual(window.resets.map(\.count), [5, 60], "what the new handler took since it started")
        // Over an hour the same drop could be a believable wrap: only the handler text tells.
        let long = InterruptWindow(before: before, after: after, seconds: 3600)
        XCTAssertEqual(long.resets.map(\.source), [.irq(36)])
    }

    func testACPUThatWentOfflineIsNotComparedAndSaidSo() throws {
        let before = try InterruptsParser.parse("""
                       CPU0       CPU1       CPU2
             35:          0          5          7   PCI-MSIX-0000:11:00.0   2-edge      nvme0q2
            """)
        let after = try InterruptsParser.parse("""
                       CPU0       CPU2       CPU3
             35:          1          9          4   PCI-MSIX-0000:11:00.0   2-edge      nvme0q2
            """)
        let window = InterruptWindow(before: before, after: after, seconds: 1)
        XCTAssertEqual(window.wentOffline, IDSet([1]))
        XCTAssertEqual(window.cameOnline, IDSet([3]))
        XCTAssertEqual(window.deltas.map(\.cpu), [0, 2], "CPU 1 is gone and CPU 3 has nothing to compare with")
        XCTAssertEqual(window.deltas.map(\.count), [1, 2])
    }
}
