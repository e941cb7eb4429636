/// From the joined rows to the figures `attribute` reports: per regime (and per segment in
/// it) count, mean, p50, p95, p99 and its share of the overall worst 1%; the uplift of p95 and
/// p99 in each non-STABLE regime over STABLE with a bootstrap interval; the linear fit of the
/// value on the rates.
public struct GroupStats: Sendable {
    public var count: Int
    public var mean: Double?
    public var p50: Double?, p95: Double?, p99: Double?
    /// The share of the overall worst 1% of rows that is in this group.
    public var worstShare: Double?

    init<Values: RankedValues>(_ sorted: Values, worstThreshold: Double?, worstRows: Int) throws(Values.Failure) {
        count = sorted.count
        mean = try Quantile.mean(sorted)
        p50 = try Quantile.type7(sorted, 0.5)
        p95 = try Quantile.type7(sorted, 0.95)
        p99 = try Quantile.type7(sorted, 0.99)
        if let worstThreshold, worstRows > 0 {
            worstShare = Double(sorted.count - (try Attribution.lowerBound(sorted, worstThreshold))) / Double(worstRows)
        }
    }
}

public struct SegmentStats: Sendable {
    /// One value per --segment column.
    public var values: [String]
    public var stats: GroupStats
    /// In a regime other than STABLE, for the segments with intervals (Bootstrap.maximum-
    /// SegmentIntervals): p95 and p99 over the same segment's STABLE rows.
    public var uplifts: [Uplift] = []
}

public struct AttributionReport: Sendable {
    public var seriesFiles: [String]
    public var coverage: Coverage
    public var telemetry: [TelemetryFileSummary]
    public var segmentColumns: [String]
    public var clockOffset: Int64
    public var rows: Int, joined: Int, before: Int, after: Int, inGaps: Int, noValue: Int
    public var regimeSeconds: [Double]
    public var regimes: [GroupStats]
    public var cNuma: [Double?]
    public var segments: [[SegmentStats]]
    public var worstThreshold: Double?
    public var worstRows: Int
    public var worstOutsideStable: Double?
    public var uplifts: [Uplift]
    public var fit: LinearFit?
    /// --plot: each window's p99 (nil when empty) and the window's length in seconds.
    public var windowP99: [Double?]
    public var windowSeconds: Double
}

public enum Attribution {
    public static let quantileDefinition = "linear interpolation between order statistics, h = (n-1)p (Hyndman-Fan type 7, as numpy and pandas)"
    public static let worstDefinition = "rows whose value is at or above the overall p99 (ties included, so at least 1%)"

