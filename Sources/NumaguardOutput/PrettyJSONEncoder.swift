/// An `Encoder` for Encodable documents without Foundation, writing exactly what Foundation's
/// `JSONEncoder` writes with `[.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]` (the
/// layout every golden file pins; PrettyJSONEncoderTests compares the two over the documents
/// and over edge values): two-space indentation, `"key" : value`, keys in UTF-8 byte order,
/// empty containers as `[` blank line `]`, numbers as Swift prints them without a trailing
/// `.0`, and the same string escapes as JSONText.
///
/// It exists so `inspect` and `topology` can print their JSON from the front binary, which has
/// no Foundation (issue 17: Foundation's start-up is most of a small command's run time).
public enum PrettyJSONEncoder {
    /// Why a value cannot be written: JSON has no NaN or infinity (Foundation refuses them too),
    /// or the value's own `encode(to:)` threw.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var path: String
        /// nil: a non-finite number at `path`; else what the value's encoder threw.
        public var reason: String?
        public var description: String {
            reason.map { "cannot encode the document: \($0)" }
                ?? "cannot encode a non-finite number at \(path.isEmpty ? "the top level" : path)"
        }
    }

    public static func encode<Value: Encodable>(_ value: Value) throws(Failure) -> String {
        let root = Slot()
        do {
            try value.encode(to: TreeEncoder(slot: root, codingPath: []))
        } catch let failure as Failure {
            throw failure
        } catch {
            // The tree encoder throws nothing else; a value's own encode(to:) may.
            throw Failure(path: "", reason: "\(error)")
        }
        return tree(root.value ?? .object([:])).text
    }

    indirect enum Value {
        case null, bool(Bool), number(String), string(String)
        case array([Slot])
        case object([String: Slot])
    }

    /// A value being filled in: containers hand out slots before their contents are encoded.
    final class Slot {
        var value: Value?
        init(_ value: Value? = nil) { self.value = value }
    }

    /// The filled-in tree as the value `JSONTree` writes (the one writer of this layout).
    static func tree(_ value: Value) -> JSONTree {
        switch value {
        case .null: .null
        case let .bool(flag): .bool(flag)
        case let .number(text): .number(text)
        case let .string(text): .string(text)
        case let .array(items): .array(items.map { tree($0.value ?? .object([:])) })
        case let .object(members): .object(members.map { JSONTree.Member($0.key, tree($0.value.value ?? .object([:]))) })
        }
    }

    /// Swift's shortest round-trip text, as Foundation writes it: `100`, not `100.0`.
    static func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, _ path: [any CodingKey]) throws(Failure) -> Value {
        guard value.isFinite else { throw Failure(path: dotted(path), reason: nil) }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }

    static func dotted(_ path: [any CodingKey]) -> String {
        let text = path.map { key in key.intValue.map { "[\($0)]" } ?? "." + key.stringValue }.joined()
        return text.hasPrefix(".") ? String(text.dropFirst()) : text
    }
}

/// The JSON documents built from Encodable values, sorted and pretty printed (the layout their
/// golden files pin), inside an envelope whose `format_version` and `kind` come from
/// DocumentKind, so consumers can refuse a layout they do not know instead of misreading it.
/// Hand-written documents (run's, watch's) use JSONText; NumaguardReport reads documents back.
public enum JSONDocument {
    struct Envelope<Body: Encodable>: Encodable {
        let formatVersion: Int
        let kind: String
        let body: Body

        enum CodingKeys: String, CodingKey { case formatVersion = "format_version", kind }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(formatVersion, forKey: .formatVersion)
            try container.encode(kind, forKey: .kind)
            try body.encode(to: encoder)
        }
    }

    /// The document and a final newline.
    public static func render<Body: Encodable>(kind: DocumentKind, _ body: Body) throws(PrettyJSONEncoder.Failure) -> String {
        try PrettyJSONEncoder.encode(Envelope(formatVersion: kind.formatVersion, kind: kind.name, body: body)) + "\n"
    }
}
