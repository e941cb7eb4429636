import NumaguardCore

/// One fact that differs between two snapshots.
public struct DriftChange: Codable, Equatable, Sendable {
    public var id: String
    public var group: DriftGroup
    /// nil: the fact did not exist on that side (a node, a knob, a device, a boot argument).
    public var old: String?
    public var new: String?
    /// Why a change is shown but not counted; nil for counted changes.
    public var note: String?

    public init(id: String, group: DriftGroup, old: String?, new: String?, note: String? = nil) {
        self.id = id
        self.group = group
        self.old = old
        self.new = new
        self.note = note
    }
}

/// A fact that could not be compared because one side could not read it.
public struct NotCompared: Codable, Equatable, Sendable {
    public var id: String
    /// `old` or `new`.
    public var side: String
    public var path: String
    public var error: String
}

/// Which snapshot a side of a diff is, for the header.
public struct DiffSide: Codable, Equatable, Sendable {
    public var file: String
    public var toolVersion: String
    public var takenAt: String
    public var hostname: String?
    public var bootID: String?
    public var kernelRelease: String

    init(file: String, _ snapshot: Snapshot) {
        self.file = file
        toolVersion = snapshot.toolVersion
        takenAt = snapshot.takenAt
        hostname = snapshot.host.hostname
        bootID = snapshot.host.bootID
        kernelRelease = snapshot.kernel.release
    }

    enum CodingKeys: String, CodingKey {
        case file, toolVersion = "tool_version", takenAt = "taken_at", hostname, bootID = "boot_id", kernelRelease = "kernel_release"
    }
}

public struct SnapshotDiff: Encodable, Sendable {
    public var old: DiffSide
    public var new: DiffSide
    /// Placement-relevant changes: these decide the exit status.
    public var changes: [DriftChange]
    /// Shown, never counted: boot arguments that do not touch placement, node memory that
    /// moved by less than the tolerance.
    public var notes: [DriftChange]
    public var notCompared: [NotCompared]

    /// 1 when anything placement-relevant changed, else 3 when something could not be
    /// compared, else 0 (DESIGN.md's diff exit codes).
    public var status: ExitStatus {
        if !changes.isEmpty { return .violations }
        if !notCompared.isEmpty { return .incomplete }
        return .success
    }

    enum CodingKeys: String, CodingKey { case old, new, status, summary, changes, notes, notCompared = "not_compared" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(old, forKey: .old)
        try container.encode(new, forKey: .new)
        try container.encode(status.rawValue, forKey: .status)
        var summary: [String: Int] = [:]
        for change in changes { summary[change.group.rawValue, default: 0] += 1 }
        try container.encode(summary, forKey: .summary)
        try container.encode(changes, forKey: .changes)
        try container.encode(notes, forKey: .notes)
        try container.encode(notCompared, forKey: .notCompared)
    }
}

public enum SnapshotComparison {
    /// Node memory moving by less than this share of the old size is not counted: the
    /// kernel's own reservations shift by megabytes between boots and releases, while a
    /// lost DIMM or a changed memory mode moves far more.
    public static let memoryTolerance = 0.01

    public static func diff(old: Snapshot, oldFile: String, new: Snapshot, newFile: String) -> SnapshotDiff {
        let oldFacts = old.facts
        let newFacts = new.facts
        let oldByID = Dictionary(oldFacts.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let newByID = Dictionary(newFacts.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let unreadable = old.unreadable.map { ("old", $0) } + new.unreadable.map { ("new", $0) }
        func covered(_ id: String) -> Bool {
            unreadable.contains { id == $0.1.id || id.hasPrefix($0.1.id + ".") }
        }
        var ids: [String] = []
        var seen: Set<String> = []
        for fact in oldFacts + newFacts where seen.insert(fact.id).inserted { ids.append(fact.id) }
        let groupOrder = Dictionary(uniqueKeysWithValues: DriftGroup.allCases.enumerated().map { ($1, $0) })
        var changes: [DriftChange] = []
        var notes: [DriftChange] = []
        for id in ids where !covered(id) {
            let before = oldByID[id]
            let after = newByID[id]
            guard before?.value != after?.value, let group = (before ?? after)?.group else { continue }
            var change = DriftChange(id: id, group: group, old: before?.value, new: after?.value)
            if before?.relevant == false || after?.relevant == false {
                change.note = "not a placement parameter"
                notes.append(change)
            } else if let was = before?.bytes, let now = after?.bytes, was > 0,
                      Double(abs(now - was)) < Double(was) * memoryTolerance {
                change.note = "moved by less than \(Int(memoryTolerance * 100))% of the node"
                notes.append(change)
            } else {
                changes.append(change)
            }
        }
        func ordered(_ list: [DriftChange]) -> [DriftChange] {
            list.enumerated().sorted { lhs, rhs in
                let (left, right) = (groupOrder[lhs.element.group] ?? 0, groupOrder[rhs.element.group] ?? 0)
                return left != right ? left < right : lhs.offset < rhs.offset
            }.map(\.element)
        }
        return SnapshotDiff(
            old: DiffSide(file: oldFile, old), new: DiffSide(file: newFile, new),
            changes: ordered(changes), notes: ordered(notes),
            notCompared: unreadable.map { NotCompared(id: $0.1.id, side: $0.0, path: $0.1.path, error: $0.1.error) })
    }
}
