/// A JSON value built by hand and written in `PrettyJSONEncoder`'s layout (keys sorted by
/// their UTF-8 bytes, two-space indentation, `"key" : value`): for a document the front prints
/// on a command's every run. Going through `Encodable` there cost more than the command's
/// own work: each Codable type's containers and conformances are built and looked up at run
/// time by the static front (`inspect --format json` of a small process: 3.1M instructions,
/// against 1.0M for its text). A document written this way must equal its `Encodable` form
/// byte for byte (its tests compare the two), so consumers see one layout.
public indirect enum JSONTree: Sendable {
    case null
    case bool(Bool)
    /// A number's text as Swift prints it (`String(value)` of an integer).
    case number(String)
    case string(String)
    case array([JSONTree])
    /// Members in any order (written sorted); a key given twice keeps its last value, as an
    /// encoder's container does. Keys are told apart, and sorted, by their UTF-8 bytes.
    case object([Member])

    public struct Member: Sendable {
        public var key: String
        public var value: JSONTree
        public init(_ key: String, _ value: JSONTree) {
            self.key = key
            self.value = value
        }
    }

    public static func int(_ value: Int) -> JSONTree { .number(String(value)) }
    public static func uint(_ value: UInt64) -> JSONTree { .number(String(value)) }

    /// The document of `kind` whose body has `members`, with the envelope and final newline
    /// `JSONDocument.render` writes.
    public static func document(kind: DocumentKind, _ members: [Member]) -> String {
        let envelope = [Member("format_version", .int(kind.formatVersion)), Member("kind", .string(kind.name))]
        return JSONTree.object(envelope + members).text + "\n"
    }

    /// The value as text, without a final newline.
    public var text: String {
        var out = ""
        write(indent: 0, into: &out)
        return out
    }

    /// The one writer of the pretty layout (`PrettyJSONEncoder` hands it its trees): empty
    /// containers as `[` or `{`, a blank line, and the closing bracket; members sorted by their
    /// keys' UTF-8 bytes, the last of a key given twice kept.
    func write(indent: Int, into out: inout String) {
        let inner = String(repeating: " ", count: indent + 2)
        switch self {
        case .null: out += "null"
        case let .bool(flag): out += flag ? "true" : "false"
        case let .number(text): out += text
        case let .string(text): out += JSONText.quoted(text)
        case let .array(items):
            out += "[\n"
            for index in items.indices {
                out += inner
                items[index].write(indent: indent + 2, into: &out)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            if items.isEmpty { out += "\n" }
            out += String(repeating: " ", count: indent) + "]"
        case let .object(members):
            out += "{\n"
            let order = Self.sortedLast(members)
            for (position, index) in order.enumerated() {
                out += inner + JSONText.quoted(members[index].key) + " : "
                members[index].value.write(indent: indent + 2, into: &out)
                out += position == order.count - 1 ? "\n" : ",\n"
            }
            if order.isEmpty { out += "\n" }
            out += String(repeating: " ", count: indent) + "}"
        }
    }

    /// The members' indices sorted by key, only the last member of each key: n log n, however
    /// many members a hostile tree's object has. Equality and order are both the keys' bytes
    /// (String's `==` would join canonically equal keys that their bytes sort apart, and the
    /// pass that keeps the last of each would miss them).
    private static func sortedLast(_ members: [Member]) -> [Int] {
        let sorted = members.indices.sorted { left, right in
            let (a, b) = (members[left].key.utf8, members[right].key.utf8)
            return a.elementsEqual(b) ? left < right : a.lexicographicallyPrecedes(b)
        }
        var kept: [Int] = []
        for (position, index) in sorted.enumerated()
        where position == sorted.count - 1 || !members[sorted[position + 1]].key.utf8.elementsEqual(members[index].key.utf8) {
            kept.append(index)
        }
        return kept
    }
}
