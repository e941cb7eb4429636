/// A memory policy as the kernel reports it in numa_maps (mm/mempolicy.c `mpol_to_str`).
///
/// The kernel spells a policy `mode[=flags][:nodes]`, where two modes contain a space
/// (`prefer (many)`, `weighted interleave`) and flags are `static` or `relative`,
/// optionally joined with `balancing` by `|`. Keeping the exact mode and flags lets
/// an audit tell a strict bind from a preferred hint and catch an inherited interleave.
public struct MemoryPolicy: Hashable, Sendable {
    public enum Mode: String, Sendable, CaseIterable, Codable {
        case `default` = "default"
        case bind = "bind"
        case preferred = "preferred"
        case preferredMany = "preferred-many"
        case interleave = "interleave"
        case weightedInterleave = "weighted-interleave"
        case local = "local"

        /// The kernel's spelling in numa_maps.
        public var kernelName: String {
            switch self {
            case .default: "default"
            case .bind: "bind"
            case .preferred: "prefer"
            case .preferredMany: "prefer (many)"
            case .interleave: "interleave"
            case .weightedInterleave: "weighted interleave"
            case .local: "local"
            }
        }

        /// Modes that spread pages over several nodes on purpose.
        public var isInterleave: Bool { self == .interleave || self == .weightedInterleave }
    }

    public var mode: Mode
    public var nodes: IDSet
    /// MPOL_F_STATIC_NODES: nodes are absolute, not remapped when the cpuset changes.
    public var staticNodes: Bool
    /// MPOL_F_RELATIVE_NODES: nodes are relative to the cpuset's allowed nodes.
    public var relativeNodes: Bool
    /// MPOL_F_NUMA_BALANCING: NUMA balancing may still migrate pages under this policy.
    public var balancing: Bool

    public init(mode: Mode, nodes: IDSet = IDSet(), staticNodes: Bool = false, relativeNodes: Bool = false, balancing: Bool = false) {
        self.mode = mode
        self.nodes = nodes
        self.staticNodes = staticNodes
        self.relativeNodes = relativeNodes
        self.balancing = balancing
    }

    public static let `default` = MemoryPolicy(mode: .default)

    /// True when `other` is this value itself or a copy of it (its node set shares this one's
    /// storage, every other field equal): equal without comparing the sets; false says
    /// nothing.
    public func isSameValue(as other: MemoryPolicy) -> Bool {
        identity == other.identity
    }

    /// What `isSameValue` compares, as a plain value (see `IDSet.StorageIdentity`: kept only
    /// beside the policy it was taken from). Here beside the fields, so one added later is not
    /// left out.
    public struct Identity: Hashable, Sendable {
        let mode: Mode
        let staticNodes: Bool
        let relativeNodes: Bool
        let balancing: Bool
        let nodes: IDSet.StorageIdentity
    }

    @inline(__always)
    public var identity: Identity {
        Identity(mode: mode, staticNodes: staticNodes, relativeNodes: relativeNodes, balancing: balancing, nodes: nodes.storageIdentity)
    }

    /// Exactly what `mpol_to_str` prints, so a report can be grepped against numa_maps.
    public var kernelSpelling: String {
        var text = mode.kernelName
        var flags: [String] = []
        if staticNodes { flags.append("static") } else if relativeNodes { flags.append("relative") }
        if balancing { flags.append("balancing") }
        if !flags.isEmpty { text += "=" + flags.joined(separator: "|") }
        if !nodes.isEmpty { text += ":" + nodes.listString }
        return text
    }

    /// `prefer (many)` must be tried before `prefer`.
    private static let modesLongestFirst = Mode.allCases.sorted { $0.kernelName.count > $1.kernelName.count }

    /// Parses one policy spelling, e.g. `bind=static|balancing:0-1` or `prefer (many):0,2`.
    public static func parse(_ text: some StringProtocol) throws(ParseError) -> MemoryPolicy {
        let string = String(text)
        var rest = Substring(string)
        guard let mode = modesLongestFirst.first(where: { rest.hasPrefix($0.kernelName) }) else {
            throw ParseError(what: "memory policy", input: string, column: 1, reason: "unknown mode")
        }
        rest = rest.dropFirst(mode.kernelName.count)
        var policy = MemoryPolicy(mode: mode)
        if rest.first == "=" {
            let flagsEnd = rest.firstIndex(of: ":") ?? rest.endIndex
            let flagText = rest[rest.index(after: rest.startIndex)..<flagsEnd]
            for flag in flagText.split(separator: "|", omittingEmptySubsequences: false) {
                switch flag {
                case "static": policy.staticNodes = true
                case "relative": policy.relativeNodes = true
                case "balancing": policy.balancing = true
                default:
                    let column = string.distance(from: string.startIndex, to: flag.startIndex) + 1
                    throw ParseError(what: "memory policy", input: string, column: column, reason: "unknown flag \"\(flag)\"")
                }
            }
            if policy.staticNodes && policy.relativeNodes {
                throw ParseError(what: "memory policy", input: string, column: mode.kernelName.count + 2,
                                 reason: "static and relative are mutually exclusive")
            }
            rest = rest[flagsEnd...]
        }
        if rest.first == ":" {
            let nodesColumn = string.distance(from: string.startIndex, to: rest.startIndex) + 2
            do {
                policy.nodes = try IDListParser.parse(rest.dropFirst(), what: "memory policy nodes")
            } catch {
                throw ParseError(what: "memory policy", input: string, column: (error.column ?? 1) + nodesColumn - 1,
                                 reason: error.reason)
            }
            if policy.nodes.isEmpty {
                throw ParseError(what: "memory policy", input: string, reason: "':' with no nodes")
            }
            // No kernel prints a node above its largest id; a captured file that does would
            // make each policy a set of up to 65,536 bits to hash and compare.
            if let highest = policy.nodes.max(), highest > KernelArithmetic.maximumNode {
                throw ParseError(what: "memory policy", input: string, column: nodesColumn,
                                 reason: "node \(highest) is beyond the largest node id Linux has (\(KernelArithmetic.maximumNode))")
            }
            rest = rest[rest.endIndex...]
        }
        guard rest.isEmpty else {
            let column = string.distance(from: string.startIndex, to: rest.startIndex) + 1
            throw ParseError(what: "memory policy", input: string, column: column, reason: "unexpected \"\(rest)\"")
        }
        return policy
    }
}

extension MemoryPolicy: Codable {
    private enum CodingKeys: String, CodingKey {
        case mode, nodes, kernel, staticNodes = "static_nodes", relativeNodes = "relative_nodes", balancing
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            mode: try container.decode(Mode.self, forKey: .mode),
            nodes: try container.decode(IDSet.self, forKey: .nodes),
            staticNodes: try container.decode(Bool.self, forKey: .staticNodes),
            relativeNodes: try container.decode(Bool.self, forKey: .relativeNodes),
            balancing: try container.decode(Bool.self, forKey: .balancing)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mode, forKey: .mode)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(kernelSpelling, forKey: .kernel)
        try container.encode(staticNodes, forKey: .staticNodes)
        try container.encode(relativeNodes, forKey: .relativeNodes)
        try container.encode(balancing, forKey: .balancing)
    }
}
