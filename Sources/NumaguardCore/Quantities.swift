/// Why a value's spelling was refused, in words for the diagnostic.
public struct Invalid: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}

/// The value spellings a policy uses, parsed strictly: a size is 1024-based and says so
/// (`GiB`), a share is a percent, so "1GB" or "0.5" cannot silently mean something else.
public enum Quantity {
    static let sizeUnits: [(suffix: String, factor: Int)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1),
    ]

    /// `120GiB`, `256MiB`, `2MiB`, `4096` (bytes), `1.5GiB`, `1 GiB`.
    public static func size(_ text: String) -> Result<Int, Invalid> {
        let trimmed = spacesTrimmed(text)
        for (suffix, factor) in sizeUnits where trimmed.hasSuffix(suffix) {
            // "1GB" ends in "B" too: it falls through to the ambiguity message below.
            guard let value = decimal(trimmed.dropLast(suffix.count)) else { break }
            let bytes = value * Double(factor)
            guard bytes < 9.0e18 else { return .failure(Invalid("\"\(text)\" is too large")) }
            return .success(Int(bytes))
        }
        if !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let bytes = Int(trimmed) { return .success(bytes) }
        let lower = trimmed.lowercased()
        if ["kb", "mb", "gb", "tb", "k", "m", "g", "t"].contains(where: { lower.hasSuffix($0) }) {
            return .failure(Invalid("\"\(text)\" is ambiguous: write sizes in 1024-based units (KiB, MiB, GiB, TiB)"))
        }
        return .failure(Invalid("\"\(text)\" is not a size: expected a number followed by B, KiB, MiB, GiB or TiB"))
    }

    /// A plain decimal, `12` or `1.5`, with spaces around it: no sign, exponent, hex, inf or nan,
    /// so what the schema's patterns say is exactly what is accepted.
    public static func decimal(_ text: some StringProtocol) -> Double? {
        let body = spacesTrimmed(text)
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              let value = Double(body), value.isFinite else { return nil }
        return value
    }

    public static func spacesTrimmed(_ text: some StringProtocol) -> Substring {
        let text = Substring(text)
        guard let first = text.firstIndex(where: { $0 != " " }), let last = text.lastIndex(where: { $0 != " " }) else { return "" }
        return text[first...last]
    }

    /// `1%`, `50%`, `0.5%`: a share in 0...100.
    public static func percent(_ text: String) -> Result<Double, Invalid> {
        let trimmed = spacesTrimmed(text)
        guard trimmed.hasSuffix("%"), let value = decimal(trimmed.dropLast()) else {
            return .failure(Invalid("\"\(text)\" is not a percentage: write it with a % sign, e.g. 1%"))
        }
        guard (0...100).contains(value) else { return .failure(Invalid("\"\(text)\" is outside 0%...100%")) }
        return .success(value)
    }

    /// `1s`, `500ms`, `30s`, `5m`.
    public static func seconds(_ text: String) -> Result<Double, Invalid> {
        let trimmed = spacesTrimmed(text)
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where trimmed.hasSuffix(suffix) {
            if let value = decimal(trimmed.dropLast(suffix.count)), value > 0 {
                return .success(value * factor)
            }
            break
        }
        return .failure(Invalid("\"\(text)\" is not a duration: expected e.g. 500ms, 1s, 30s or 5m"))
    }

    /// `YYYY-MM-DD`, a real calendar day.
    public static func day(_ text: String) -> Result<Day, Invalid> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month) else {
            return .failure(Invalid("\"\(text)\" is not a date: expected YYYY-MM-DD"))
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return .failure(Invalid("\"\(text)\" is not a day of that month")) }
        return .success(Day(year: year, month: month, day: day))
    }
}

/// A calendar day, compared as numbers: waivers expire at the end of their day (UTC).
public struct Day: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public static func < (lhs: Day, rhs: Day) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = "\(value)"
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}
