/// The nearest valid spelling for a typo: Levenshtein distance, accepted only when small
/// relative to the word, so "numa_balance" suggests "numa_balancing" but "foo" suggests nothing.
/// Shared by the policy loader (keys, choices, workload names) and `run`'s options.
public enum Suggestion {
    /// Words longer than this get no suggestion: the distance costs the product of the lengths,
    /// and a hostile file can make both long.
    static let longestWord = 64

    public static func nearest(to word: String, in candidates: [String]) -> String? {
        let length = word.unicodeScalars.count
        guard length <= longestWord else { return nil }
        let limit = max(2, word.count / 3)
        // A length difference beyond the limit already puts a candidate out of reach.
        let scored = candidates.filter { abs($0.unicodeScalars.count - length) <= limit }
            .map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= limit ? best.0 : nil
    }

    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
