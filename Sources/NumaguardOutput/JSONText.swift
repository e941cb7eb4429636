import NumaguardCore

/// The JSON writer: values encoded by hand, without Foundation, so the launch path (`run`'s
/// records and dry run) and watch's event lines need no encoder, and every hand-written
/// document escapes strings the same way.
///
/// Documents built from Encodable values (JSONDocument) still go through Foundation's
/// encoder, whose sorted, pretty-printed layout their golden files pin; their `kind` and
/// `format_version` come from DocumentKind all the same.
public enum JSONText {
    /// A JSON object from keys and already-encoded values, one member a line.
    public static func object(_ members: [(String, String)]) -> String {
        "{\n" + members.map { "  \(quoted($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// A JSON object on one line, without spaces: one line of a JSON-lines stream (or a
    /// member nested in one). No newline: the caller ends the line.
    public static func compact(_ members: [(String, String)]) -> String {
        "{" + members.map { quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// The members every document starts with: `format_version`, then `kind` where the
    /// kind writes one.
    public static func header(_ kind: DocumentKind) -> [(String, String)] {
        [("format_version", String(kind.formatVersion))] + (kind.kindField.map { [("kind", quoted($0))] } ?? [])
    }

    /// A string literal, or null.
    public static func optional(_ text: String?) -> String { text.map(quoted) ?? "null" }

    /// An array of strings.
    public static func array(_ strings: [String]) -> String { "[" + strings.map(quoted).joined(separator: ", ") + "]" }

    /// A JSON string literal (RFC 8259 escapes, the short ones where there is one, as
    /// Foundation's encoder writes them, so both JSON writers agree byte for byte).
    public static func quoted(_ text: String) -> String {
        let escaped = Escaping.replacing(text) { scalar in
            switch scalar {
            case "\"": "\\\""
            case "\\": "\\\\"
            case "\n": "\\n"
            case "\r": "\\r"
            case "\t": "\\t"
            case "\u{8}": "\\b"
            case "\u{c}": "\\f"
            case let c where c.value < 0x20: "\\u00" + (c.value < 0x10 ? "0" : "") + String(c.value, radix: 16)
            default: nil
            }
        }
        return "\"" + escaped + "\""
    }
}
