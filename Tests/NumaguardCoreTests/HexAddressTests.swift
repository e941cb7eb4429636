import XCTest
@testable import NumaguardCore

/// `HexAddress.leading` reads a numa_maps address eight bytes at a time. It must take exactly
/// what a digit-by-digit read takes (1 to 15 lowercase hex digits, then a space, within the
/// first 16 bytes) with the same value, and turn everything else back to that read.
final class HexAddressTests: XCTestCase {
    /// The definition: digit by digit, as the scanner's slow path reads.
    private func reference(_ bytes: [UInt8]) -> (value: UInt64, digits: Int)? {
        guard bytes.count >= 16 else { return nil }
        var value: UInt64 = 0
        for (index, byte) in bytes.prefix(16).enumerated() {
            if byte == 0x20 { return index > 0 ? (value, index) : nil }
            switch byte {
            case 0x30...0x39: value = value << 4 | UInt64(byte - 0x30)
            case 0x61...0x66: value = value << 4 | UInt64(byte - 0x61 + 10)
            default: return nil
            }
        }
        return nil
    }

    private func leading(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) -> (value: UInt64, digits: Int)? {
        bytes.withUnsafeBufferPointer { HexAddress.leading($0, start, end ?? $0.count) }
    }

    private func assertAgrees(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        let expected = reference(bytes), got = leading(bytes)
        XCTAssertEqual(got?.value, expected?.value, String(decoding: bytes, as: UTF8.self), file: file, line: line)
        XCTAssertEqual(got?.digits, expected?.digits, String(decoding: bytes, as: UTF8.self), file: file, line: line)
    }

    func testKernelSpellings() {
        for (text, value, digits) in [
            ("7f1c2e3d4000 default anon=1", UInt64(0x7F1C_2E3D_4000), 12), ("00400000 default file=/bin/x", 0x40_0000, 8),
            ("55c828a36000 bind:0-1 N0=1", 0x55C8_28A3_6000, 12), ("fedcba987654321 x ", 0xFED_CBA9_8765_4321, 15),
            ("0 default anon=1 dirty=1", 0, 1), ("a default anon=1 dirty=1", 10, 1),
        ] {
            let result = leading(Array(text.utf8))
            XCTAssertEqual(result?.value, value, text)
            XCTAssertEqual(result?.digits, digits, text)
        }
    }

    /// Left to the byte-by-byte read: 16 digits (the space is the 17th byte), no space, a space
    /// first, an upper-case or other byte among the digits, fewer than 16 bytes in the line,
    /// and bytes at or past 0x80 (which the per-byte arithmetic must not wrap into digits).
    func testWhatItLeavesToTheDigitByDigitRead() {
        for text in ["ffffffffff600000 default", "0123456789abcdef0 default", " 7f00 default anon=1",
                     "7F1C2E3D4000 default", "7f1c2e3d40g0 default", "7f1c:e3d4000 default", "7f00 default",
                     "7f1c2e3d4000default", "7f1c2e3d4000\tdefault x"] {
            XCTAssertNil(leading(Array(text.utf8)), text)
        }
        for byte in [UInt8(0xB0), 0xB9, 0xE1, 0xE6, 0x10, 0x3A, 0x40, 0x60, 0x67, 0x2F, 0x00, 0xFF] {
            var bytes = Array("7f1c2e3d4000 default".utf8)
            bytes[5] = byte
            XCTAssertNil(leading(bytes), "byte 0x\(String(byte, radix: 16)) among the digits")
        }
        // The line's end, not the buffer's: 16 bytes of the buffer, but the line ends sooner.
        XCTAssertNil(leading(Array("7f00 default anon=1 dirty=1".utf8), from: 0, to: 12))
        XCTAssertEqual(leading(Array("xx7f00 default anon=1".utf8), from: 2, to: 21)?.value, 0x7F00)
    }

    /// Pseudo-random lines of every length and mix, digits then a space or not, against the definition.
    func testRandomInputsAgreeWithTheDefinition() {
        var generator = SplitMix(state: 17)
        let alphabets: [[UInt8]] = [Array("0123456789abcdef".utf8), Array("0123456789abcdef ".utf8),
                                    Array("0123456789abcdefABCDEFgxz:/ \t".utf8), (0...255).map { UInt8($0) }]
        for round in 0..<20_000 {
            let alphabet = alphabets[round % alphabets.count]
            let digits = Int.random(in: 0...17, using: &generator)
            var bytes = (0..<digits).map { _ in alphabet.randomElement(using: &generator) ?? 0x30 }
            if Bool.random(using: &generator) { bytes.append(0x20) }
            bytes += (0..<Int.random(in: 0...20, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            assertAgrees(bytes)
        }
    }

    /// `value(digits:)`, for an address whose length the scanner already knows: the first
    /// `digits` bytes (1 to 16) all lowercase hex digits give their value (0 when not
    /// converting), anything else nil; and only inside a line with 16 bytes from its start.
    func testKnownLengthAgreesWithTheDefinition() {
        func definition(_ bytes: [UInt8], _ digits: Int) -> UInt64? {
            guard digits >= 1, digits <= 16, bytes.count >= 16 else { return nil }
            var value: UInt64 = 0
            for byte in bytes.prefix(digits) {
                switch byte {
                case 0x30...0x39: value = value << 4 | UInt64(byte - 0x30)
                case 0x61...0x66: value = value << 4 | UInt64(byte - 0x61 + 10)
                default: return nil
                }
            }
            return value
        }
        func value(_ bytes: [UInt8], _ digits: Int, converting: Bool = true, end: Int? = nil) -> UInt64? {
            bytes.withUnsafeBufferPointer { HexAddress.value($0, 0, digits: digits, lineEnd: end ?? $0.count, converting: converting) }
        }
        XCTAssertEqual(value(Array("ffffffffff600000 default".utf8), 16), 0xFFFF_FFFF_FF60_0000, "16 digits")
        XCTAssertEqual(value(Array("7f1c2e3d4000 default anon=1".utf8), 12), 0x7F1C_2E3D_4000)
        XCTAssertEqual(value(Array("7f1c2e3d4000 default anon=1".utf8), 12, converting: false), 0)
        XCTAssertNil(value(Array("7f1c2e3d4000 default anon=1".utf8), 13), "the space is not a digit")
        XCTAssertNil(value(Array("7F1C2E3D4000 default anon=1".utf8), 12))
        XCTAssertNil(value(Array("7f1c2e3d4000 default anon=1".utf8), 12, end: 15), "a line shorter than 16 bytes")
        XCTAssertNil(value(Array("7f1c2e3d4000 default anon=1".utf8), 0))
        XCTAssertNil(value(Array("0123456789abcdef0 default".utf8), 17))
        var generator = SplitMix(state: 29)
        let alphabets: [[UInt8]] = [Array("0123456789abcdef".utf8), Array("0123456789abcdefABCDEFgxz:/ \t".utf8),
                                    (0...255).map { UInt8($0) }]
        for round in 0..<20_000 {
            let alphabet = alphabets[round % alphabets.count]
            let bytes = (0..<Int.random(in: 14...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? 0x30 }
            let digits = Int.random(in: 0...17, using: &generator)
            let expected = definition(bytes, digits)
            XCTAssertEqual(value(bytes, digits), expected, String(decoding: bytes, as: UTF8.self) + " (\(digits))")
            XCTAssertEqual(value(bytes, digits, converting: false), expected.map { _ in 0 })
        }
    }
}

/// SplitMix64: the same inputs on every run, so a failure can be run again.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