    /// Index of the first value ≥ `threshold` in ascending `sorted`.
    static func lowerBound<Values: RankedValues>(_ sorted: Values, _ threshold: Double) throws(Values.Failure) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if try sorted.value(at: middle) < threshold { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The overall type 7 quantile `p` (near the top) of sorted groups, walked from their tops
    /// with a heap: n(1 − p) steps, no copy of the values.
    static func upperQuantile<Values: RankedValues>(_ groups: [Values], _ p: Double) throws(Values.Failure) -> Double? {
        let n = groups.reduce(0) { $0 + $1.count }
        guard n > 0 else { return nil }
        let h = Double(n - 1) * p
        let low = Int(h.rounded(.down))
        let wanted = n - low // values from the top down to rank `low`
        var heap = try TopHeap(groups)
        // Only the last two values popped are needed: memory stays flat however many rows
        // the top 1% holds.
        var popped = 0
        var last: Double?, beforeLast: Double?
        while popped < wanted, let value = try heap.pop() {
            beforeLast = last
            last = value
            popped += 1
        }
        guard let lowValue = last else { return nil }
        let highValue = wanted >= 2 ? beforeLast ?? lowValue : lowValue
        return lowValue + (h - Double(low)) * (highValue - lowValue)
    }

    /// Reads the builder's values back sorted: in memory, or from its scratch files (whose
    /// read errors, `.scratch`, are the only ones).
    public static func report(_ builder: AttributionBuilder, seriesFiles: [String]) throws(AttributionError) -> AttributionReport {
        let coverage = builder.coverage
        let sorted = try builder.sorted()
        let groupCount = builder.segmentKeys.count * 4
        let groups = (0..<groupCount).map { sorted.column($0, sharing: groupCount) }
        let threshold = try upperQuantile(groups, 0.99)
        var worstRows = 0
        if let threshold {
            for group in groups { worstRows += group.count - (try lowerBound(group, threshold)) }
        }
        var regimes: [GroupStats] = []
        var segments: [[SegmentStats]] = []
        var bootstrapped: [Bootstrapped] = []
        let withIntervals = Uplift.segmentsWithIntervals(builder)
        var segmentStable: [Int: Bootstrapped] = [:]
        for regime in AttributionRegime.allCases {
            let values = try builder.regimeColumn(regime)
            regimes.append(try GroupStats(values, worstThreshold: threshold, worstRows: worstRows))
            bootstrapped.append(try Bootstrapped(values, label: regime.key))
            var inRegime: [SegmentStats] = []
            if !builder.segmentColumns.isEmpty {
                for id in builder.segmentKeys.indices where groups[id * 4 + regime.rawValue].count > 0 {
                    let key = builder.segmentKeys[id], column = groups[id * 4 + regime.rawValue]
                    var segment = SegmentStats(values: TelemetryReader.segmentValues(key),
                                               stats: try GroupStats(column, worstThreshold: threshold, worstRows: worstRows))
                    if withIntervals.contains(id) {
                        let label = regime.key + TelemetryReader.segmentSeparatorText + key
                        let here = try Bootstrapped(column, label: label, cap: Bootstrap.maximumSegmentResampleRows)
                        if regime == .stable {
                            segmentStable[id] = here
                        } else if let stable = segmentStable[id] {
                            segment.uplifts = Uplift.between(regime, stable: stable, other: here)
                        }
                    }
                    inRegime.append(segment)
                }
            }
            segments.append(inRegime)
        }
        var uplifts: [Uplift] = []
        for regime in AttributionRegime.allCases.dropFirst() {
            uplifts += Uplift.between(regime, stable: bootstrapped[0], other: bootstrapped[regime.rawValue])
        }
        let samples = coverage.samples
        let fit = LinearFit.fit(samples.map(\.hintFaultsPerSecond), samples.map(\.pagesMigratedPerSecond), counts: builder.sampleCounts,
                                means: builder.sampleMeans, m2: builder.sampleM2, names: ("hint_faults_per_s", "pages_migrated_per_s"))
        var cNuma: [Double?] = []
        var regimeSeconds = [Double](repeating: 0, count: 4)
        for (index, sample) in samples.enumerated() { regimeSeconds[sample.regime.rawValue] += Coverage.seconds(from: coverage.starts[index], to: sample.end) }
        for regime in AttributionRegime.allCases {
            guard let fit else {
                cNuma.append(nil)
                continue
            }
            var sum = 0.0, rows = 0
            for (index, sample) in samples.enumerated() where sample.regime == regime && builder.sampleCounts[index] > 0 {
                guard let term = fit.contribution(sample.hintFaultsPerSecond, sample.pagesMigratedPerSecond) else { continue }
                sum += Double(builder.sampleCounts[index]) * term
                rows += builder.sampleCounts[index]
            }
            cNuma.append(rows > 0 ? sum / Double(rows) : nil)
        }
        let outsideStable = worstRows > 0
            ? regimes.dropFirst().reduce(0.0) { $0 + ($1.worstShare ?? 0) } : nil
        var windowP99: [Double?] = []
        if let windows = try builder.windows?.finish() {
            for window in 0..<AttributionBuilder.plotWindows { windowP99.append(try Quantile.type7(windows.column(window), 0.99)) }
        }
        return AttributionReport(
            seriesFiles: seriesFiles, coverage: coverage, telemetry: builder.files, segmentColumns: builder.segmentColumns,
            clockOffset: builder.clockOffset, rows: builder.rows, joined: builder.joined, before: builder.before, after: builder.after,
            inGaps: builder.inGaps, noValue: builder.noValue, regimeSeconds: regimeSeconds, regimes: regimes, cNuma: cNuma,
            segments: segments, worstThreshold: threshold, worstRows: worstRows, worstOutsideStable: outsideStable, uplifts: uplifts,
            fit: fit, windowP99: windowP99, windowSeconds: coverage.spanSeconds / Double(AttributionBuilder.plotWindows))
    }
}

/// The values of sorted groups in descending order, from their tops: the merge's heap
/// (ValueSpill's MergeHeap) with the order reversed.
struct TopHeap<Values: RankedValues> {
    private struct Descending: Comparable {
        var value: Double
        static func < (a: Descending, b: Descending) -> Bool { a.value > b.value }
    }

    private let groups: [Values]
    /// Each group's next rank to push (−1: exhausted).
    private var next: [Int]
    private var heap = MergeHeap<Descending>()

    init(_ groups: [Values]) throws(Values.Failure) {
        self.groups = groups
        next = groups.map { $0.count - 2 }
        for (index, group) in groups.enumerated() where group.count > 0 {
            heap.push(Descending(value: try group.value(at: group.count - 1)), source: index)
        }
    }

    mutating func pop() throws(Values.Failure) -> Double? {
        guard let (top, group) = heap.pop() else { return nil }
        if next[group] >= 0 {
            heap.push(Descending(value: try groups[group].value(at: next[group])), source: group)
            next[group] -= 1
        }
        return top.value
    }
}
