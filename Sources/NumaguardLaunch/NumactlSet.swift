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
        // Byte-wise over [UInt8]: no Substring arrays or generic number parsing on the launch path.
        let bytes = Array(text.utf8)
        var start = 0
        if start < bytes.count, bytes[start] == 0x21 { set.inverted = true; start += 1 }   // !
        if start < bytes.count, bytes[start] == 0x2B { set.relative = true; start += 1 }   // +
        if bytes[start...].elementsEqual("all".utf8) {
            guard !set.relative else { throw fail("\"+\" and \"all\" cannot be combined") }
            set.all = true
            return set
        }
        guard start < bytes.count else { throw fail("no \(kind.plural) given") }
        var elementStart = start
        while elementStart <= bytes.count {
            let elementEnd = bytes[elementStart...].firstIndex(of: 0x2C) ?? bytes.count   // ,
            let element = bytes[elementStart..<elementEnd]
            guard !element.isEmpty else { throw fail("empty element in the list") }
            let dash = element.firstIndex(of: 0x2D)   // -
            guard let low = number(element[..<(dash ?? elementEnd)]),
                  let high = dash.map({ number(element[($0 + 1)...]) }) ?? low else {
                let found = String(decoding: element, as: UTF8.self)
                throw fail("expected \(kind.rawValue) numbers as N, N-M, lists of those, \"all\", \"!\" or \"+\"; found \"\(found)\"")
            }
            guard low <= high else { throw fail("range \(low)-\(high) is descending") }
            guard high <= IDListParser.maximumMember else {
                throw fail("\(high) exceeds the largest \(kind.rawValue) number numaguard accepts (\(IDListParser.maximumMember))")
            }
            set.ranges.append(low...high)
            elementStart = elementEnd + 1
        }
        return set
    }

    /// A decimal number of up to 9 digits (anything longer is no CPU or node number); nil for
    /// anything else, including an empty slice.
    static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= 0x30, digit <= 0x39 else { return nil }
            value = value * 10 + Int(digit - 0x30)
        }
        return value
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
