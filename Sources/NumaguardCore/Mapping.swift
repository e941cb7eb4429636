/// One line of /proc/PID/numa_maps: a mapping, its policy and where its pages are.
public struct Mapping: Equatable, Sendable, Codable {
    public struct NodePages: Equatable, Sendable, Codable {
        public var node: Int
        public var pages: Int
        public init(node: Int, pages: Int) {
            self.node = node
            self.pages = pages
        }
    }

    /// What numastat -p and a placement audit care about. Hugetlb wins over heap and
    /// stack (the kernel never marks one mapping as both), file means page cache.
    public enum Kind: String, Sendable, Codable {
        case huge, heap, stack, file, anon
    }

    public var address: UInt64
    public var policy: MemoryPolicy
    /// The path as numa_maps prints it (the kernel escapes space, tab, newline and backslash
    /// as octal). nil for anonymous mappings, and when the scanner was told not to keep paths.
    public var file: String?
    /// True when the line has a `file=` token, whether or not the path was kept.
    public var fileBacked = false
    public var heap = false
    public var stack = false
    /// A hugetlb mapping: its page counts are in huge pages of `pageSizeKiB`.
    public var huge = false
    public var anon = 0
    public var dirty = 0
    public var mapped = 0
    public var mapmax = 0
    public var swapcache = 0
    public var active: Int?
    public var writeback = 0
    public var nodePages: [NodePages] = []
    /// Absent when the mapping has no resident pages: the kernel then prints no counts at all.
    public var pageSizeKiB: Int?

    public init(address: UInt64, policy: MemoryPolicy, file: String? = nil) {
        self.address = address
        self.policy = policy
        self.file = file
        self.fileBacked = file != nil
    }

    public var kind: Kind {
        if huge { return .huge }
        if heap { return .heap }
        if stack { return .stack }
        if fileBacked { return .file }
        return .anon
    }

    /// Saturating: the parser refuses lines whose counts overflow, but a Mapping can also be built by hand.
    public var totalPages: Int { nodePages.lazy.map(\.pages).saturatingSum }

    public func pages(on node: Int) -> Int {
        nodePages.first { $0.node == node }?.pages ?? 0
    }

    /// Bytes resident on each node; THP pages are counted by the kernel in base pages,
    /// hugetlb pages in huge pages, so `kernelpagesize_kB` is the right multiplier for both.
    /// The parser guarantees the product fits (see `KernelArithmetic`); a hand-built value saturates.
    public func bytes(on node: Int) -> Int {
        KernelArithmetic.product(pages(on: node), KernelArithmetic.product(pageSizeKiB ?? 0, 1024))
    }

    /// Resets to an empty line, keeping the node array's storage for the next one. The policy
    /// is left as it is: the scanner sets it only when a line's differs from the last one's.
    mutating func reset(address: UInt64) {
        self.address = address
        file = nil
        fileBacked = false
        heap = false
        stack = false
        huge = false
        anon = 0
        dirty = 0
        mapped = 0
        mapmax = 0
        swapcache = 0
        active = nil
        writeback = 0
        nodePages.removeAllKeepingStorage()
        pageSizeKiB = nil
    }
}

extension [Mapping.NodePages] {
    /// Empties the array keeping its storage for the next line's entries: removeLast keeps the
    /// storage, without removeAll's generic replaceSubrange (a line has one entry per node,
    /// usually one).
    @inline(__always)
    mutating func removeAllKeepingStorage() {
        while !isEmpty { removeLast() }
    }
}
