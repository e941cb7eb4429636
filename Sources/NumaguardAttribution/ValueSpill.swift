import NumaguardHost

/// The joined values by group, with memory that does not grow with the rows: exact quantiles
/// need every value in order, so values are held until `chunkRows`, then sorted by (group,
/// value) and written to a scratch file as a run; at the end the runs are merged into one
/// file sorted the same way, read back by rank (SortedColumn). A join that fits one chunk
/// never touches the disk and is sorted in memory; either way the figures are the same.
///
/// Memory: the chunk (12 bytes a value), the merge's read buffers (16 MiB over all runs),
/// 8 bytes per group. Disk: 16 bytes a value for the runs, freed once they are merged into
/// the sorted file (8 bytes a value).
final class ValueSpill {
    let settings: SpillSettings
    private var chunkGroups: [UInt32] = []
    private var chunkValues: [Double] = []
    /// Values per group over every chunk.
    private(set) var counts: [Int] = []
    private var runs: ScratchFile?
    /// Each run's entries in `runs` (RunEntry: 16 bytes).
    private var runBounds: [Range<Int>] = []
    private var sorted: SortedGroups?

    init(_ settings: SpillSettings) {
        self.settings = settings
    }

    func append(group: Int, value: Double) throws(AttributionError) {
        guard sorted == nil else { throw AttributionError(.scratch, file: "join", "a value added after the sort: an internal error") }
        if group >= counts.count { counts += [Int](repeating: 0, count: group + 1 - counts.count) }
        counts[group] += 1
        chunkGroups.append(UInt32(truncatingIfNeeded: group))
        chunkValues.append(value)
        if chunkValues.count >= settings.chunkRows { try writeRun() }
    }

    /// The chunk's values ordered by (group, value), with each group's start: a counting sort
    /// on the groups, then each group's values sorted.
    private func sortChunk() -> (values: [Double], starts: [Int]) {
        var starts = [Int](repeating: 0, count: counts.count + 1)
        for group in chunkGroups { starts[Int(group) + 1] += 1 }
        for index in 1..<starts.count { starts[index] += starts[index - 1] }
        var cursor = starts
        var values = [Double](repeating: 0, count: chunkValues.count)
        for (group, value) in zip(chunkGroups, chunkValues) {
            values[cursor[Int(group)]] = value
            cursor[Int(group)] += 1
        }
        for group in 0..<counts.count where starts[group + 1] - starts[group] > 1 {
            values[starts[group]..<starts[group + 1]].sort()
        }
        return (values, starts)
    }

    private func writeRun() throws(AttributionError) {
        guard !chunkValues.isEmpty else { return }
        let (values, starts) = sortChunk()
        let file: ScratchFile
        if let runs { file = runs } else { file = try SortedGroups.scratch(settings.directory) }
        runs = file
        let first = file.size / MemoryLayout<RunEntry>.stride
        // Written 64 Ki entries (1 MiB) at a time: the run is never a second copy of the chunk.
        var entries: [RunEntry] = []
        entries.reserveCapacity(min(values.count, 1 << 16))
        for group in 0..<counts.count {
            for index in starts[group]..<starts[group + 1] {
                entries.append(RunEntry(group: UInt64(group), value: values[index]))
                if entries.count == 1 << 16 {
                    try SortedGroups.append(entries, to: file)
                    entries.removeAll(keepingCapacity: true)
                }
            }
        }
        try SortedGroups.append(entries, to: file)
        runBounds.append(first..<first + values.count)
        chunkGroups.removeAll(keepingCapacity: true)
        chunkValues.removeAll(keepingCapacity: true)
    }

    /// Every value sorted by (group, value); computed once, the chunk released.
    func finish() throws(AttributionError) -> SortedGroups {
        if let sorted { return sorted }
        let result: SortedGroups
        if runs == nil {
            let (values, starts) = sortChunk()
            result = SortedGroups(.memory(values), counts: counts, starts: starts, settings: settings)
        } else {
            try writeRun()
            result = try mergeRuns()
        }
        chunkGroups = []
        chunkValues = []
        sorted = result
        return result
    }

    /// A k-way merge of the runs into one file of values (the groups are implied by the
    /// counts), each run read through its own buffer.
    private func mergeRuns() throws(AttributionError) -> SortedGroups {
        var starts = [0]
        for count in counts { starts.append(starts[starts.count - 1] + count) }
        guard let runs else { return SortedGroups(.memory([]), counts: counts, starts: starts, settings: settings) }
        let output = try SortedGroups.scratch(settings.directory)
        let bufferEntries = max(256, (16 << 20) / MemoryLayout<RunEntry>.stride / max(runBounds.count, 1))
        var cursors = runBounds.map { RunCursor(runs, $0, bufferEntries: bufferEntries) }
        var heap = MergeHeap<RunEntry>()
        for index in cursors.indices {
            if let first = try cursors[index].next() { heap.push(first, source: index) }
        }
        var out: [Double] = []
        out.reserveCapacity(1 << 16)
        while let (entry, source) = heap.pop() {
            out.append(entry.value)
            if out.count == 1 << 16 {
                try SortedGroups.append(out, to: output)
                out.removeAll(keepingCapacity: true)
            }
            if let next = try cursors[source].next() { heap.push(next, source: source) }
        }
        try SortedGroups.append(out, to: output)
        self.runs = nil // the runs' file is closed, and freed, here
        return SortedGroups(.file(output), counts: counts, starts: starts, settings: settings)
    }
}

