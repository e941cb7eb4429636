import NumaguardCore

/// Byte amounts per node with a total, encoded as `{"0": n, "1": n, "total": n}` so a
/// JSON consumer can index by node id the way numastat's columns read.
public struct PerNode: Equatable, Sendable, Encodable {
    /// Node ids, ascending, and the amount on each.
    public let nodes: [Int]
    public let values: [Int]

    public init(nodes: [Int], values: [Int]) {
        precondition(nodes.count == values.count, "one value per node")
        self.nodes = nodes
        self.values = values
    }

    public subscript(node: Int) -> Int {
        guard let index = nodes.firstIndex(of: node) else { return 0 }
        return values[index]
    }

    /// Saturating: many real byte counts can add up past Int.max (see KernelArithmetic).
    public var total: Int { values.saturatingSum }

    public var columns: [Int] { nodes }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (node, value) in zip(nodes, values) { try container.encode(value, forKey: Key(stringValue: "\(node)")) }
        try container.encode(total, forKey: Key(stringValue: "total"))
    }
}

/// Sizes for reports. MiB with two decimals is numastat's unit, so operators can put the
/// two outputs side by side (other sizes: `Bytes.text` in NumaguardCore).
public enum Size {
    public static func mebibytes(_ bytes: Int) -> String {
        // Whole MiB and the remainder apart, so a byte count near Int.max does not overflow.
        let hundredths = bytes / 1_048_576 * 100 + (bytes % 1_048_576 * 100 + 524_288) / 1_048_576
        return "\(hundredths / 100).\(pad2(hundredths % 100))"
    }

    /// A share as a percentage with one decimal, e.g. "98.7".
    public static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "0.0" }
        let tenths = Int((Double(part) * 1000 / Double(whole)).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
