/// A bound on how deeply a JSON document nests, checked before a decoder sees it: the
/// documents fleet commands read come from other hosts, and a file of a million `[` would
/// otherwise be the decoder's problem (its recursion, its stack). One pass over the bytes,
/// linear, strings skipped with their escapes.
enum JSONDepth {
    /// numaguard's documents nest about six deep (envelope, audit, findings, a finding,
    /// its waiver); this leaves room for growth and none for abuse.
    static let maximum = 64

    /// nil when `bytes` nests at most `maximum` deep, else the byte offset where it goes deeper.
    static func exceeded(_ bytes: [UInt8], maximum: Int = JSONDepth.maximum) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        for (offset, byte) in bytes.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maximum { return offset }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return nil
    }
}
