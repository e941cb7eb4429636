/// The one loop behind every format's escaping (JSON strings, Prometheus labels and HELP,
/// XML): each format only says which scalars it rewrites and how. Linear in the text.
enum Escaping {
    /// `text` with every scalar `replacement` returns a spelling for replaced by it, the
    /// others kept as they are.
    static func replacing(_ text: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
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
