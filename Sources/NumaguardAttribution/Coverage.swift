/// Which sample covers an instant. Samples from every --series file are sorted by their end
/// time; each covers (end − interval, end]. Where two overlap (two watches, or a series given
/// twice) the instant belongs to the earlier-ending sample: the later one's start is moved up
/// to the earlier's end, so every instant has at most one sample and no row counts twice. A
/// sample with the same end as one before it is a duplicate and dropped (both counted in the
/// report). Time not covered by any sample (before the first, after the last, a gap longer
/// than the interval where watch was stopped) leaves rows outside: counted, never joined.
public struct Coverage: Sendable {
    public private(set) var samples: [WatchSample]
    /// Each sample's effective start (exclusive), after clipping overlaps.
    public private(set) var starts: [Int64]
    public private(set) var duplicates = 0
    public private(set) var overlaps = 0
    public private(set) var gaps = 0

    public init(_ unsorted: [WatchSample]) {
        let sorted = unsorted.enumerated().sorted { ($0.element.end, $0.offset) < ($1.element.end, $1.offset) }.map(\.element)
        var kept: [WatchSample] = []
        var starts: [Int64] = []
        kept.reserveCapacity(sorted.count)
        for sample in sorted {
            var start = Numbers.saturating(sample.end, minus: sample.interval)
            if let last = kept.last {
                if sample.end == last.end {
                    duplicates += 1
                    continue
                }
                if start < last.end {
                    overlaps += 1
                    start = last.end
                } else if start > last.end {
                    gaps += 1
                }
            }
            kept.append(sample)
            starts.append(start)
        }
        samples = kept
        self.starts = starts
    }

    public var first: Int64? { starts.first }
    public var last: Int64? { samples.last?.end }

    /// Seconds covered by some sample.
    public var coveredSeconds: Double {
        zip(samples, starts).reduce(0.0) { $0 + Self.seconds(from: $1.1, to: $1.0.end) }
    }

    /// Seconds from the first sample's start to the last's end; 0 without samples.
    public var spanSeconds: Double {
        guard let first, let last else { return 0 }
        return Self.seconds(from: first, to: last)
    }

    /// `end − start` in seconds, computed in Double: the Int64 difference of two times can
    /// overflow where the times themselves do not (the library takes any WatchSample, not
    /// only the range TimeColumn accepts), and a trap is not a report.
    static func seconds(from start: Int64, to end: Int64) -> Double {
        (Double(end) - Double(start)) / 1e9
    }

    public enum Miss: Sendable { case before, after, gap }

    /// The covering sample's index, or why there is none. `hint`: the index found last, tried
    /// first (telemetry is mostly in time order, so the join is a merge, with a binary search
    /// only where the rows jump).
    public func locate(_ time: Int64, hint: Int) -> Result<Int, MissReason> {
        let count = samples.count
        if hint < count, time <= samples[hint].end, time > starts[hint] { return .success(hint) }
        if hint + 1 < count, time <= samples[hint + 1].end, time > starts[hint + 1] { return .success(hint + 1) }
        guard let first = starts.first, let last = samples.last?.end else { return .failure(MissReason(.gap)) }
        if time <= first { return .failure(MissReason(.before)) }
        if time > last { return .failure(MissReason(.after)) }
        var low = 0
        var high = count - 1
        while low < high {
            let middle = (low + high) / 2
            if samples[middle].end < time { low = middle + 1 } else { high = middle }
        }
        return time > starts[low] ? .success(low) : .failure(MissReason(.gap))
    }

    public struct MissReason: Error, Sendable {
        public var miss: Miss
        init(_ miss: Miss) { self.miss = miss }
    }
}
