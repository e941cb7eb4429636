/// A strict scanner for one JSON object on one line (RFC 8259), enough for JSON lines: it
/// visits each top-level member with the byte ranges of its key and value, and skips nested
/// values structurally (depth bounded) without building them, so 10 million telemetry rows
/// cost no dictionary each. Anything that is not JSON is refused at its byte offset.
enum JSONValueKind {
    case string, number, literal, object, array
}

struct JSONMember {
    /// The key's bytes inside the quotes, and whether it holds escapes.
    var keyStart: Int
    var keyEnd: Int
    var keyEscaped: Bool
    /// The value: for a string, inside the quotes.
    var valueStart: Int
    var valueEnd: Int
    var valueEscaped: Bool
    var kind: JSONValueKind
}

enum JSONScanner {
    static let maximumDepth = 32

    /// Calls `visit` for each member of the object spanning `range` (whitespace around it allowed).
    static func members(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                        _ visit: (JSONMember) throws(FieldError) -> Void) throws(FieldError) {
        var index = skipSpace(bytes, range.lowerBound, range.upperBound)
        let end = range.upperBound
        guard index < end, bytes[index] == 0x7B else { throw FieldError(offset: index, message: "not a JSON object: expected {") }
        index = skipSpace(bytes, index + 1, end)
        if index < end, bytes[index] == 0x7D {
            try trailing(bytes, index + 1, end)
            return
        }
        while true {
            guard index < end, bytes[index] == 0x22 else { throw FieldError(offset: index, message: "expected a member name in quotes") }
            let (keyEnd, keyEscaped) = try string(bytes, index + 1, end)
            let keyStart = index + 1
            index = skipSpace(bytes, keyEnd + 1, end)
            guard index < end, bytes[index] == 0x3A else { throw FieldError(offset: index, message: "expected : after a member name") }
            index = skipSpace(bytes, index + 1, end)
            let valueStart = index
            let (valueEnd, kind, escaped) = try value(bytes, index, end, depth: 1)
            if kind == .string {
                try visit(JSONMember(keyStart: keyStart, keyEnd: keyEnd, keyEscaped: keyEscaped, valueStart: valueStart + 1,
                                     valueEnd: valueEnd - 1, valueEscaped: escaped, kind: kind))
            } else {
                try visit(JSONMember(keyStart: keyStart, keyEnd: keyEnd, keyEscaped: keyEscaped, valueStart: valueStart,
                                     valueEnd: valueEnd, valueEscaped: false, kind: kind))
            }
            index = skipSpace(bytes, valueEnd, end)
            guard index < end else { throw FieldError(offset: index, message: "the object is never closed") }
            if bytes[index] == 0x7D {
                try trailing(bytes, index + 1, end)
                return
            }
            guard bytes[index] == 0x2C else { throw FieldError(offset: index, message: "expected , or } after a member") }
            index = skipSpace(bytes, index + 1, end)
        }
    }

    /// Whether the member's key is `name` (escaped keys are decoded first).
    static func key(_ member: JSONMember, in bytes: UnsafeBufferPointer<UInt8>, is name: [UInt8]) -> Bool {
        if member.keyEscaped { return Array(decode(bytes, member.keyStart, member.keyEnd).utf8) == name }
        guard member.keyEnd - member.keyStart == name.count else { return false }
        var index = 0
        while index < name.count {
            if bytes[member.keyStart + index] != name[index] { return false }
            index += 1
        }
        return true
    }

    static func keyText(_ member: JSONMember, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        member.keyEscaped ? decode(bytes, member.keyStart, member.keyEnd)
            : String(decoding: UnsafeBufferPointer(rebasing: bytes[member.keyStart..<member.keyEnd]), as: UTF8.self)
    }

    /// A string value's text (escapes decoded), or a number's or literal's spelling.
    static func valueText(_ member: JSONMember, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        member.valueEscaped ? decode(bytes, member.valueStart, member.valueEnd)
            : String(decoding: UnsafeBufferPointer(rebasing: bytes[member.valueStart..<member.valueEnd]), as: UTF8.self)
    }

    static func isNull(_ member: JSONMember, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        member.kind == .literal && bytes[member.valueStart] == 0x6E
    }

    private static func trailing(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, _ end: Int) throws(FieldError) {
        let rest = skipSpace(bytes, index, end)
        if rest < end { throw FieldError(offset: rest, message: "text after the object (one object a line)") }
    }

