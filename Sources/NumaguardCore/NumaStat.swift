/// A memory cgroup's memory.numa_stat: how much of the cgroup's memory sits on each node.
///
/// The two cgroup versions print it differently (kernel docs, cgroup-v1/memory.rst 5.6 and
/// cgroup-v2.rst): v1 prints `total=P N0=P N1=P` in PAGES, for the cgroup alone, and the
/// same counters with a `hierarchical_` prefix including every descendant; v2 prints
/// `anon N0=B N1=B` in BYTES, always including descendants. Values here are bytes for both,
/// and `anon`/`file` are the hierarchical figures on both, so a v1 and a v2 host compare,
/// with one difference the kernel gives no way to remove: v1's `anon` is the anonymous LRU
/// lists, which hold tmpfs and shared-memory pages (a /dev/shm ring), while v2 counts those in
/// `file` as numa_maps does (recorded 6.1 guests: v2 anon equals the sum of numa_maps `anon=`
/// exactly; v1 exceeds it by each process's one-page tmpfs stdout).
public struct NumaStat: Equatable, Sendable {
    public var version: CgroupMount.Version
    /// Every counter line by its name as printed (`anon`, `hierarchical_file`, `total`),
    /// converted to bytes. v2's `workingset_*` lines are event counts, kept as printed.
    public var counters: [String: NodeCounter]

    /// Anonymous memory per node, descendants included.
    public var anon: NodeCounter? { counters[version == .v2 ? "anon" : "hierarchical_anon"] ?? counters["anon"] }
    /// Page cache per node, descendants included.
    public var file: NodeCounter? { counters[version == .v2 ? "file" : "hierarchical_file"] ?? counters["file"] }
    /// True when `anon` and `file` include descendants: always on v2; on v1 when the kernel
    /// prints `hierarchical_` lines (Linux 3.13 and later).
    public var isHierarchical: Bool { version == .v2 || counters["hierarchical_anon"] != nil }
}

/// One counter line: its total (v1 prints one; v2 does not) and its value per node.
public struct NodeCounter: Equatable, Sendable {
    public var total: Int?
    /// (node, value) in node order.
    public var nodes: [(node: Int, value: Int)]

    public init(total: Int?, nodes: [(node: Int, value: Int)]) {
        self.total = total
        self.nodes = nodes
    }

    public func value(on node: Int) -> Int? { nodes.first { $0.node == node }?.value }

    public static func == (lhs: NodeCounter, rhs: NodeCounter) -> Bool {
        lhs.total == rhs.total && lhs.nodes.count == rhs.nodes.count
            && zip(lhs.nodes, rhs.nodes).allSatisfy { $0.node == $1.node && $0.value == $1.value }
    }
}

public enum NumaStatParser {
    /// v2 prints some 30 counters; a file with more names is not the kernel's.
    public static let maximumCounters = 256

    /// Parses either version, told apart by each line's first word (v1 `name=pages`, v2
    /// `name`); a file mixing them is refused.
    /// `pageKiB` converts v1 pages to bytes; a product beyond 2^63 - 1 is refused.
    public static func parse(_ text: String, pageKiB: Int) throws(ParseError) -> NumaStat {
        var version: CgroupMount.Version?
        var counters: [String: NodeCounter] = [:]
        for (index, line) in Lex.lines(text).enumerated() where !Lex.trimmed(line).isEmpty {
            let number = index + 1
            func fail(_ reason: String) -> ParseError {
                ParseError(what: "memory.numa_stat line", input: line, reason: reason, line: number)
            }
            var words = Lex.trimmed(line).split(separator: " ")[...]
            guard let head = words.popFirst() else { continue }
            let name: Substring
            var total: Int?
            let lineVersion: CgroupMount.Version
            if let equals = head.firstIndex(of: "=") {
                lineVersion = .v1
                name = head[..<equals]
                guard let pages = Lex.decimal(head[head.index(after: equals)...]) else { throw fail("\"\(head)\": expected name=pages") }
                guard let bytes = KernelArithmetic.bytes(pages: pages, pageKiB: pageKiB) else {
                    throw fail("\(pages) pages of \(pageKiB) KiB exceed 2^63 bytes")
                }
                total = bytes
            } else {
                lineVersion = .v2
                name = head
            }
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 == 0x5F || Lex.isDigit($0) || ($0 >= 0x61 && $0 <= 0x7A) }) else {
                throw fail("counter name \"\(name)\" is not lower-case letters, digits and _")
            }
            if let version, version != lineVersion { throw fail("mixes the cgroup v1 (name=pages) and v2 (name N0=bytes) formats") }
            version = lineVersion
            guard counters[String(name)] == nil else { throw fail("counter \(name) appears twice") }
            guard counters.count < maximumCounters else { throw fail("more than \(maximumCounters) counters") }
            var nodes: [(node: Int, value: Int)] = []
            for word in words {
                guard word.hasPrefix("N"), let equals = word.firstIndex(of: "="),
                      let node = Lex.decimal(word[word.index(after: word.startIndex)..<equals]),
                      let value = Lex.decimal(word[word.index(after: equals)...]) else {
                    throw fail("\"\(word)\": expected N<node>=<value>")
                }
                guard node <= KernelArithmetic.maximumNode else { throw fail("node \(node) is above \(KernelArithmetic.maximumNode)") }
                guard nodes.last.map({ $0.node < node }) ?? true else { throw fail("node \(node) out of order or repeated") }
                var bytes = value
                if lineVersion == .v1 {
                    guard let product = KernelArithmetic.bytes(pages: value, pageKiB: pageKiB) else {
                        throw fail("\(value) pages of \(pageKiB) KiB exceed 2^63 bytes")
                    }
                    bytes = product
                }
                nodes.append((node, bytes))
            }
            counters[String(name)] = NodeCounter(total: total, nodes: nodes)
        }
        guard let version else {
            throw ParseError(what: "memory.numa_stat", input: text, reason: "no counter lines")
        }
        return NumaStat(version: version, counters: counters)
    }
}
