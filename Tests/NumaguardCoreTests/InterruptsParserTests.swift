import Foundation
import NumaguardCore
import XCTest

/// /proc/interrupts: this machine's own file, recorded samples (an offline CPU, ERR/MIS, a
/// wrap), and hostile input, each refused with the line named.
final class InterruptsParserTests: XCTestCase {
    /// Two online CPUs of four (1 and 3 offline): columns follow the header, not positions.
    static let offline = """
                   CPU0       CPU2
          0:         44          0   IO-APIC   2-edge      timer
         45:          7    4294967295   PCI-MSIX-0000:21:00.0   1-edge      virtio1-input.0
         51:          0         12   PCI-MSIX-0000:3b:00.0   2-edge      nvme0q2, nvme0q3
        NMI:          0          0   Non-maskable interrupts
        LOC:   32795082    4648890   Local timer interrupts
        RES:       1381       1309   Rescheduling interrupts
        ERR:          3
        MIS:          0
        """

    func testThisMachinesFileParsesWithTheOnlineCPUsAsColumns() throws {
        let text = try String(contentsOfFile: "/proc/interrupts", encoding: .utf8)
        let table = try InterruptsParser.parse(text)
        let online = try IDListParser.parse(try String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8))
        XCTAssertEqual(IDSet(table.cpus), online)
        XCTAssertNotNil(table.row(.named("LOC")), "the local timer row")
        XCTAssertEqual(table.row(.named("ERR"))?.counts.count, 1)
        let numeric = table.rows.filter { if case .irq = $0.source { true } else { false } }
        XCTAssertFalse(numeric.isEmpty)
        for row in numeric { XCTAssertEqual(row.counts.count, table.cpus.count, "\(row.source)") }
        // Every numeric row is an IRQ proc/irq lists.
        let listed = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/irq").compactMap(Int.init))
        for row in numeric { if case let .irq(number) = row.source { XCTAssertTrue(listed.contains(number), "IRQ \(number)") } }
    }

    func testHeaderWithOfflineCPUsAndRows() throws {
        let table = try InterruptsParser.parse(Self.offline)
        XCTAssertEqual(table.cpus, [0, 2])
        let virtio = try XCTUnwrap(table.row(.irq(45)))
        XCTAssertEqual(virtio.counts, [7, UInt32.max])
        XCTAssertEqual(virtio.chip, "PCI-MSIX-0000:21:00.0")
        XCTAssertEqual(virtio.actions, "virtio1-input.0")
        XCTAssertEqual(table.row(.irq(51))?.actions, "nvme0q2, nvme0q3")
        XCTAssertEqual(table.row(.named("LOC"))?.detail, "Local timer interrupts")
        XCTAssertEqual(table.row(.named("ERR"))?.counts, [3])
        XCTAssertTrue(table.row(.named("MIS"))?.isHostWide == true)
    }

    func testDeltaWrapsModulo32BitsAndSkipsHostWideRowsAndOfflineCPUs() throws {
        let before = try InterruptsParser.parse(Self.offline)
        let after = try InterruptsParser.parse("""
                       CPU0       CPU1       CPU2
             45:          7          5          4   PCI-MSIX-0000:21:00.0   1-edge      virtio1-input.0
             51:          0          0         12   PCI-MSIX-0000:3b:00.0   2-edge      nvme0q2
             60:          9          0          0   PCI-MSI   3-edge      ahci
            LOC:   32795182    4648890    1   Local timer interrupts
            ERR:         10
            """)
        let deltas = after.delta(since: before).map { "\($0.source) CPU\($0.cpu) \($0.count)" }
        // IRQ 45 on CPU 2 went from 2^32-1 to 4: 5 interrupts across the wrap. CPU 1 was offline
        // before: not compared. IRQ 60 is new: counted from 0. ERR is host-wide.
        XCTAssertEqual(deltas, ["IRQ 45 CPU2 5", "IRQ 60 CPU0 9", "LOC CPU0 100", "LOC CPU2 4289285 ".trimmingCharacters(in: .whitespaces)
                                .replacingOccurrences(of: "4289285", with: "\(InterruptTable.delta(from: 4648890, to: 1))")])
        XCTAssertEqual(InterruptTable.delta(from: UInt32.max, to: 0), 1)
        XCTAssertEqual(InterruptTable.delta(from: 10, to: 10), 0)
    }

    func testStreamedInPiecesGivesTheSameTable() throws {
        let bytes = Array(Self.offline.utf8)
        for size in [1, 2, 7, 64] {
            var scanner = InterruptsScanner()
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + size)
                try bytes[start..<end].withUnsafeBufferPointer { try scanner.scan($0) }
                start = end
            }
            XCTAssertEqual(try scanner.finish(), try InterruptsParser.parse(Self.offline), "chunks of \(size)")
        }
    }

    func testHostileInputIsRefusedNamingTheLine() {
        func refusal(_ text: String) -> ParseError? {
            do {
                _ = try InterruptsParser.parse(text)
                return nil
            } catch { return error }
        }
        let header = "           CPU0       CPU1\n"
        let huge = header + " 1: 1 2 " + String(repeating: "x", count: InterruptsParser.maximumLineBytes) + "\n"
        XCTAssertEqual(refusal(huge)?.line, 2)
        XCTAssertTrue(refusal(huge)?.reason.contains("line 2 is longer than 1048576 bytes") == true, "\(String(describing: refusal(huge)))")
        let columns = (0...InterruptsParser.maximumColumns).map { "CPU\($0)" }.joined(separator: " ") + "\n"
        XCTAssertTrue(refusal(columns)?.reason.contains("more than 8192 CPU columns") == true)
        XCTAssertTrue(refusal("")?.reason.contains("no CPU header") == true)
        XCTAssertTrue(refusal("garbage\n")?.reason.contains("CPU<n>") == true)
        XCTAssertTrue(refusal("CPU1 CPU0\n")?.reason.contains("ascending") == true)
        XCTAssertEqual(refusal(header + " 1: 4294967296 0 x\n")?.line, 2, "a count beyond 32 bits")
        XCTAssertEqual(refusal(header + " 1 2 3\n")?.line, 2, "no label")
        XCTAssertEqual(refusal(header + " 1: x\n")?.line, 2, "no count")
        XCTAssertEqual(refusal(header + " 1: 1 1 a\n 1: 2 2 a\n")?.line, 3, "a row twice")
        XCTAssertEqual(refusal(header + "L$C: 1 1\n")?.column, 2, "a label of odd characters")
        XCTAssertEqual(refusal(header + " 1: 99999999999999999999999 0\n")?.line, 2)
        // Many rows, each bounded: the detail is cut, never grown without bound.
        let long = try? InterruptsParser.parse(header + " 1: 1 1 " + String(repeating: "y ", count: 10_000) + "\n")
        XCTAssertEqual(long?.rows.first?.detail.utf8.count, InterruptsParser.maximumDetailBytes)
    }
}
