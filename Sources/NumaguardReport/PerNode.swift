import NumaguardCore

/// Byte amounts per node with a total, encoded as `{"0": n, "1": n, "total": n}` so a
/// JSON consumer can index by node id the way numastat's columns read.
public struct PerNode: Equatable, Sendable, Encodable {
    public private(set) var values: [Int: Int]
    public let nodes: [Int]

    public init(nodes: [Int]) {
        self.nodes = nodes
        values = Dictionary(uniqueKeysWithValues: nodes.map { ($0, 0) })
    }

    public subscript(node: Int) -> Int { values[node] ?? 0 }

    public mutating func add(_ bytes: Int, on node: Int) {
        values[node, default: 0] += bytes
    }

    public var total: Int { values.values.reduce(0, +) }

    /// Columns to show: the topology's nodes plus any node pages were found on that the
    /// topology did not list (it would be a kernel oddity worth seeing, not hiding).
    public var columns: [Int] { Array(Set(nodes).union(values.keys)).sorted() }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for node in columns { try container.encode(self[node], forKey: Key(stringValue: "\(node)")) }
        try container.encode(total, forKey: Key(stringValue: "total"))
    }
}

/// Human sizes for reports. MiB with two decimals is numastat's unit, so operators can
/// put the two outputs side by side.
public enum Size {
    public static func mebibytes(_ bytes: Int) -> String {
        let hundredths = (bytes * 100 + 524_288) / 1_048_576
        return "\(hundredths / 100).\(pad2(hundredths % 100))"
    }

    public static func human(_ bytes: Int) -> String {
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

    /// A share as a percentage with one decimal, e.g. "98.7".
    public static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "0.0" }
        let tenths = Int((Double(part) * 1000 / Double(whole)).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