/// A run's record on disk: the group widened to 8 bytes so records stay aligned.
struct RunEntry: Comparable, BitwiseCopyable {
    var group: UInt64
    var value: Double

    static func < (a: RunEntry, b: RunEntry) -> Bool {
        a.group != b.group ? a.group < b.group : a.value < b.value
    }
}

/// Reads one run's entries in order through a buffer.
struct RunCursor {
    let file: ScratchFile
    var position: Int
    let end: Int
    let bufferEntries: Int
    var buffer: [RunEntry] = []
    var index = 0

    init(_ file: ScratchFile, _ bounds: Range<Int>, bufferEntries: Int) {
        self.file = file
        position = bounds.lowerBound
        end = bounds.upperBound
        self.bufferEntries = bufferEntries
    }

    mutating func next() throws(AttributionError) -> RunEntry? {
        if index == buffer.count {
            guard position < end else { return nil }
            let length = min(bufferEntries, end - position)
            if buffer.count != length { buffer = [RunEntry](repeating: RunEntry(group: 0, value: 0), count: length) }
            let offset = position * MemoryLayout<RunEntry>.stride
            do {
                try file.read(at: offset, into: &buffer)
            } catch {
                throw AttributionError.scratch(error)
            }
            position += length
            index = 0
        }
        defer { index += 1 }
        return buffer[index]
    }
}

/// A min-heap of the merge's heads, each tagged with the input it came from. Ties go to the
/// lower input, so the same input always merges in the same order.
struct MergeHeap<Element: Comparable> {
    private var items: [(element: Element, source: Int)] = []

    private static func before(_ a: (element: Element, source: Int), _ b: (element: Element, source: Int)) -> Bool {
        a.element < b.element || (!(b.element < a.element) && a.source < b.source)
    }

    mutating func push(_ element: Element, source: Int) {
        items.append((element, source))
        var index = items.count - 1
        while index > 0 {
            let parent = (index - 1) / 2
            guard Self.before(items[index], items[parent]) else { break }
            items.swapAt(parent, index)
            index = parent
        }
    }

    mutating func pop() -> (Element, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var index = 0
            while true {
                let left = 2 * index + 1, right = left + 1
                var smallest = index
                if left < items.count, Self.before(items[left], items[smallest]) { smallest = left }
                if right < items.count, Self.before(items[right], items[smallest]) { smallest = right }
                if smallest == index { break }
                items.swapAt(index, smallest)
                index = smallest
            }
        }
        return (top.element, top.source)
    }
}

/// The spill's values after the sort: each group a column, and merges of several groups
/// (a regime over every segment, a segment over every regime) as columns of their own.
final class SortedGroups {
    let backing: SortedColumn.Backing
    let counts: [Int]
    let starts: [Int]
    let settings: SpillSettings

    init(_ backing: SortedColumn.Backing, counts: [Int], starts: [Int], settings: SpillSettings) {
        self.backing = backing
        self.counts = counts
        self.starts = starts
        self.settings = settings
    }

    func count(_ group: Int) -> Int { group < counts.count ? counts[group] : 0 }

    /// `sharing`: how many columns will be read at once (SortedColumn.blockValues(sharing:)).
    func column(_ group: Int, sharing: Int = 1) -> SortedColumn {
        guard count(group) > 0 else { return .empty }
        return SortedColumn(backing, start: starts[group], count: counts[group], blockValues: SortedColumn.blockValues(sharing: sharing))
    }

    /// The groups' values merged into one sorted column: the group's own when only one has
    /// values; in memory up to a chunk, in a scratch file beyond.
    func merged(_ groups: [Int]) throws(AttributionError) -> SortedColumn {
        let columns = groups.filter { count($0) > 0 }.map { column($0, sharing: groups.count) }
        if columns.count <= 1 { return columns.first ?? .empty }
        let total = columns.reduce(0) { $0 + $1.count }
        var heap = MergeHeap<Double>()
        var positions = [Int](repeating: 0, count: columns.count)
        for (index, column) in columns.enumerated() { heap.push(try column.value(at: 0), source: index) }
        var out: [Double] = []
        out.reserveCapacity(min(total, settings.chunkRows))
        var file: ScratchFile?
        while let (value, source) = heap.pop() {
            out.append(value)
            if out.count == settings.chunkRows, total > settings.chunkRows {
                let target: ScratchFile
                if let file { target = file } else { target = try Self.scratch(settings.directory) }
                file = target
                try Self.append(out, to: target)
                out.removeAll(keepingCapacity: true)
            }
            positions[source] += 1
            if positions[source] < columns[source].count { heap.push(try columns[source].value(at: positions[source]), source: source) }
        }
        guard let file else { return SortedColumn(.memory(out), start: 0, count: out.count) }
        try Self.append(out, to: file)
        return SortedColumn(.file(file), start: 0, count: total)
    }

    static func scratch(_ directory: String) throws(AttributionError) -> ScratchFile {
        do { return try ScratchFile(in: directory) } catch { throw AttributionError.scratch(error) }
    }

    static func append<Element: BitwiseCopyable>(_ elements: [Element], to file: ScratchFile) throws(AttributionError) {
        do {
            try file.append(contentsOf: elements)
        } catch {
            throw AttributionError.scratch(error)
        }
    }
}
