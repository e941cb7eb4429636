/// The join: each telemetry row goes to the watch sample covering its time (Coverage), and
/// its value into the array of its group (regime × segment). Values are kept as plain
/// [Double], one array per group, because the quantiles are exact; per sample only a count,
/// mean and sum of squares are kept (for the fit). Rows outside the series are counted by
/// where they fell (before, after, in a gap), never dropped silently.
public struct AttributionBuilder {
    /// Distinct segments (combinations of the --segment columns' values) accepted; more is
    /// not a segmentation a report can show.
    public static let maximumSegments = 10_000
    public static let plotWindows = 600
    /// Joined rows accepted by one join. Each costs 8 bytes of Double kept until the report
    /// (16 at the moment an array doubles, old and new storage both alive), 4 more with
    /// --plot, and the report sorts a regime's values into one more array when there are
    /// segments: about 4 GB at this cap, 12 GB at worst with segments and --plot; gate holds
    /// two joins. A 64 GiB file of short rows holds over a billion, so the cap, not the file
    /// size, is what bounds memory; past it the join stops at the row that crossed it.
    public static let defaultMaximumJoinedRows = 500_000_000

    public let coverage: Coverage
    public let clockOffset: Int64
    public let segmentColumns: [String]
    public let maximumJoinedRows: Int
    /// Values by group: segment × 4 + regime.
    var groups: [[Double]] = []
    public private(set) var segmentKeys: [String] = []
    private var segmentIDs: [String: Int] = [:]
    public private(set) var before = 0, after = 0, inGaps = 0, noValue = 0
    /// Rows in `groups`, counted as they go in (summing the groups per row would be quadratic).
    public private(set) var joined = 0
    public private(set) var firstTime: Int64?, lastTime: Int64?
    var sampleCounts: [Int], sampleMeans: [Double], sampleM2: [Double]
    /// --plot: values by time window (Float: a plot's resolution).
    var windows: [[Float]]?
    private var cursor = 0
    public private(set) var files: [TelemetryFileSummary] = []

    public init(coverage: Coverage, clockOffset: Int64 = 0, segmentColumns: [String] = [], plot: Bool = false,
                maximumJoinedRows: Int = defaultMaximumJoinedRows) {
        self.coverage = coverage
        self.maximumJoinedRows = maximumJoinedRows
        self.clockOffset = clockOffset
        self.segmentColumns = segmentColumns
        let count = coverage.samples.count
        sampleCounts = [Int](repeating: 0, count: count)
        sampleMeans = [Double](repeating: 0, count: count)
        sampleM2 = [Double](repeating: 0, count: count)
        if plot { windows = [[Float]](repeating: [], count: Self.plotWindows) }
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
        groups += [[Double]](repeating: [], count: AttributionRegime.allCases.count)
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
                throw AttributionError(file: file, line: row.line, "more than \(maximumJoinedRows) rows joined: each value is held (8 bytes) "
                                       + "for exact quantiles; attribute a shorter period, or fewer files, at a time")
            }
            guard let id = segment(row.segment) else {
                throw AttributionError(file: file, line: row.line, "more than \(Self.maximumSegments) distinct segments (\(segmentColumns.joined(separator: ", "))): "
                                       + "segment by fewer columns")
            }
            groups[id * 4 + coverage.samples[index].regime.rawValue].append(value)
            joined += 1
            let count = sampleCounts[index] + 1
            let delta = value - sampleMeans[index]
            sampleMeans[index] += delta / Double(count)
            sampleM2[index] += delta * (value - sampleMeans[index])
            sampleCounts[index] = count
            if windows != nil, let first = coverage.first, let last = coverage.last, last > first {
                // In Double: `time − first` and `last − first` can pass Int64.max.
                let position = Coverage.seconds(from: first, to: time) / Coverage.seconds(from: first, to: last) * Double(Self.plotWindows)
                let window = position.isFinite ? Int(min(max(position, 0), Double(Self.plotWindows - 1))) : 0
                windows?[window].append(Float(value))
            }
        }
    }

    public mutating func noteFile(_ summary: TelemetryFileSummary) {
        files.append(summary)
    }

    /// The regime's values over every segment, sorted (one regime at a time: the only copy).
    func regimeValues(_ regime: AttributionRegime) -> [Double] {
        if segmentKeys.count == 1 { return groups[regime.rawValue] } // sorted by sortGroups, not copied
        var values: [Double] = []
        values.reserveCapacity(segmentKeys.indices.reduce(0) { $0 + groups[$1 * 4 + regime.rawValue].count })
        for id in segmentKeys.indices { values.append(contentsOf: groups[id * 4 + regime.rawValue]) }
        values.sort()
        return values
    }

    /// One segment's values over every regime, sorted (the gate's like-for-like unit).
    func segmentValues(_ id: Int) -> [Double] {
        var values: [Double] = []
        for regime in AttributionRegime.allCases { values.append(contentsOf: groups[id * 4 + regime.rawValue]) }
        values.sort()
        return values
    }

    /// Sorts every group in place (the quantiles and the worst-1% threshold read them sorted).
    mutating func sortGroups() {
        for index in groups.indices { groups[index].sort() }
    }
}
