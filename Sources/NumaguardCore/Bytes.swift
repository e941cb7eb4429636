/// Byte counts in binary units, the way policies write them (`64 MiB`, `1.5 GiB`): one
/// spelling for audit findings and launch refusals, so a number can be matched to the policy.
/// The one byte formatter: `inspect` uses it too, with `.always`.
public enum Bytes {
    /// Whether a whole number of units shows its tenth.
    public enum Tenths: Sendable {
        /// `1 GiB`, `1.5 GiB`: as a policy writes sizes (findings, refusals, warnings).
        case whenNonZero
        /// `1.0 GiB`, `1.5 GiB`: inspect's notes and verdicts, whose figures all carry one decimal.
        case always
    }

    /// The policy spelling (`.whenNonZero`). A plain one-argument function, so `map(Bytes.text)` works.
    public static func text(_ bytes: Int) -> String { text(bytes, tenths: .whenNonZero) }

    /// Rounded to the nearest tenth of the largest unit the count reaches (halves up); under
    /// 1 KiB, whole bytes (`512 B`).
    public static func text(_ bytes: Int, tenths: Tenths) -> String {
        let units: [(String, Int)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (unit, size) in units where bytes >= size {
            // Whole units and the remainder apart, so a count near Int.max does not overflow.
            let tenthsCount = bytes / size * 10 + (bytes % size * 10 + size / 2) / size
            let whole = tenthsCount % 10 == 0 && tenths == .whenNonZero
            return whole ? "\(tenthsCount / 10) \(unit)" : "\(tenthsCount / 10).\(tenthsCount % 10) \(unit)"
        }
        return "\(bytes) B"
    }
}
