/// Instants written as RFC 3339 UTC (`2026-11-21T04:33:16Z`, or with milliseconds), computed
/// from seconds since the epoch without the C library's time zone machinery: one spelling for
/// launch records, snapshots, captures and watch events.
public enum UTCTime {
    /// The calendar day of `epochSeconds` in UTC.
    public static func day(_ epochSeconds: Int) -> Day {
        civil(Int((Double(epochSeconds) / 86_400).rounded(.down)))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, or `...SS.mmmZ` with `milliseconds`.
    public static func text(_ epochSeconds: Double, milliseconds: Bool = false) -> String {
        let totalMillis = Int64((epochSeconds * 1000).rounded(.down))
        let millisInDay: Int64 = 86_400_000
        let days = totalMillis >= 0 ? totalMillis / millisInDay : (totalMillis - millisInDay + 1) / millisInDay
        let rest = Int(totalMillis - days * millisInDay)
        let date = civil(Int(days))
        func pad(_ value: Int, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let seconds = rest / 1000
        var text = "\(pad(date.year, 4))-\(pad(date.month))-\(pad(date.day))T\(pad(seconds / 3600)):\(pad(seconds / 60 % 60)):\(pad(seconds % 60))"
        if milliseconds { text += ".\(pad(rest % 1000, 3))" }
        return text + "Z"
    }

    /// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's civil_from_days).
    static func civil(_ days: Int) -> Day {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return Day(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }
}
