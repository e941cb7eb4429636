/// How a telemetry file spells its times. Detected from the time column's first row and then
/// held to: every later row must be spelled the same way and, for an epoch, in the same unit,
/// so a column mixing seconds and milliseconds is an error at the row that breaks it rather
/// than rows silently joined a thousand times too early.
public enum TimeUnit: Sendable, Equatable {
    case rfc3339, seconds, milliseconds, microseconds, nanoseconds

    public var description: String {
        switch self {
        case .rfc3339: "RFC 3339"
        case .seconds: "epoch seconds"
        case .milliseconds: "epoch milliseconds"
        case .microseconds: "epoch microseconds"
        case .nanoseconds: "epoch nanoseconds"
        }
    }

    var nanoseconds: Int64 {
        switch self {
        case .rfc3339, .seconds: 1_000_000_000
        case .milliseconds: 1_000_000
        case .microseconds: 1000
        case .nanoseconds: 1
        }
    }

    /// An epoch's unit from how many digits its integer part has: 2001-2286 in each unit
    /// (9-10 digits of seconds reach back to 1973), of which TimeColumn keeps up to 2262. The bands do not touch, so a value between
    /// them (11 digits: seconds in the year 5000, or milliseconds in 1973) is refused.
    static func epoch(integerDigits: Int) -> TimeUnit? {
        switch integerDigits {
        case 9...10: .seconds
        case 12...13: .milliseconds
        case 15...16: .microseconds
        case 18...19: .nanoseconds
        default: nil
        }
    }
}

/// A time column's parser: the unit it settled on and the line that settled it.
///
/// Every time it accepts, in every spelling, lies in [1970-01-01, 2262-01-01) UTC: nanoseconds
/// since 1970 as an Int64 reach 2262-04-11, and the 100 days kept short of that leave room for
/// a sample's interval (at most a day), --clock-offset (under a day) and the difference of any
/// two accepted times, so no span the join or the plot computes can overflow. Nothing on a
/// host numaguard watches is timed outside it; a time there is a misread column, refused.
struct TimeColumn {
    /// 1970-01-01T00:00:00Z and 2262-01-01T00:00:00Z (excluded) in nanoseconds.
    static let earliest: Int64 = 0
    static let latest: Int64 = 9_214_646_400_000_000_000
    static let range = "1970-01-01T00:00:00Z to 2262-01-01T00:00:00Z (nanoseconds since 1970 in 64 bits)"

    /// `nanoseconds` if it is in the accepted range, else why not, for the time spelled `spelled`.
    /// (`spelled` is built only for an error: quoting a field costs more than parsing it.)
    static func checked(_ nanoseconds: Int64, _ spelled: @autoclosure () -> String) throws(FieldError) -> Int64 {
        guard nanoseconds >= earliest else { throw FieldError(offset: 0, message: "\(spelled()) is before 1970: times are read from \(range)") }
        guard nanoseconds < latest else { throw FieldError(offset: 0, message: "\(spelled()) is past 2262: times are read from \(range)") }
        return nanoseconds
    }

    private(set) var unit: TimeUnit?
    private(set) var decidedAt = 0

    /// Nanoseconds since the epoch (UTC).
    mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws(FieldError) -> Int64 {
        let text = Numbers.trimmed(bytes)
        guard !text.isEmpty else { throw FieldError(offset: 0, message: "the time is empty") }
        let looksRFC3339 = text.count >= 10 && text[4] == 0x2D
        let found: TimeUnit
        let nanoseconds: Int64
        if looksRFC3339 {
            nanoseconds = try Self.rfc3339(text)
            found = .rfc3339
        } else {
            (nanoseconds, found) = try Self.epoch(text)
        }
        if let unit {
            guard unit == found else {
                throw FieldError(offset: 0, message: "\(FieldError.quoted(text)) reads as \(found.description), but the column's times "
                                 + "are \(unit.description) (decided by line \(decidedAt)): one unit for the whole column")
            }
        } else {
            unit = found
            decidedAt = line
        }
        return nanoseconds
    }

    static func epoch(_ text: UnsafeBufferPointer<UInt8>) throws(FieldError) -> (Int64, TimeUnit) {
        var index = 0
        var integer: Int64 = 0
        var digits = 0
        while index < text.count, text[index] >= 0x30, text[index] <= 0x39 {
            if digits > 0 || text[index] != 0x30 { digits += 1 }
            guard digits <= 19 else { break }
            // 19 digits pass Int64.max (9223372036854775807): reported, never wrapped to a
            // negative time that would count as "before" the series.
            let (shifted, overShift) = integer.multipliedReportingOverflow(by: 10)
            let (next, overAdd) = shifted.addingReportingOverflow(Int64(text[index] - 0x30))
            integer = overShift || overAdd ? Int64.max : next
            index += 1
        }
        func spelled() -> String { FieldError.quoted(text) }
        guard index > 0 else {
            throw FieldError(offset: 0, message: "\(spelled()) is not a time: expected RFC 3339 (2026-12-02T15:50:01.5Z) or an epoch number")
        }
        guard let unit = TimeUnit.epoch(integerDigits: digits) else {
            throw FieldError(offset: 0, message: "\(spelled()) is not an epoch time in any unit: seconds have 9-10 digits, milliseconds 12-13, "
                             + "microseconds 15-16, nanoseconds 18-19 (1973-2262)")
        }
        guard let fraction = fractionNanoseconds(text, &index, unit: unit.nanoseconds) else {
            throw FieldError(offset: index, message: "\(spelled()): digits must follow the decimal point")
        }
        guard index == text.count else { throw FieldError(offset: index, message: "\(spelled()) is not a time: unexpected character") }
        let (scaled, overflow) = integer.multipliedReportingOverflow(by: unit.nanoseconds)
        let (total, overAdd) = scaled.addingReportingOverflow(fraction)
        return (try checked(overflow || overAdd ? Int64.max : total, spelled()), unit)
    }

