import NumaguardCore

/// Per-thread CPU masks as the journal records them for `vacate_cpus`: `TIDS=CPUS` groups, one
/// per distinct mask, threads with equal masks compacted into one list (`812-815,820=0-1
/// 816=0-1,4`). A process of thousands of threads pinned alike stays one short group; a
/// journal line has a bound (`maximumBytes`), beyond which the change is made but not
/// recorded (not undoable, and said so).
public struct ThreadMasks: Equatable, Sendable {
    /// The most bytes of one side (before or after) of a vacate line.
    public static let maximumBytes = 64 << 10

    public var masks: [Int: IDSet] = [:]

    public init(_ masks: [Int: IDSet] = [:]) { self.masks = masks }

    public var isEmpty: Bool { masks.isEmpty }

    /// PID_MAX_LIMIT on 64-bit kernels: no thread ID is larger.
    public static let maximumTID = 4_194_304

    /// Groups ordered by their first thread.
    public var text: String {
        var groups: [IDSet: [Int]] = [:]
        for (tid, cpus) in masks { groups[cpus, default: []].append(tid) }
        return groups.map { (tids: $0.value.sorted(), cpus: $0.key) }
            .sorted { ($0.tids.first ?? 0) < ($1.tids.first ?? 0) }
            .map { "\(Self.ranges($0.tids))=\($0.cpus.listString)" }.joined(separator: " ")
    }

    /// Sorted thread IDs as `812-815,820` (thread IDs go far beyond what an IDSet holds).
    static func ranges(_ sorted: [Int]) -> String {
        var parts: [String] = []
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    /// `ranges` back, each ID at most `maximumTID`, ranges ascending; nil otherwise.
    static func tids(_ text: Substring) -> [Int]? {
        var tids: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let low = Lex.decimal(ends[0]), let high = ends.count == 2 ? Lex.decimal(ends[1]) : low,
                  low <= high, high <= maximumTID, tids.count + (high - low) < maximumBytes else { return nil }
            tids += low...high
        }
        return tids
    }

    /// `text` when it fits a journal line, nil when it does not.
    public var journalText: String? {
        let text = text
        return text.utf8.count <= Self.maximumBytes ? text : nil
    }

    /// The journal's text back; nil for anything that is not exactly groups of two lists
    /// (every thread at most once, no empty mask).
    public static func parse(_ text: String) -> ThreadMasks? {
        guard text.utf8.count <= maximumBytes, !text.isEmpty else { return nil }
        var masks: [Int: IDSet] = [:]
        for group in text.split(separator: " ", omittingEmptySubsequences: false) {
            let sides = group.split(separator: "=", omittingEmptySubsequences: false)
            guard sides.count == 2, let tids = Self.tids(sides[0]),
                  let cpus = try? IDListParser.parse(sides[1], what: "CPUs"), !tids.isEmpty, !cpus.isEmpty else { return nil }
            for tid in tids {
                guard masks[tid] == nil else { return nil }
                masks[tid] = cpus
            }
        }
        return ThreadMasks(masks)
    }
}
