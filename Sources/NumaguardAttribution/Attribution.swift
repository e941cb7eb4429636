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

    init(_ sorted: [Double], worstThreshold: Double?, worstRows: Int) {
        count = sorted.count
        mean = Quantile.mean(sorted)
        p50 = Quantile.type7(sorted, 0.5)
        p95 = Quantile.type7(sorted, 0.95)
        p99 = Quantile.type7(sorted, 0.99)
        if let worstThreshold, worstRows > 0 {
            worstShare = Double(sorted.count - Attribution.lowerBound(sorted, worstThreshold)) / Double(worstRows)
        }
    }
}

public struct Uplift: Sendable {
    public var regime: AttributionRegime
    /// 0.95 or 0.99.
    public var probability: Double
    public var stable: Double
    public var value: Double
    /// value − stable, in the value's unit, with its interval.
    public var difference: Double
    public var interval: (low: Double, high: Double)?
    /// value / stable − 1, where STABLE's quantile is positive.
    public var ratio: Double?
    public var ratioInterval: (low: Double, high: Double)?

    /// Whether the interval excludes 0: an uplift the data show, not noise.
    public var significant: Bool { interval.map { $0.low > 0 || $0.high < 0 } ?? false }
}

public struct SegmentStats: Sendable {
    /// One value per --segment column.
    public var values: [String]
    public var stats: GroupStats
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
    static func lowerBound(_ sorted: [Double], _ threshold: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < threshold { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The overall type 7 quantile `p` (near the top) of sorted groups, walked from their tops
    /// with a heap: n(1 − p) steps, no copy of the values.
    static func upperQuantile(_ groups: [[Double]], _ p: Double) -> Double? {
        let n = groups.reduce(0) { $0 + $1.count }
        guard n > 0 else { return nil }
        let h = Double(n - 1) * p
        let low = Int(h.rounded(.down))
        let wanted = n - low // values from the top down to rank `low`
        var heap = TopHeap(groups)
        var fromTop: [Double] = []
        fromTop.reserveCapacity(wanted)
        while fromTop.count < wanted, let value = heap.pop() { fromTop.append(value) }
        guard let lowValue = fromTop.last else { return nil }
        let highValue = wanted >= 2 ? fromTop[wanted - 2] : lowValue
        return lowValue + (h - Double(low)) * (highValue - lowValue)
    }

    public static func report(_ builder: AttributionBuilder, seriesFiles: [String]) -> AttributionReport {
        var builder = builder
        builder.sortGroups()
        let coverage = builder.coverage
        let threshold = upperQuantile(builder.groups, 0.99)
        let worstRows = threshold.map { t in builder.groups.reduce(0) { $0 + $1.count - lowerBound($1, t) } } ?? 0
        var regimes: [GroupStats] = []
        var segments: [[SegmentStats]] = []
        var replicates: [[[Double]]] = []
        var fulls: [[Double?]] = []
        for regime in AttributionRegime.allCases {
            let values = builder.regimeValues(regime)
            regimes.append(GroupStats(values, worstThreshold: threshold, worstRows: worstRows))
            replicates.append(Bootstrap.replicates(values, [0.95, 0.99], label: regime.key))
            fulls.append([Quantile.type7(values, 0.95), Quantile.type7(values, 0.99)])
            segments.append(builder.segmentColumns.isEmpty ? [] : builder.segmentKeys.indices.compactMap { id in
                let values = builder.groups[id * 4 + regime.rawValue]
                guard !values.isEmpty else { return nil }
                return SegmentStats(values: TelemetryReader.segmentValues(builder.segmentKeys[id]),
                                    stats: GroupStats(values, worstThreshold: threshold, worstRows: worstRows))
            })
        }
        var uplifts: [Uplift] = []
        for regime in AttributionRegime.allCases.dropFirst() {
            for (position, p) in [0.95, 0.99].enumerated() {
                guard let stable = fulls[0][position], let value = fulls[regime.rawValue][position] else { continue }
                let base = replicates[0][position], other = replicates[regime.rawValue][position]
                let differences = zip(other, base).map { $0 - $1 }
                var uplift = Uplift(regime: regime, probability: p, stable: stable, value: value, difference: value - stable,
                                    interval: Bootstrap.interval(differences))
                if stable > 0 {
                    uplift.ratio = value / stable - 1
                    uplift.ratioInterval = Bootstrap.interval(zip(other, base).map { $1 > 0 ? $0 / $1 - 1 : .nan })
                }
                uplifts.append(uplift)
            }
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
        if let windows = builder.windows {
            windowP99 = windows.map { window in
                guard !window.isEmpty else { return nil }
                return Quantile.type7(window.map(Double.init).sorted(), 0.99)
            }
        }
        return AttributionReport(
            seriesFiles: seriesFiles, coverage: coverage, telemetry: builder.files, segmentColumns: builder.segmentColumns,
            clockOffset: builder.clockOffset, rows: builder.rows, joined: builder.joined, before: builder.before, after: builder.after,
            inGaps: builder.inGaps, noValue: builder.noValue, regimeSeconds: regimeSeconds, regimes: regimes, cNuma: cNuma,
            segments: segments, worstThreshold: threshold, worstRows: worstRows, worstOutsideStable: outsideStable, uplifts: uplifts,
            fit: fit, windowP99: windowP99, windowSeconds: coverage.spanSeconds / Double(AttributionBuilder.plotWindows))
    }
}

/// A max-heap over the tops of sorted arrays, popping their values in descending order.
struct TopHeap {
    private let groups: [[Double]]
    private var heap: [(value: Double, group: Int, position: Int)] = []

    init(_ groups: [[Double]]) {
        self.groups = groups
        for (index, group) in groups.enumerated() where !group.isEmpty { push((group[group.count - 1], index, group.count - 1)) }
    }

    mutating func pop() -> Double? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var index = 0
            while true {
                let left = 2 * index + 1, right = left + 1
                var largest = index
                if left < heap.count, heap[left].value > heap[largest].value { largest = left }
                if right < heap.count, heap[right].value > heap[largest].value { largest = right }
                if largest == index { break }
                heap.swapAt(index, largest)
                index = largest
            }
        }
        if top.position > 0 { push((groups[top.group][top.position - 1], top.group, top.position - 1)) }
        return top.value
    }

    private mutating func push(_ entry: (value: Double, group: Int, position: Int)) {
        heap.append(entry)
        var index = heap.count - 1
        while index > 0 {
            let parent = (index - 1) / 2
            guard heap[parent].value < heap[index].value else { break }
            heap.swapAt(parent, index)
            index = parent
        }
    }
}
