import NumaguardCore
import NumaguardSnapshot

/// `fleet diff`: snapshots of hosts that should be alike (one role), and for each fact the
/// value most of them hold, naming the hosts that hold another.
///
/// The facts are `Snapshot.facts`, the ones `diff` compares (topology, kernel knobs, boot
/// arguments, device locality, cgroup cpusets, placement actors), so a difference here is
/// what `diff` would call drift between the two hosts. Naturally per-host values are never
/// compared (`excluded`): the snapshot's provenance, which is not among the facts, and boot
/// arguments that do not touch placement (`Fact.relevant` false: root=, BOOT_IMAGE=, console=...).
public struct FleetDiff: Encodable, Sendable {
    /// What is never compared, and why: listed in the output so a reader knows what "agree" covers.
    public static let excluded: [(String, String)] = [
        ("host.hostname", "names the host"),
        ("host.machine_id", "unique per installation"),
        ("host.boot_id", "new on every boot"),
        ("taken_at", "when the snapshot was taken"),
        ("tool_version", "which numaguard took it"),
        ("boot.<not a placement parameter>", "root=, BOOT_IMAGE=, console=, quiet and what follows -- name the disk or the console, not placement"),
    ]

    public struct Member: Encodable, Sendable {
        public var name: String
        public var file: String
        public var hostname: String?
        public var kernelRelease: String

        enum CodingKeys: String, CodingKey { case name, file, hostname, kernelRelease = "kernel_release" }
    }

    /// The hosts holding one value of a fact.
    public struct ValueGroup: Encodable, Sendable {
        /// nil: the fact is absent on these hosts (no such node, device, knob or argument).
        public var value: String?
        public var hosts: [String]

        enum CodingKeys: String, CodingKey { case value, hosts }

        /// `value` is written as null for an absent fact, never left out.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(value, forKey: .value)
            try container.encode(hosts, forKey: .hosts)
        }
    }

    /// A fact on which not every compared host agrees.
    public struct Difference: Encodable, Sendable {
        public var id: String
        public var group: DriftGroup
        /// The value held by more hosts than any other; nil when two or more values tie.
        public var majority: ValueGroup?
        /// Everyone else, each value with its hosts, most hosts first.
        public var outliers: [ValueGroup]

        enum CodingKeys: String, CodingKey { case id, group, majority, outliers }

        /// `majority` is written as null for a tie, never left out.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(group, forKey: .group)
            try container.encode(majority, forKey: .majority)
            try container.encode(outliers, forKey: .outliers)
        }
    }

    /// A fact of one host that could not be compared (`path` unreadable on that host), or a
    /// whole host whose file is not a snapshot (`id` is `wholeSnapshot`, `path` the file).
    public struct NotCompared: Encodable, Sendable {
        public var id: String
        public var host: String
        public var path: String
        public var error: String

        public init(id: String, host: String, path: String, error: String) {
            self.id = id
            self.host = host
            self.path = path
            self.error = error
        }
    }

    /// The `id` of a host not compared at all: its file is not a snapshot numaguard reads. One
    /// host's bad file (it wrote the file) does not stop the others' comparison.
    public static let wholeSnapshot = "snapshot"

    public var hosts: [Member]
    public var factsCompared: Int
    public var differences: [Difference]
    public var notCompared: [NotCompared]

    /// 1 when any fact differs, else 3 when some host's fact could not be compared, else 0.
    public var status: ExitStatus {
        if !differences.isEmpty { return .violations }
        if !notCompared.isEmpty { return .incomplete }
        return .success
    }

    /// Hosts that differ from the majority (or sit in a tie) on any fact, in the order given.
    public var outlierHosts: [String] {
        // Without a majority every group is listed under outliers: every host there is named.
        let named = Set(differences.flatMap { $0.outliers.flatMap(\.hosts) })
        return hosts.map(\.name).filter { named.contains($0) }
    }

    enum CodingKeys: String, CodingKey {
        case hosts, status, factsCompared = "facts_compared", differences, notCompared = "not_compared", excluded
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(hosts, forKey: .hosts)
        try container.encode(status.rawValue, forKey: .status)
        try container.encode(factsCompared, forKey: .factsCompared)
        try container.encode(differences, forKey: .differences)
        try container.encode(notCompared, forKey: .notCompared)
        try container.encode(Self.excluded.map { "\($0.0): \($0.1)" }, forKey: .excluded)
    }
}