    static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var index = start
        while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0D || bytes[index] == 0x0A { index += 1 }
        return index
    }

    /// From just after an opening quote: the closing quote's index, and whether escapes occur.
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(FieldError) -> (Int, Bool) {
        var index = start
        var escaped = false
        while index < end {
            let byte = bytes[index]
            if byte == 0x22 { return (index, escaped) }
            if byte < 0x20 { throw FieldError(offset: index, message: "a control character inside a string") }
            if byte == 0x5C {
                escaped = true
                guard index + 1 < end else { break }
                switch bytes[index + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: index += 2
                case 0x75:
                    guard index + 5 < end, (2...5).allSatisfy({ hexValue(bytes[index + $0]) != nil }) else {
                        throw FieldError(offset: index, message: "\\u needs four hex digits")
                    }
                    index += 6
                default: throw FieldError(offset: index, message: "an unknown escape in a string")
                }
                continue
            }
            index += 1
        }
        throw FieldError(offset: start - 1, message: "a string is never closed")
    }

    private static func value(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
                              depth: Int) throws(FieldError) -> (Int, JSONValueKind, Bool) {
        guard start < end else { throw FieldError(offset: start, message: "a value is missing") }
        guard depth <= maximumDepth else { throw FieldError(offset: start, message: "nested deeper than \(maximumDepth) levels") }
        switch bytes[start] {
        case 0x22:
            let (close, escaped) = try string(bytes, start + 1, end)
            return (close + 1, .string, escaped)
        case 0x7B, 0x5B:
            let object = bytes[start] == 0x7B
            let close: UInt8 = object ? 0x7D : 0x5D
            var index = skipSpace(bytes, start + 1, end)
            if index < end, bytes[index] == close { return (index + 1, object ? .object : .array, false) }
            while true {
                if object {
                    guard index < end, bytes[index] == 0x22 else { throw FieldError(offset: index, message: "expected a member name in quotes") }
                    index = skipSpace(bytes, try string(bytes, index + 1, end).0 + 1, end)
                    guard index < end, bytes[index] == 0x3A else { throw FieldError(offset: index, message: "expected : after a member name") }
                    index = skipSpace(bytes, index + 1, end)
                }
                index = skipSpace(bytes, try value(bytes, index, end, depth: depth + 1).0, end)
                guard index < end else { throw FieldError(offset: start, message: object ? "an object is never closed" : "an array is never closed") }
                if bytes[index] == close { return (index + 1, object ? .object : .array, false) }
                guard bytes[index] == 0x2C else { throw FieldError(offset: index, message: "expected , between values") }
                index = skipSpace(bytes, index + 1, end)
            }
        case 0x74, 0x66, 0x6E:
            for word in [Array("true".utf8), Array("false".utf8), Array("null".utf8)] where start + word.count <= end {
                if (0..<word.count).allSatisfy({ bytes[start + $0] == word[$0] }) { return (start + word.count, .literal, false) }
            }
            throw FieldError(offset: start, message: "not a JSON value")
        default:
            let close = numberEnd(bytes, start, end)
            guard close > start, Numbers.decimal(UnsafeBufferPointer(rebasing: bytes[start..<close]), json: true) != nil else {
                throw FieldError(offset: start, message: "not a JSON value")
            }
            return (close, .number, false)
        }
    }

    private static func numberEnd(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var index = start
        while index < end {
            switch bytes[index] {
            case 0x30...0x39, 0x2D, 0x2B, 0x2E, 0x65, 0x45: index += 1
            default: return index
            }
        }
        return index
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: UInt32(byte - 0x30)
        case 0x41...0x46: UInt32(byte - 0x41 + 10)
        case 0x61...0x66: UInt32(byte - 0x61 + 10)
        default: nil
        }
    }

    /// The text of a validated string's bytes with escapes decoded (a lone surrogate becomes U+FFFD).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            if !raw.isEmpty { scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars) }
            raw.removeAll()
        }
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 << 4 | (hexValue(bytes[at + $1]) ?? 0) }
        }
        var index = start
        while index < end {
            guard bytes[index] == 0x5C, index + 1 < end else {
                raw.append(bytes[index])
                index += 1
                continue
            }
            let simple: UInt8? = switch bytes[index + 1] {
            case 0x22: 0x22
            case 0x5C: 0x5C
            case 0x2F: 0x2F
            case 0x62: 0x08
            case 0x66: 0x0C
            case 0x6E: 0x0A
            case 0x72: 0x0D
            case 0x74: 0x09
            default: nil
            }
            if let simple {
                raw.append(simple)
                index += 2
                continue
            }
            flush()
            var code = index + 5 < end ? hex4(index + 2) : 0xFFFD
            index += 6
            if (0xD800...0xDBFF).contains(code), index + 5 < end, bytes[index] == 0x5C, bytes[index + 1] == 0x75 {
                let low = hex4(index + 2)
                if (0xDC00...0xDFFF).contains(low) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
            }
            scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
        }
        flush()
        return String(scalars)
    }
}
