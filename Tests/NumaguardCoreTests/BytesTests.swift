import NumaguardCore
import XCTest

/// `Bytes.text` is numaguard's one byte formatter: findings and refusals drop a zero tenth
/// (`1 GiB`), inspect keeps it (`1.0 GiB`). Inspect's spelling was a second, floating-point
/// formatter (Report's `Size.human`); `.always` must print what it printed.
final class BytesTests: XCTestCase {
    /// Report's former `Size.human`, kept here as the reference inspect's output is held to.
    private func formerInspectSpelling(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var unit = 0
        var scaled = Double(bytes)
        while scaled >= 1024 && unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let tenths = Int((scaled * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }

    func testAlwaysPrintsWhatInspectPrinted() {
        var values = [-1, 0, 1, 512, 1023, 1024, 1025, 1075, 1076, 1536, 1_048_524, 1_048_525, 1_048_576, 1 << 30, 1 << 40, 1 << 50]
        // Every unit's edges, the tenths' rounding edges, and a deterministic spread between.
        for shift in stride(from: 10, through: 44, by: 10) {
            let size = 1 << shift
            for tenth in 0...10_240 { values.append(size * tenth / 10 + size / 20 - 1); values.append(size * tenth / 10 + size / 20) }
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<100_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Int(state >> (20 + state % 24)))
        }
        for value in values where value < 1 << 49 {  // beyond, the Double reference itself loses bytes
            XCTAssertEqual(Bytes.text(value, tenths: .always), formerInspectSpelling(value), "\(value)")
        }
    }

    func testWhenNonZeroIsThePolicySpelling() {
        XCTAssertEqual(Bytes.text(512), "512 B")
        XCTAssertEqual(Bytes.text(1 << 30), "1 GiB")
        XCTAssertEqual(Bytes.text(3 << 29), "1.5 GiB")
        XCTAssertEqual(Bytes.text(64 << 20), "64 MiB")
        XCTAssertEqual(Bytes.text(1 << 30, tenths: .always), "1.0 GiB")
        XCTAssertEqual(Bytes.text(Int.max, tenths: .always), "8388608.0 TiB")
    }
}
