/// The statistics attribution and its gate report, with their definitions in one place
/// (README "attribute"): exact quantiles by linear interpolation between order statistics
/// (Hyndman and Fan's type 7, the default of R, NumPy and pandas, so a reader can check a
/// figure in any of them), and a percentile bootstrap with a fixed seed so the same input
/// gives the same interval on every run and machine.
public enum Quantile {
    /// Type 7 on ascending values: h = (n − 1)·p, interpolated between x[⌊h⌋] and x[⌊h⌋ + 1].
    public static func type7<Values: RankedValues>(_ sorted: Values, _ probability: Double) throws(Values.Failure) -> Double? {
        guard sorted.count > 0 else { return nil }
        let h = Double(sorted.count - 1) * probability
        let low = Int(h.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        let lowValue = try sorted.value(at: low), highValue = try sorted.value(at: high)
        return lowValue + (h - Double(low)) * (highValue - lowValue)
    }

    /// In the values' order (ascending, for a column), so the same values give the same
    /// last digits whether they were held in memory or read back from a scratch file.
    public static func mean<Values: RankedValues>(_ values: Values) throws(Values.Failure) -> Double? {
        guard values.count > 0 else { return nil }
        // Kahan's compensated sum: 10 million latencies added naively lose the last digits.
        var sum = 0.0, compensation = 0.0
        for rank in 0..<values.count {
            let y = try values.value(at: rank) - compensation
            let t = sum + y
            compensation = (t - sum) - y
            sum = t
        }
        return sum / Double(values.count)
    }
}

/// xoshiro256** (Blackman and Vigna), seeded through splitmix64: small, fast, and the same
/// stream everywhere, which the bootstrap's reproducibility rests on.
public struct Xoshiro256: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    /// A stream of its own for `label` (a regime, a segment), so one group's interval does not
    /// depend on which groups were resampled before it.
    public init(seed: UInt64, label: String) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in label.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        self.init(seed: seed ^ hash)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in 0..<n by multiply-shift (Lemire); the bias, n/2^64, is far below anything the
    /// bootstrap could show.
    public mutating func index(below n: Int) -> Int {
        Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }
}

/// The percentile bootstrap of quantiles.
public enum Bootstrap {
    public static let resamples = 1000
    /// "numa" in ASCII.
    public static let seed: UInt64 = 0x6E75_6D61
    public static let confidence = 0.95
    /// Each resample draws at most this many rows. A larger group is bootstrapped m out of n
    /// (m = this cap): the replicates' spread around the full group's quantile is scaled by
    /// √(m/n), the m-out-of-n correction valid for quantiles, so the interval is the full
    /// group's and the cost is bounded (1000 × 50,000 draws a group, whatever its size).
    public static let maximumResampleRows = 50_000
    /// Segments whose uplifts get intervals (Uplift.segmentsWithIntervals), and the rows a
    /// resample of one of their groups draws: segment intervals cost 16 × 4 bootstraps at
    /// most, whatever the telemetry's number of segments.
    public static let maximumSegmentIntervals = 16
    public static let maximumSegmentResampleRows = 10_000

