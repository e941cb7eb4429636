import ArgumentParser
import NumaguardCore
import NumaguardHost

/// The commands' readings of `SystemClock` (NumaguardHost), the one clock type: today for
/// waiver expiry, and the instant a snapshot or capture records.
extension SystemClock {
    /// Today's date in UTC, or the day given with `--today` (a usage error when malformed).
    static func day(_ override: String?) throws -> Day {
        if let override {
            switch Quantity.day(override) {
            case let .success(day): return day
            case let .failure(invalid): throw ValidationError("--today: \(invalid.message)")
            }
        }
        return UTCTime.day(epochSeconds())
    }

    /// Seconds since the epoch and the same instant in ISO 8601 UTC, for provenance.
    static func now() -> (epoch: Int, iso: String) {
        let now = epochSeconds()
        return (now, UTCTime.text(Double(now)))
    }
}

