/// Bytes per node of one process, summed as numa_maps is scanned, in the two breakdowns
/// inspect and audit need: numastat -p's categories, and backing (what follows the memory
/// policy versus page cache). Kept in one flat array of per-node rows so adding a mapping
/// costs a few array writes, not a dictionary per mapping.
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

    /// One row per node holding the sums every mapping adds to: numastat's four categories,
    /// then the three backings. One flat array of fixed-width rows, so adding a node's pages
    /// is two adds after one uniqueness check (an array per category and backing cost four).
    private var rows: [Int] = []
    private var nodeCount = 0
    /// Per policy in the order first seen: the policy, its mapping count and its bytes per
    /// node, each array as long as that policy's own highest node (so many policies cost what
    /// their own lines name, never policies × nodes).
    private var policyList: [MemoryPolicy] = []
    /// Each listed policy's `identity`, to find one without loading (and retaining) a policy.
    private var policyIdentities: [MemoryPolicy.Identity] = []
    private var policyMappings: [Int] = []
    private var policyBytes: [[Int]] = []
    /// Beyond `linearPolicies`, each policy's index by value and by identity (a policy the
    /// scanner hands again, the same storage, is found without hashing its node set). Up to
    /// there the lists are searched: a dictionary's generic metadata is built at run time by
    /// the static front, a twentieth of a small inspect.
    private var policyIndex: [MemoryPolicy: Int] = [:]
    private var policyIndexByIdentity: [MemoryPolicy.Identity: Int] = [:]
    private static let linearPolicies = 16
    public private(set) var mappings = 0

    /// A row's width and where its backings start: the counts of `Category` and `Backing`,
    /// spelled as literals so the hot path reads constants (init checks they still agree).
    private static let backingSlots = 4
    private static let rowWidth = 7

    public init() {
        assert(Self.backingSlots == Category.allCases.count && Self.rowWidth == Self.backingSlots + Backing.allCases.count)
    }

    /// Each policy seen, with its mapping count and bytes per node (indexed by node id).
    public var policies: [PolicyUsage] {
        policyList.indices.map { PolicyUsage(policy: policyList[$0], mappings: policyMappings[$0], bytes: policyBytes[$0]) }
    }

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
        let added = added(mapping)
        mapping.nodePages.withUnsafeBufferPointer { apply(added, $0) }
    }

    /// Where a mapping's bytes go: what `add` decides, and `MemoryTallyBuilder` once per shape.
    struct Added: Equatable {
        var policy = 0
        var category = 0
        var backing = 0
        var pageBytes = 0
    }

    mutating func added(_ mapping: Mapping) -> Added {
        added(policy: mapping.policy, known: -1, category: Self.category(of: mapping).rawValue,
              backing: Self.backing(of: mapping).rawValue, pageBytes: KernelArithmetic.product(mapping.pageSizeKiB ?? 0, 1024))
    }

    /// The same from what a line's summary says (`NumaMapsLineSummary`); `known`: the index
    /// the caller last found for a policy spelled the same (or -1), taken when its identity is
    /// this policy's. (The tally keeps each indexed policy, so its storage is never another's.)
    mutating func added(policy: MemoryPolicy, known: Int, category: Int, backing: Int, pageBytes: Int) -> Added {
        let index: Int
        if known >= 0, known < policyIdentities.count, policyIdentities[known] == policy.identity {
            index = known
            lastUsage = known
        } else {
            index = usageIndex(for: policy)
        }
        return Added(policy: index, category: category, backing: backing, pageBytes: pageBytes)
    }

    /// Adds `times` mappings with these node pages, as adding each would (sums saturate, so
    /// once or `times` times over is the same).
    mutating func apply(_ added: Added, _ nodePages: UnsafeBufferPointer<Mapping.NodePages>, times: Int = 1) {
        apply(added, nodePages, mappings: times, times: times)
    }

    /// Adds `count` mappings whose pages come to `nodePages` together (`MemoryTallyBuilder`'s
    /// batches): every count is at least zero and sums saturate, so pages summed first give
    /// the bytes the mappings' own would.
    mutating func apply(_ added: Added, _ nodePages: UnsafeBufferPointer<Mapping.NodePages>, mappings count: Int) {
        apply(added, nodePages, mappings: count, times: 1)
    }

    private mutating func apply(_ added: Added, _ nodePages: UnsafeBufferPointer<Mapping.NodePages>, mappings count: Int, times: Int) {
        mappings += count
        policyMappings[added.policy] += count
        for entry in nodePages where entry.node >= 0 && entry.node <= KernelArithmetic.maximumNode {
            if entry.node >= nodeCount { addNodes(through: entry.node) }
            // Products and sums saturate: the parser refuses lines whose bytes overflow, but many
            // real-looking lines can still add up past Int.max (see KernelArithmetic).
            let once = KernelArithmetic.product(entry.pages, added.pageBytes)
            let bytes = times == 1 ? once : KernelArithmetic.product(once, times)
            let row = entry.node * Self.rowWidth
            rows.withUnsafeMutableBufferPointer { rows in
                let category = row + added.category, backing = row + Self.backingSlots + added.backing
                rows[category] = KernelArithmetic.sum(rows[category], bytes)
                rows[backing] = KernelArithmetic.sum(rows[backing], bytes)
            }
            Self.add(bytes, at: entry.node, to: &policyBytes[added.policy])
        }
    }

    private mutating func addNodes(through node: Int) {
        rows.append(contentsOf: repeatElement(0, count: (node + 1 - nodeCount) * Self.rowWidth))
        nodeCount = node + 1
    }

    private static func add(_ bytes: Int, at node: Int, to values: inout [Int]) {
        if node >= values.count { values.append(contentsOf: repeatElement(0, count: node - values.count + 1)) }
        values[node] = KernelArithmetic.sum(values[node], bytes)
    }

    /// Equal sums are equal tallies: the same mapping count, the same policies (in the order
    /// first seen, each with its bytes per node) and the same bytes on every node in every
    /// category and backing (a node with nothing counted there equals a node not seen).
    public static func == (lhs: MemoryTally, rhs: MemoryTally) -> Bool {
        guard lhs.mappings == rhs.mappings, lhs.policies == rhs.policies else { return false }
        return (0..<max(lhs.nodeCount, rhs.nodeCount)).allSatisfy { node in
            Category.allCases.allSatisfy { lhs.bytes($0, on: node) == rhs.bytes($0, on: node) }
                && Backing.allCases.allSatisfy { lhs.bytes($0, on: node) == rhs.bytes($0, on: node) }
        }
    }

    /// Nodes holding any of this process's pages.
    public var nodes: [Int] {
        (0..<nodeCount).filter { node in Category.allCases.contains { bytes($0, on: node) != 0 } }
    }

    public func bytes(_ category: Category, on node: Int) -> Int { slot(category.rawValue, node) }
    public func bytes(_ backing: Backing, on node: Int) -> Int { slot(Self.backingSlots + backing.rawValue, node) }

    public func total(_ backing: Backing) -> Int { (0..<nodeCount).lazy.map { self.bytes(backing, on: $0) }.saturatingSum }

    public func bytes(_ backing: Backing, outside nodes: IDSet) -> Int {
        (0..<nodeCount).lazy.filter { !nodes.contains($0) }.map { self.bytes(backing, on: $0) }.saturatingSum
    }

    /// The share of anonymous memory held off `nodes`, 0 when there is none: what a
    /// policy's `max_remote` bounds (page cache is placed by whoever faulted it first).
    public func remoteAnonymousShare(off nodes: IDSet) -> Double {
        let anonymous = total(.anonymous)
        return anonymous > 0 ? Double(bytes(.anonymous, outside: nodes)) / Double(anonymous) : 0
    }

    private func slot(_ slot: Int, _ node: Int) -> Int { node >= 0 && node < nodeCount ? rows[node * Self.rowWidth + slot] : 0 }

    /// Few distinct policies per process; the last one used is almost always the next.
    private var lastUsage = 0

    private mutating func usageIndex(for policy: MemoryPolicy) -> Int {
        // A scanner keeps one policy value per spelling, and the first of each is the one kept
        // here: usually the same storage, equal by identity without comparing nodes. A process
        // has few policies: the last one, then each, by identity, then by value.
        let identity = policy.identity, last = lastUsage
        let found: Int?
        if policyList.count <= Self.linearPolicies {
            found = policyIdentities.withUnsafeBufferPointer { list -> Int? in
                if last < list.count, list[last] == identity { return last }
                return list.firstIndex(of: identity)
            } ?? policyList.firstIndex(of: policy)
        } else {
            found = policyIndexByIdentity[identity] ?? policyIndex[policy]
        }
        if let found {
            lastUsage = found
            return found
        }
        policyList.append(policy)
        policyIdentities.append(identity)
        policyMappings.append(0)
        policyBytes.append([])
        lastUsage = policyList.count - 1
        if policyList.count > Self.linearPolicies {
            // The first time past the bound, every policy so far; after, the new one.
            for index in (policyList.count == Self.linearPolicies + 1 ? 0 : lastUsage)...lastUsage {
                policyIndex[policyList[index]] = index
                policyIndexByIdentity[policyIdentities[index]] = index
            }
        }
        return lastUsage
    }
}
