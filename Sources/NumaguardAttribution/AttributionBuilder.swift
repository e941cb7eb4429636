/// The join: each telemetry row goes to the watch sample covering its time (Coverage), and
/// its value to its group (regime × segment) in a ValueSpill, which keeps every value for
/// exact quantiles in bounded memory (a chunk in memory, sorted runs in a scratch file
/// beyond); per sample only a count, mean and sum of squares are kept (for the fit). Rows
/// outside the series are counted by where they fell (before, after, in a gap), never
/// dropped silently.
public struct AttributionBuilder {
    /// Distinct segments (combinations of the --segment columns' values) accepted; more is
    /// not a segmentation a report can show.
    public static let maximumSegments = 10_000
    public static let plotWindows = 600
    /// Joined rows accepted by one join. Memory does not grow with them, but scratch disk
    /// does: 16 bytes a row while the runs are merged, 8 after, 8 more for a regime merged
    /// over segments and again with --plot (about 16 GB at this cap). A 64 GiB file of short
    /// rows holds over a billion, so the cap, not the file size, is what bounds the disk and
    /// the time; past it the join stops at the row that crossed it.
    public static let defaultMaximumJoinedRows = 500_000_000

    public let coverage: Coverage
    public let clockOffset: Int64
    public let segmentColumns: [String]
    public let maximumJoinedRows: Int
    /// Values by group: segment × 4 + regime.
    let values: ValueSpill
    public private(set) var segmentKeys: [String] = []
    private var segmentIDs: [String: Int] = [:]
    public private(set) var before = 0, after = 0, inGaps = 0, noValue = 0
    /// Rows in `groups`, counted as they go in (summing the groups per row would be quadratic).
    public private(set) var joined = 0
    public private(set) var firstTime: Int64?, lastTime: Int64?
    var sampleCounts: [Int], sampleMeans: [Double], sampleM2: [Double]
    /// --plot: values by time window.
    let windows: ValueSpill?
    private var cursor = 0
    public private(set) var files: [TelemetryFileSummary] = []

    public init(coverage: Coverage, clockOffset: Int64 = 0, segmentColumns: [String] = [], plot: Bool = false,
                maximumJoinedRows: Int = defaultMaximumJoinedRows, spill: SpillSettings = SpillSettings()) {
        values = ValueSpill(spill)
        windows = plot ? ValueSpill(spill) : nil
        self.coverage = coverage
        self.maximumJoinedRows = maximumJoinedRows
        self.clockOffset = clockOffset
        self.segmentColumns = segmentColumns
        let count = coverage.samples.count
        sampleCounts = [Int](repeating: 0, count: count)
        sampleMeans = [Double](repeating: 0, count: count)
        sampleM2 = [Double](repeating: 0, count: count)
        if segmentColumns.isEmpty { _ = segment(nil) }
    }

    public var rows: Int { joined + before + after + inGaps + noValue }
    public var outside: Int { before + after + inGaps }

    private mutating func segment(_ key: String?) -> Int? {
        let key = key ?? ""
        if let id = segmentIDs[key] { return id }
        guard segmentKeys.count < Self.maximumSegments else { return nil }
        segmentIDs[key] = segmentKeys.count
        segmentKeys.append(key)
        return segmentKeys.count - 1
    }

    public mutating func add(_ row: TelemetryRow, file: String) throws(AttributionError) {
        let time = Numbers.saturating(row.time, plus: clockOffset)
        firstTime = min(firstTime ?? time, time)
        lastTime = max(lastTime ?? time, time)
        guard let value = row.value else {
            noValue += 1
            return
        }
        switch coverage.locate(time, hint: cursor) {
        case let .failure(reason):
            switch reason.miss {
            case .before: before += 1
            case .after: after += 1
            case .gap: inGaps += 1
            }
        case let .success(index):
            cursor = index
            guard joined < maximumJoinedRows else {
                throw AttributionError(file: file, line: row.line, "more than \(maximumJoinedRows) rows joined: each value is kept "
                                       + "(sorted in scratch files) for exact quantiles; attribute a shorter period, or fewer files, at a time")
            }
            guard let id = segment(row.segment) else {
                throw AttributionError(file: file, line: row.line, "more than \(Self.maximumSegments) distinct segments (\(segmentColumns.joined(separator: ", "))): "
                                       + "segment by fewer columns")
            }
            try values.append(group: id * 4 + coverage.samples[index].regime.rawValue, value: value)
            joined += 1
            let count = sampleCounts[index] + 1
            let delta = value - sampleMeans[index]
            sampleMeans[index] += delta / Double(count)
            sampleM2[index] += delta * (value - sampleMeans[index])
            sampleCounts[index] = count
            if let windows, let first = coverage.first, let last = coverage.last, last > first {
                // In Double: `time − first` and `last − first` can pass Int64.max.
                let position = Coverage.seconds(from: first, to: time) / Coverage.seconds(from: first, to: last) * Double(Self.plotWindows)
                let window = position.isFinite ? Int(min(max(position, 0), Double(Self.plotWindows - 1))) : 0
                try windows.append(group: window, value: value)
            }
        }
    }

    public mutating func noteFile(_ summary: TelemetryFileSummary) {
        files.append(summary)
    }

    /// Every joined value sorted by group (the end of the join: nothing may be added after).
    func sorted() throws(AttributionError) -> SortedGroups { try values.finish() }

    /// The regime's values over every segment, sorted.
    func regimeColumn(_ regime: AttributionRegime) throws(AttributionError) -> SortedColumn {
        try sorted().merged(segmentKeys.indices.map { $0 * 4 + regime.rawValue })
    }

    /// One segment's values over every regime, sorted (the gate's like-for-like unit).
    func segmentColumn(_ id: Int) throws(AttributionError) -> SortedColumn {
        try sorted().merged(AttributionRegime.allCases.map { id * 4 + $0.rawValue })
    }

    /// One segment's rows over every regime.
    func segmentRows(_ id: Int) -> Int {
        AttributionRegime.allCases.reduce(0) { id * 4 + $1.rawValue < values.counts.count ? $0 + values.counts[id * 4 + $1.rawValue] : $0 }
    }
}
