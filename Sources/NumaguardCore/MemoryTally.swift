/// Bytes per node of one process, summed as numa_maps is scanned, in the two breakdowns
/// inspect and audit need: numastat -p's categories, and backing (what follows the memory
/// policy versus page cache). Kept as arrays indexed by node id so adding a mapping costs a
/// few array writes, not a dictionary per mapping.
public struct MemoryTally: Equatable, Sendable {
    /// numastat -p's rows: a mapping is Huge, Heap, Stack or else Private (numastat.c).
    public enum Category: Int, CaseIterable, Sendable {
        case huge, heap, stack, `private`
    }

    /// Anonymous memory follows the process's policy; page cache is placed by whoever first
    /// faulted it. File mappings holding both private copies and page-cache pages are
    /// `mixed`: numa_maps gives their per-node counts but not the split, so they are not guessed.
    public enum Backing: Int, CaseIterable, Sendable {
        case anonymous, file, mixed
    }

    public struct PolicyUsage: Equatable, Sendable {
        public var policy: MemoryPolicy
        public var mappings: Int
        /// Bytes indexed by node id.
        public var bytes: [Int]
    }

    public private(set) var byCategory: [[Int]] = Array(repeating: [], count: Category.allCases.count)
    public private(set) var byBacking: [[Int]] = Array(repeating: [], count: Backing.allCases.count)
    public private(set) var policies: [PolicyUsage] = []
    public private(set) var mappings = 0

    public init() {}

    public static func backing(of mapping: Mapping) -> Backing {
        guard mapping.fileBacked, !mapping.huge else { return .anonymous }
        if mapping.anon == 0 { return .file }
        return mapping.anon >= mapping.totalPages ? .anonymous : .mixed
    }

    public static func category(of mapping: Mapping) -> Category {
        switch mapping.kind {
        case .huge: .huge
        case .heap: .heap
        case .stack: .stack
        case .file, .anon: .private
        }
    }

    public mutating func add(_ mapping: Mapping) {
        let added = Added(policy: usageIndex(for: mapping.policy), category: Self.category(of: mapping).rawValue,
                          backing: Self.backing(of: mapping).rawValue,
                          pageBytes: KernelArithmetic.product(mapping.pageSizeKiB ?? 0, 1024))
        lastAdded = added
        apply(added, mapping.nodePages)
    }

    /// `add`, for a mapping the scanner says repeats the one added last but for its address
    /// (`NumaMapsScanner.scan`'s `repeatsPrevious`): its policy, category, backing and page
    /// size are taken from that one instead of being looked at again.
    public mutating func add(_ mapping: Mapping, repeatsPrevious: Bool) {
        guard repeatsPrevious, let lastAdded else { return add(mapping) }
        apply(lastAdded, mapping.nodePages)
    }

    /// Where a mapping's bytes go: what `add` decides once per distinct mapping. (Only this
    /// is kept: holding the mapping would share its node array with the scanner's, which
    /// would then copy it at every line.)
    private struct Added {
        var policy: Int
        var category: Int
        var backing: Int
        var pageBytes: Int
    }

    private var lastAdded: Added?

    private mutating func apply(_ added: Added, _ nodePages: [Mapping.NodePages]) {
        mappings += 1
        policies[added.policy].mappings += 1
        // Products and sums saturate: the parser refuses lines whose bytes overflow, but many
        // real-looking lines can still add up past Int.max (see KernelArithmetic).
        for entry in nodePages where entry.node >= 0 && entry.node <= KernelArithmetic.maximumNode {
            let bytes = KernelArithmetic.product(entry.pages, added.pageBytes)
            Self.add(bytes, at: entry.node, to: &byCategory[added.category])
            Self.add(bytes, at: entry.node, to: &byBacking[added.backing])
            Self.add(bytes, at: entry.node, to: &policies[added.policy].bytes)
        }
    }

    /// Equal sums are equal tallies, whatever order the mappings came in (the lookup caches
    /// are not compared).
    public static func == (lhs: MemoryTally, rhs: MemoryTally) -> Bool {
        lhs.byCategory == rhs.byCategory && lhs.byBacking == rhs.byBacking && lhs.policies == rhs.policies && lhs.mappings == rhs.mappings
    }

    /// Nodes holding any of this process's pages.
    public var nodes: [Int] {
        let width = byCategory.map(\.count).max() ?? 0
        return (0..<width).filter { node in byCategory.contains { node < $0.count && $0[node] != 0 } }
    }

    public func bytes(_ category: Category, on node: Int) -> Int { Self.value(byCategory[category.rawValue], node) }
    public func bytes(_ backing: Backing, on node: Int) -> Int { Self.value(byBacking[backing.rawValue], node) }

    public func total(_ backing: Backing) -> Int { byBacking[backing.rawValue].saturatingSum }

    public func bytes(_ backing: Backing, outside nodes: IDSet) -> Int {
        let values = byBacking[backing.rawValue]
        return values.indices.lazy.filter { !nodes.contains($0) }.map { values[$0] }.saturatingSum
    }

    /// The share of anonymous memory held off `nodes`, 0 when there is none: what a
    /// policy's `max_remote` bounds (page cache is placed by whoever faulted it first).
    public func remoteAnonymousShare(off nodes: IDSet) -> Double {
        let anonymous = total(.anonymous)
        return anonymous > 0 ? Double(bytes(.anonymous, outside: nodes)) / Double(anonymous) : 0
    }

    static func value(_ values: [Int], _ node: Int) -> Int { node >= 0 && node < values.count ? values[node] : 0 }

    private static func add(_ bytes: Int, at node: Int, to values: inout [Int]) {
        if node >= values.count { values.append(contentsOf: repeatElement(0, count: node - values.count + 1)) }
        values[node] = KernelArithmetic.sum(values[node], bytes)
    }

    /// Few distinct policies per process; the last one used is almost always the next.
    private var lastUsage = 0

    private mutating func usageIndex(for policy: MemoryPolicy) -> Int {
        if lastUsage < policies.count && policies[lastUsage].policy == policy { return lastUsage }
        if let index = policies.firstIndex(where: { $0.policy == policy }) {
            lastUsage = index
            return index
        }
        policies.append(PolicyUsage(policy: policy, mappings: 0, bytes: []))
        lastUsage = policies.count - 1
        return lastUsage
    }
}