    /// `resamples` replicates of each probability's type 7 quantile from `sorted`, already
    /// rescaled to the full group when it was bootstrapped m out of n. Empty for an empty group.
    ///
    /// A resample is never materialised: m indices are drawn into m equal buckets of the
    /// sorted values, the buckets holding the wanted order statistics are found by counting,
    /// and the same draws are replayed to collect just those buckets' indices, so one
    /// resample costs O(m) and no sort.
    public static func replicates<Values: RankedValues>(_ sorted: Values, _ probabilities: [Double], label: String, resamples: Int = resamples,
                                                        cap: Int = maximumResampleRows) throws(Values.Failure) -> [[Double]] {
        let n = sorted.count
        guard n > 0 else { return probabilities.map { _ in [] } }
        let m = min(n, cap)
        var rng = Xoshiro256(seed: seed, label: label)
        var full: [Double] = []
        for p in probabilities { full.append(try Quantile.type7(sorted, p) ?? 0) }
        let scale = (Double(m) / Double(n)).squareRoot()
        let perDraw = Double(m) / Double(n)
        // The ranks (0-based) type 7 needs in a sample of m.
        var ranks: [Int] = []
        for p in probabilities {
            let low = Int((Double(m - 1) * p).rounded(.down))
            ranks.append(low)
            ranks.append(min(low + 1, m - 1))
        }
        let distinctRanks = Array(Set(ranks)).sorted()
        var result = probabilities.map { _ in [Double]() }
        var counts = [Int32](repeating: 0, count: m)
        // Per bucket: which slot of `collected` gathers its draws (-1: none). Reset after use.
        var slotOf = [Int32](repeating: -1, count: m)
        var collected: [[Int]] = []
        var rankValues = [Double](repeating: 0, count: distinctRanks.count)
        for _ in 0..<resamples {
            let replay = rng
            counts.withUnsafeMutableBufferPointer { counts in
                for index in 0..<m { counts[index] = 0 }
                for _ in 0..<m { counts[bucket(rng.index(below: n), perDraw, m)] += 1 }
            }
            // Where each wanted rank falls: its bucket and how many draws precede that bucket.
            var targets: [(bucket: Int, before: Int)] = []
            var cumulative = 0
            var next = 0
            var b = 0
            while b < m, next < distinctRanks.count {
                let here = Int(counts[b])
                while next < distinctRanks.count, distinctRanks[next] < cumulative + here {
                    targets.append((b, cumulative))
                    next += 1
                }
                cumulative += here
                b += 1
            }
            collected.removeAll(keepingCapacity: true)
            for target in targets where slotOf[target.bucket] < 0 {
                slotOf[target.bucket] = Int32(collected.count)
                collected.append([])
            }
            rng = replay
            slotOf.withUnsafeBufferPointer { slotOf in
                for _ in 0..<m {
                    let draw = rng.index(below: n)
                    let slot = slotOf[bucket(draw, perDraw, m)]
                    if slot >= 0 { collected[Int(slot)].append(draw) }
                }
            }
            for index in collected.indices { collected[index].sort() }
            for (position, target) in targets.enumerated() {
                let slot = Int(slotOf[target.bucket])
                rankValues[position] = try sorted.value(at: collected[slot][distinctRanks[position] - target.before])
            }
            for target in targets { slotOf[target.bucket] = -1 }
            for (position, p) in probabilities.enumerated() {
                let h = Double(m - 1) * p
                let low = Int(h.rounded(.down))
                let lowValue = rankValues[distinctRanks.firstIndex(of: low) ?? 0]
                let highValue = rankValues[distinctRanks.firstIndex(of: min(low + 1, m - 1)) ?? 0]
                let replicate = lowValue + (h - Double(low)) * (highValue - lowValue)
                result[position].append(full[position] + scale * (replicate - full[position]))
            }
        }
        return result
    }

    /// Buckets in value order: draw d of n goes to about d·m/n. Only monotonicity matters
    /// (each bucket a contiguous range of draws, the same in both passes): the k-th smallest
    /// draw is the same whichever bucket it is counted in, so a Double product, monotonic in
    /// d, gives the replicates a 128-bit division would, at a fraction of its cost.
    @inline(__always)
    private static func bucket(_ draw: Int, _ perDraw: Double, _ m: Int) -> Int {
        min(Int(Double(draw) * perDraw), m - 1)
    }

    /// The central interval at `confidence` of replicates (type 7 on the sorted replicates).
    public static func interval(_ replicates: [Double], confidence: Double = confidence) -> (low: Double, high: Double)? {
        let finite = replicates.filter(\.isFinite).sorted()
        guard finite.count >= 2, let low = Quantile.type7(finite, (1 - confidence) / 2),
              let high = Quantile.type7(finite, 1 - (1 - confidence) / 2) else { return nil }
        return (low, high)
    }
}
