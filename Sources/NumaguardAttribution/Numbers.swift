/// Decimal numbers from bytes, without a String per value: the common spellings (`123`,
/// `-4.25`, `1e-3`) take Clinger's exact fast path (a mantissa below 2^53 and a power of ten
/// up to 22 are both exact doubles, so one multiply or divide rounds correctly); anything
/// longer goes through the standard library's parser. Hex, inf and nan are refused: a
/// latency of "nan" is an error in the file, not a value.
enum Numbers {
    private static let powers: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// JSON's number grammar; with `json: false` (CSV) a leading `+` is accepted too.
    static func decimal(_ bytes: UnsafeBufferPointer<UInt8>, json: Bool = false) -> Double? {
        let count = bytes.count
        var index = 0
        var negative = false
        if index < count, bytes[index] == 0x2D || (!json && bytes[index] == 0x2B) {
            negative = bytes[index] == 0x2D
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        let integerStart = index
        while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            if digits < 19 { mantissa = mantissa * 10 + UInt64(bytes[index] - 0x30); if mantissa > 0 { digits += 1 } } else { exponent += 1 }
            index += 1
        }
        guard index > integerStart else { return nil }
        if index < count, bytes[index] == 0x2E {
            index += 1
            let fractionStart = index
            while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(bytes[index] - 0x30)
                    if mantissa > 0 { digits += 1 }
                    exponent -= 1
                }
                index += 1
            }
            guard index > fractionStart else { return nil }
        }
        if index < count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            var exponentNegative = false
            if index < count, bytes[index] == 0x2D || bytes[index] == 0x2B {
                exponentNegative = bytes[index] == 0x2D
                index += 1
            }
            let exponentStart = index
            var written = 0
            while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if written < 100_000 { written = written * 10 + Int(bytes[index] - 0x30) }
                index += 1
            }
            guard index > exponentStart else { return nil }
            exponent += exponentNegative ? -written : written
        }
        guard index == count else { return nil }
        if mantissa < (1 << 53), abs(exponent) <= 22 {
            let magnitude = exponent >= 0 ? Double(mantissa) * powers[exponent] : Double(mantissa) / powers[-exponent]
            return negative ? -magnitude : magnitude
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let value = Double(text.hasPrefix("+") ? String(text.dropFirst()) : text), value.isFinite else { return nil }
        return value
    }

    /// Spaces and tabs trimmed off both ends (CSV writers pad columns).
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }
}

extension Numbers {
    /// Time arithmetic that clamps at Int64's ends instead of trapping or wrapping: a time the
    /// library is handed (not only what TimeColumn accepts) plus an offset or minus an interval
    /// stays on its side of every sample rather than wrapping to the other end of time.
    static func saturating(_ time: Int64, plus offset: Int64) -> Int64 {
        let (sum, overflow) = time.addingReportingOverflow(offset)
        return overflow ? (offset > 0 ? .max : .min) : sum
    }

    static func saturating(_ time: Int64, minus offset: Int64) -> Int64 {
        let (difference, overflow) = time.subtractingReportingOverflow(offset)
        return overflow ? (offset > 0 ? .min : .max) : difference
    }
}
