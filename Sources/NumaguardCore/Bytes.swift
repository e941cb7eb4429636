/// Byte counts in binary units, the way policies write them (`64 MiB`, `1.5 GiB`): one
/// spelling for audit findings and launch refusals, so a number can be matched to the policy.
public enum Bytes {
    public static func text(_ bytes: Int) -> String {
        let units: [(String, Int)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (unit, size) in units where bytes >= size {
            // Whole units and the remainder apart, so a count near Int.max does not overflow.
            let tenths = bytes / size * 10 + (bytes % size * 10 + size / 2) / size
            return tenths % 10 == 0 ? "\(tenths / 10) \(unit)" : "\(tenths / 10).\(tenths % 10) \(unit)"
        }
        return "\(bytes) B"
    }
}
