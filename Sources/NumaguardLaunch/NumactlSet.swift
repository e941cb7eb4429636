import NumaguardCore

/// A node or CPU argument in numactl's grammar, kept as written until the host is known:
/// `all`, `N`, `N-M`, lists of those, a leading `!` (everything else) and `+` (indices into
/// the cpuset's allowed set). Resolution needs the allowed set, so parsing and resolving are
/// separate steps, and a numactl command line means the same thing here as under numactl.
public struct NumactlSet: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case node, cpu

        var singular: String { self == .node ? "node" : "CPU" }
        var plural: String { self == .node ? "nodes" : "CPUs" }
    }

    public var kind: Kind
    /// The argument as given, for messages.
    public var text: String
    public var all: Bool
    public var inverted: Bool
    public var relative: Bool
    /// Ranges as written (indices when `relative`).
    public var ranges: [ClosedRange<Int>]

    public var description: String { text }

    /// A set named member by member (a policy's `nodes: [0, 1]`), as if written `0-1`.
    public init(explicit set: IDSet, kind: Kind) {
        self.init(kind: kind, text: set.listString, all: false, inverted: false, relative: false, ranges: [])
        for member in set {
            if let last = ranges.last, last.upperBound + 1 == member {
                ranges[ranges.count - 1] = last.lowerBound...member
            } else {
                ranges.append(member...member)
            }
        }
    }

    init(kind: Kind, text: String, all: Bool, inverted: Bool, relative: Bool, ranges: [ClosedRange<Int>]) {
        self.kind = kind
        self.text = text
        self.all = all
        self.inverted = inverted
        self.relative = relative
        self.ranges = ranges
    }

    /// Parses without resolving. Errors name the argument and the column of the fault.
    public static func parse(_ text: String, kind: Kind, option: String) throws(LaunchError) -> NumactlSet {
        func fail(_ reason: String) -> LaunchError {
            .usage("\(option) \"\(text)\": \(reason)")
        }
        var set = NumactlSet(kind: kind, text: text, all: false, inverted: false, relative: false, ranges: [])
        var body = Substring(text)
        if body.first == "!" { set.inverted = true; body = body.dropFirst() }
        if body.first == "+" { set.relative = true; body = body.dropFirst() }
        if body == "all" {
            guard !set.relative else { throw fail("\"+\" and \"all\" cannot be combined") }
            set.all = true
            return set
        }
        guard !body.isEmpty else { throw fail("no \(kind.plural) given") }
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw fail("empty element in the list") }
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2, let low = Lex.decimal(bounds[0]),
                  let high = bounds.count == 2 ? Lex.decimal(bounds[1]) : low else {
                throw fail("expected \(kind.rawValue) numbers as N, N-M, lists of those, \"all\", \"!\" or \"+\"; found \"\(part)\"")
            }
            guard low <= high else { throw fail("range \(low)-\(high) is descending") }
            guard high <= IDListParser.maximumMember else {
                throw fail("\(high) exceeds the largest \(kind.rawValue) number numaguard accepts (\(IDListParser.maximumMember))")
            }
            set.ranges.append(low...high)
        }
        return set
    }

    /// What the argument names, resolved against the members the calling process may use
    /// (its cpuset). As in libnuma: `all` is the allowed set, `+N` the N-th allowed member,
    /// `!` the complement within the allowed set. `named` keeps what was written, so a
    /// caller can explain a member that is absent, offline or outside the cgroup.
    public struct Resolution: Equatable, Sendable {
        public var named: IDSet
        public var members: IDSet
    }

    public func resolve(allowed: IDSet) throws(LaunchError) -> Resolution {
        if all { return Resolution(named: allowed, members: inverted ? IDSet() : allowed) }
        var named = IDSet()
        let ordered = allowed.members
        for range in ranges {
            if relative {
                guard range.upperBound < ordered.count else {
                    throw .refused(
                        "\(text): the cpuset allows only \(ordered.count) \(ordered.count == 1 ? kind.singular : kind.plural) (\(allowed.listString)), "
                            + "so relative index \(range.upperBound) does not exist"
                    )
                }
                for index in range { named.insert(ordered[index]) }
            } else {
                named.insert(range: range)
            }
        }
        return Resolution(named: named, members: inverted ? allowed.subtracting(named) : named)
    }
}
