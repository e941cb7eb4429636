#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small lexical helpers shared by the /proc and /sys parsers.
public enum Lex {
    public static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
    public static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Decimal without sign; nil on empty, non-digit, or overflow.
    public static func decimal(_ text: some StringProtocol) -> Int? {
        // A Substring view, not a String copy: withUTF8 then reads the storage in place.
        var text = Substring(text)
        return text.withUTF8 { decimal($0, 0, $0.count) }
    }

    /// The same over `bytes[start..<end]`, for the byte-wise parsers (numa_maps, lists).
    public static func decimal(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
        guard start < end else { return nil }
        var value = 0
        for index in start..<end {
            let byte = bytes[index]
            guard isDigit(byte) else { return nil }
            let (product, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = product.addingReportingOverflow(Int(byte - 0x30))
            if overflowA || overflowB { return nil }
            value = sum
        }
        return value
    }

    /// Whether `bytes[start..<end]` are the UTF-8 of `text`: a parser that keeps a few named
    /// fields finds them without making a String of every name it reads.
    public static func bytes(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, equal text: String) -> Bool {
        var text = text
        return text.withUTF8 { wanted in
            guard wanted.count == end - start else { return false }
            for offset in 0..<wanted.count where wanted[offset] != bytes[start + offset] { return false }
            return true
        }
    }

    /// Unsigned hexadecimal of up to 16 digits (the signal masks of /proc/PID/status); nil on
    /// empty, non-hex, or longer input. Byte-wise: the generic `UInt64(_:radix:)` costs more
    /// than the whole lookup on the launch path.
    public static func hexadecimal(_ text: Substring) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        for byte in text.utf8 {
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x61...0x66: digit = byte - 0x61 + 10
            case 0x41...0x46: digit = byte - 0x41 + 10
            default: return nil
            }
            digits += 1
            guard digits <= 16 else { return nil }
            value = value << 4 | UInt64(digit)
        }
        return digits > 0 ? value : nil
    }

    /// A file holding one decimal number (sysctls, huge page counts).
    public static func number(_ text: String, what: String) throws(ParseError) -> Int {
        guard let value = decimal(trimmed(text)) else {
            throw ParseError(what: what, input: trimmed(text), reason: "not a decimal number")
        }
        return value
    }

    /// Splits into lines at every line feed byte, dropping a trailing empty line. Byte-wise,
    /// not by Character: a split on `"\n"` runs grapheme breaking over every byte (a tenth of
    /// watch's CPU went to it), and would keep `\r\n` (one Character) inside a line, where
    /// the kernel's files end every line at the line feed alone.
    public static func lines(_ text: String) -> [Substring] {
        var text = text
        let ends: [Int] = text.withUTF8 { bytes in
            var ends: [Int] = []
            guard let base = bytes.baseAddress else { return ends }
            var start = 0
            while start < bytes.count, let found = memchr(base + start, 0x0A, bytes.count - start) {
                let end = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
                ends.append(end)
                start = end + 1
            }
            return ends
        }
        let utf8 = text.utf8
        var result: [Substring] = []
        result.reserveCapacity(ends.count + 1)
        var start = utf8.startIndex
        for end in ends {
            let stop = utf8.index(utf8.startIndex, offsetBy: end)
            result.append(text[start..<stop])
            start = utf8.index(after: stop)
        }
        if start < utf8.endIndex { result.append(text[start...]) }
        return result
    }

    /// Trims ASCII whitespace: kernel files are ASCII, and Character.isWhitespace would
    /// consult Unicode tables for every byte.
    public static func trimmed(_ text: some StringProtocol) -> Substring {
        let string = Substring(text)
        func blank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C }
        let utf8 = string.utf8
        guard let first = utf8.firstIndex(where: { !blank($0) }), let last = utf8.lastIndex(where: { !blank($0) }) else { return "" }
        // Past the last non-blank byte is a scalar boundary even when that byte ends a
        // multi-byte character.
        return string[first..<utf8.index(after: last)]
    }
}
