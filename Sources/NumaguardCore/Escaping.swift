/// The one loop behind every format's escaping (JSON strings, Prometheus labels and HELP,
/// XML): each format only says which scalars it rewrites and how. Linear in the text.
/// Public for the fuzzers, which compile the sources without a package name.
public enum Escaping {
    /// `text` with every scalar `replacement` returns a spelling for replaced by it, the
    /// others kept as they are.
    public static func replacing(_ text: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let spelling = replacement(scalar) {
                out += spelling
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Text read from a file someone else wrote (a telemetry value, a field that did not parse, a
/// file name from a directory listing), on its way to a terminal or a log in a message or a
/// text report. Any byte is legal in such a file, an escape sequence included: C0 and C1
/// controls, DEL and backslash become `\xHH`, the line and paragraph separators and the bidi
/// embeddings, overrides and isolates (U+202A-202E, U+2066-2069, which reorder what a reader
/// sees) `\u{hhhh}`, so nothing in the file steers the output or hides what it holds; and
/// more than `limit` scalars is cut with `…`, so a 1 MiB field does not become a 1 MiB
/// message. Linear in at most `limit` scalars, whatever the text's length. In NumaguardCore, so
/// a parse error quoting what it could not parse escapes it too, in every command.
public enum UntrustedText {
    public static let defaultLimit = 240

    /// `authored: true` keeps backslashes and tabs as they are, for text the reader wrote
    /// (a policy's line or regex quoted in a diagnostic, where a tab lines up the caret).
    public static func escaped(_ text: String, limit: Int = defaultLimit, authored: Bool = false) -> String {
        var kept = String.UnicodeScalarView()
        var count = 0, cut = false
        for scalar in text.unicodeScalars {
            guard count < limit else {
                cut = true
                break
            }
            kept.append(scalar)
            count += 1
        }
        return Escaping.replacing(String(kept)) { scalar in
            let value = scalar.value
            if authored, value == 0x5C || value == 0x09 { return nil }
            guard value < 0x20 || value == 0x5C || (0x7F...0x9F).contains(value) || (0x2028...0x202E).contains(value)
                    || (0x2066...0x2069).contains(value) else { return nil }
            let hex = String(value, radix: 16)
            return value > 0xFF ? "\\u{\(hex)}" : "\\x" + (hex.count == 1 ? "0" : "") + hex
        } + (cut ? "…" : "")
    }

    /// `escaped` between double quotes, as messages quote what they found.
    public static func quoted(_ text: String, limit: Int = defaultLimit) -> String {
        "\"" + escaped(text, limit: limit) + "\""
    }
}
