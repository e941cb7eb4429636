import Foundation
import NumaguardOutput
import XCTest

/// PrettyJSONEncoder must write byte for byte what Foundation's JSONEncoder writes with the
/// options JSONDocument used (the goldens pin that layout): compared here over edge values,
/// and in NumaguardReportTests over the real documents of every recorded host.
final class PrettyJSONEncoderTests: XCTestCase {
    struct Empty: Encodable {}
    struct Edges: Encodable {
        var a9 = 1, a10 = 2, B = "x"
        var empty: [Int] = []
        var object = Empty()
        var doubles: [Double] = [0.1, 100, 1e20, 1.5e-7, -0.0, 123456789.123, 1e16, 0.000123, 3.0e-5, .leastNonzeroMagnitude,
                                 .greatestFiniteMagnitude, 2.0.squareRoot(), 9007199254740994]
        var text = "q\"\\/\u{1}\u{1f}\t\n\r\u{8}\u{c}é\u{2028}\u{7f}\u{10FFFF}"
        var absent: Int?
        var null: String?
        var big: UInt64 = .max
        var small: Int64 = .min
        var dictionary: [String: Int] = ["b": 1, "a_b": 2, "aB": 3, "Ab": 4, "a": 5, "10": 6, "9": 7, "é": 8, "z": 9]
        var byNumber: [Int: String] = [10: "ten", 9: "nine", -1: "minus"]
        var nested: [[Int]] = [[1, 2], []]
        var float: Float = 0.1
        var flags = [true, false]
        // Optionals handed to `encode` (not encodeIfPresent): their own encode(to:) writes the
        // wrapped primitive or null.
        var some: Int? = 7
        var someText: String? = "s"
        var someDouble: Double? = 0.1
        var optionals: [Int?] = [1, nil, 3]
        var optionalFlags: [Bool?] = [nil, true]

        enum CodingKeys: String, CodingKey {
            case a9, a10, B, empty, object, doubles, text, absent, null, big, small, dictionary, byNumber, nested, float, flags
            case some, someText, someDouble, optionals, optionalFlags
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(a9, forKey: .a9)
            try container.encode(a10, forKey: .a10)
            try container.encode(B, forKey: .B)
            try container.encode(empty, forKey: .empty)
            try container.encode(object, forKey: .object)
            try container.encode(doubles, forKey: .doubles)
            try container.encode(text, forKey: .text)
            try container.encodeIfPresent(absent, forKey: .absent)
            try container.encode(null, forKey: .null)
            try container.encode(big, forKey: .big)
            try container.encode(small, forKey: .small)
            try container.encode(dictionary, forKey: .dictionary)
            try container.encode(byNumber, forKey: .byNumber)
            try container.encode(nested, forKey: .nested)
            try container.encode(float, forKey: .float)
            try container.encode(flags, forKey: .flags)
            try container.encode(some, forKey: .some)
            try container.encode(someText, forKey: .someText)
            try container.encode(someDouble, forKey: .someDouble)
            try container.encode(optionals, forKey: .optionals)
            try container.encode(optionalFlags, forKey: .optionalFlags)
            // A second container of the same encoder adds to the same object (JSONDocument's envelope).
            var more = encoder.container(keyedBy: CodingKeys.self)
            try more.encode("again", forKey: .B)
        }
    }

    static func foundation<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func testEdgeValuesAsFoundationWritesThem() throws {
        XCTAssertEqual(try PrettyJSONEncoder.encode(Edges()), try Self.foundation(Edges()))
        XCTAssertEqual(try PrettyJSONEncoder.encode([String]()), try Self.foundation([String]()))
        XCTAssertEqual(try PrettyJSONEncoder.encode(Empty()), try Self.foundation(Empty()))
        XCTAssertEqual(try PrettyJSONEncoder.encode(["k": [String: [Int]]()]), try Self.foundation(["k": [String: [Int]]()]))
    }

    /// 20,000 doubles from a fixed seed across every magnitude, and strings of every
    /// control character and some beyond ASCII.
    func testNumbersAndStringsAgreeWithFoundation() throws {
        var generator = SplitMix(seed: 0x5eed)
        var doubles: [Double] = []
        for _ in 0..<20_000 {
            let bits = generator.next()
            let value = Double(bitPattern: bits)
            doubles.append(value.isFinite ? value : Double(bits >> 11) / 1024)
        }
        doubles += (0..<2000).map { Double($0) / 8 } + (0..<200).map { pow(10, Double($0 - 100)) }
        XCTAssertEqual(try PrettyJSONEncoder.encode(doubles), try Self.foundation(doubles))
        let strings = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) } + ["", "a/b", "ü", "日本", "\u{FEFF}", "\u{1F600}x"]
        XCTAssertEqual(try PrettyJSONEncoder.encode(strings), try Self.foundation(strings))
    }

    func testNonFiniteNumbersAreRefusedWithTheirPlace() {
        struct Bad: Encodable { var rates: [String: [Double]] = ["node0": [1, .nan]] }
        XCTAssertThrowsError(try PrettyJSONEncoder.encode(Bad())) { error in
            XCTAssertEqual("\(error)", "cannot encode a non-finite number at rates.node0[1]")
        }
        XCTAssertThrowsError(try Self.foundation(Bad()))
    }

    /// A value whose own encode(to:) throws is said as that, not as a bad number.
    func testAValuesOwnErrorIsSaidAsIs() {
        struct Refusing: Encodable {
            struct Nope: Error, CustomStringConvertible { var description: String { "not today" } }
            func encode(to encoder: any Encoder) throws { throw Nope() }
        }
        XCTAssertThrowsError(try PrettyJSONEncoder.encode(["a": Refusing()])) { error in
            XCTAssertEqual("\(error)", "cannot encode the document: not today")
        }
    }
    /// JSONTree's own objects: a key given twice keeps its last value; keys that are equal as
    /// Strings but not in their bytes (é and e + U+0301) are two keys, each once, in byte order.
    func testJSONTreeKeysAreTheirBytes() {
        let tree = JSONTree.object([.init("e\u{301}", .int(0)), .init("\u{e9}", .int(1)), .init("f", .int(2)),
                                    .init("f", .int(3)), .init("a", .array([])), .init("b", .object([]))])
        XCTAssertEqual(tree.text, "{\n  \"a\" : [\n\n  ],\n  \"b\" : {\n\n  },\n  \"e\u{301}\" : 0,\n  \"f\" : 3,\n  \"\u{e9}\" : 1\n}")
    }

}

/// A small seeded generator (SplitMix64), so the test's values are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