    /// An optional `.digits` at `index` in nanoseconds, for a number whose unit is `unit`
    /// nanoseconds (digits past a nanosecond are read and ignored); 0 without a point, nil for
    /// a point without digits. `index` ends after what was read.
    static func fractionNanoseconds(_ text: UnsafeBufferPointer<UInt8>, _ index: inout Int, unit: Int64) -> Int64? {
        guard index < text.count, text[index] == 0x2E else { return 0 }
        index += 1
        let start = index
        var fraction: Int64 = 0
        var scale = unit
        while index < text.count, text[index] >= 0x30, text[index] <= 0x39 {
            if scale >= 10 {
                scale /= 10
                fraction += Int64(text[index] - 0x30) * scale
            }
            index += 1
        }
        return index > start ? fraction : nil
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`, `z` and a space for `T` are RFC 3339's too.
    static func rfc3339(_ text: UnsafeBufferPointer<UInt8>) throws(FieldError) -> Int64 {
        func spelled() -> String { FieldError.quoted(text) }
        func fail(_ offset: Int, _ why: String) -> FieldError {
            FieldError(offset: offset, message: "\(spelled()) is not an RFC 3339 time: \(why)")
        }
        func number(_ at: Int, _ width: Int) throws(FieldError) -> Int {
            guard at + width <= text.count else { throw fail(at, "it ends early") }
            var value = 0
            for index in at..<(at + width) {
                guard text[index] >= 0x30, text[index] <= 0x39 else { throw fail(index, "a digit was expected") }
                value = value * 10 + Int(text[index] - 0x30)
            }
            return value
        }
        func expect(_ at: Int, _ bytes: [UInt8]) throws(FieldError) {
            guard at < text.count, bytes.contains(text[at]) else { throw fail(at, "expected \(String(decoding: bytes.prefix(1), as: UTF8.self))") }
        }
        let year = try number(0, 4)
        try expect(4, [0x2D])
        let month = try number(5, 2)
        try expect(7, [0x2D])
        let day = try number(8, 2)
        try expect(10, [0x54, 0x74, 0x20])
        let hour = try number(11, 2)
        try expect(13, [0x3A])
        let minute = try number(14, 2)
        try expect(16, [0x3A])
        let second = try number(17, 2)
        guard (1...12).contains(month) else { throw fail(5, "month \(month)") }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...monthDays).contains(day) else { throw fail(8, "day \(day) of month \(month)") }
        guard hour <= 23, minute <= 59, second <= 60 else { throw fail(11, "the time of day is out of range") }
        var index = 19
        guard let fraction = fractionNanoseconds(text, &index, unit: 1_000_000_000) else { throw fail(index, "digits must follow the decimal point") }
        guard index < text.count else { throw fail(index, "a zone (Z or +HH:MM) is required") }
        var offsetSeconds = 0
        if text[index] == 0x5A || text[index] == 0x7A {
            index += 1
        } else if text[index] == 0x2B || text[index] == 0x2D {
            let sign = text[index] == 0x2D ? -1 : 1
            let hours = try number(index + 1, 2)
            try expect(index + 3, [0x3A])
            let minutes = try number(index + 4, 2)
            guard hours <= 23, minutes <= 59 else { throw fail(index, "the zone offset is out of range") }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
            index += 6
        } else {
            throw fail(index, "a zone (Z or +HH:MM) is required")
        }
        guard index == text.count else { throw fail(index, "unexpected text after the zone") }
        let days = daysFromCivil(year, month, day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        // Four-digit years keep `seconds` within ±3.2e11, so this cannot overflow today; checked
        // all the same, so a wider year field later cannot bring the trap back.
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overAdd) = scaled.addingReportingOverflow(fraction)
        return try checked(overflow || overAdd ? (seconds < 0 ? Int64.min : Int64.max) : total, spelled())
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// `--clock-offset`: a signed duration added to every telemetry time before the join
/// (positive when the telemetry's clock runs behind the watch's).
public enum ClockOffset {
    public static func parse(_ text: String) -> Int64? {
        var body = Substring(text)
        var sign: Int64 = 1
        if body.hasPrefix("-") || body.hasPrefix("+") {
            sign = body.hasPrefix("-") ? -1 : 1
            body = body.dropFirst()
        }
        for (suffix, factor) in [("ns", 1.0), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        where body.hasSuffix(suffix) {
            let number = body.dropLast(suffix.count)
            let parts = number.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
                  let value = Double(number), value * factor < 86_400e9 else { return nil }
            return sign * Int64((value * factor).rounded())
        }
        return nil
    }
}
