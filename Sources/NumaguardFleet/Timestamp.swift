import NumaguardCore

/// RFC 3339 UTC instants (`2026-11-21T04:33:16Z`, as certify's `certified_at` and `--now`
/// spell them) back to seconds since the epoch: the inverse of UTCTime.text, strict, no
/// offsets other than Z, so two spellings of one instant cannot compare differently.
public enum Timestamp {
    /// nil when `text` is not `YYYY-MM-DDTHH:MM:SS[.fff]Z` naming a real instant.
    public static func epochSeconds(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 30, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let hour = number(11..<13), hour < 24, let minute = number(14..<16), minute < 60,
              let second = number(17..<19), second < 60 else { return nil }
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 21, number(20..<(bytes.count - 1)) != nil else { return nil }
        }
        guard case let .success(day) = Quantity.day(String(decoding: bytes[0..<10], as: UTF8.self)) else { return nil }
        return days(day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// Days from 1970-01-01 to `day` (Howard Hinnant's days_from_civil, UTCTime.civil's inverse).
    static func days(_ day: Day) -> Int {
        let year = day.month <= 2 ? day.year - 1 : day.year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (day.month > 2 ? day.month - 3 : day.month + 9) + 2) / 5 + day.day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