extension FleetDiff {
    /// `snapshots`: (name, file, snapshot), at least two for a comparison to mean anything;
    /// `refused`: the hosts whose files were not snapshots, listed first under not compared.
    public static func make(_ snapshots: [(name: String, file: String, snapshot: Snapshot)], refused: [NotCompared] = []) -> FleetDiff {
        var order: [String] = []
        var groups: [String: DriftGroup] = [:]
        var values: [[String: Fact]] = []
        for entry in snapshots {
            var byID: [String: Fact] = [:]
            for fact in entry.snapshot.facts where fact.relevant && byID[fact.id] == nil {
                byID[fact.id] = fact
                if groups[fact.id] == nil {
                    order.append(fact.id)
                    groups[fact.id] = fact.group
                }
            }
            values.append(byID)
        }
        var differences: [Difference] = []
        var notCompared = refused
        for id in order {
            guard let group = groups[id] else { continue }
            var compared: [(host: String, fact: Fact?)] = []
            for (index, entry) in snapshots.enumerated() {
                if let gap = entry.snapshot.unreadable.first(where: { id == $0.id || id.hasPrefix($0.id + ".") }) {
                    notCompared.append(NotCompared(id: id, host: entry.name, path: gap.path, error: gap.error))
                } else {
                    compared.append((entry.name, values[index][id]))
                }
            }
            if let difference = difference(id, group, compared) { differences.append(difference) }
        }
        let rank = Dictionary(uniqueKeysWithValues: DriftGroup.allCases.enumerated().map { ($1, $0) })
        differences = differences.enumerated().sorted { lhs, rhs in
            let (left, right) = (rank[lhs.element.group] ?? 0, rank[rhs.element.group] ?? 0)
            return left != right ? left < right : lhs.offset < rhs.offset
        }.map(\.element)
        return FleetDiff(
            hosts: snapshots.map { Member(name: $0.name, file: $0.file, hostname: $0.snapshot.host.hostname, kernelRelease: $0.snapshot.kernel.release) },
            factsCompared: order.count, differences: differences, notCompared: notCompared)
    }

    /// Hosts grouped by value; node memory (a fact with bytes) agrees within
    /// SnapshotComparison.memoryTolerance of the median, as `diff` tolerates it between boots.
    static func difference(_ id: String, _ group: DriftGroup, _ compared: [(host: String, fact: Fact?)]) -> Difference? {
        var valueOrder: [String?] = []
        var hostsByValue: [String?: [String]] = [:]
        func add(_ value: String?, _ host: String) {
            if hostsByValue[value] == nil { valueOrder.append(value) }
            hostsByValue[value, default: []].append(host)
        }
        let sizes = compared.compactMap { $0.fact?.bytes }.sorted()
        let median = sizes.isEmpty ? nil : sizes[sizes.count / 2]
        let medianLabel = compared.first { $0.fact?.bytes == median }?.fact?.value
        for (host, fact) in compared {
            if let bytes = fact?.bytes, let median, let medianLabel, median > 0,
               Double(abs(bytes - median)) < Double(median) * SnapshotComparison.memoryTolerance {
                add("\(medianLabel) (within \(Int(SnapshotComparison.memoryTolerance * 100))%)", host)
            } else {
                add(fact?.value, host)
            }
        }
        guard valueOrder.count > 1 else { return nil }
        let ranked = valueOrder.map { ValueGroup(value: $0, hosts: hostsByValue[$0] ?? []) }
            .enumerated().sorted { $0.element.hosts.count != $1.element.hosts.count ? $0.element.hosts.count > $1.element.hosts.count : $0.offset < $1.offset }
            .map(\.element)
        if ranked[0].hosts.count > ranked[1].hosts.count {
            return Difference(id: id, group: group, majority: ranked[0], outliers: Array(ranked.dropFirst()))
        }
        return Difference(id: id, group: group, majority: nil, outliers: ranked)
    }
}
