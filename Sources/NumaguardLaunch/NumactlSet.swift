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
    /// The members as written (indices into the allowed set when `relative`). An IDSet, not
    /// ranges: an array of ClosedRange makes the runtime check Int: Comparable by scanning
    /// every conformance in the binary on first use, a measurable share of a launch.
    public var ids: IDSet
    /// A device named in the list (`netdev:eth0`, `0,pci:0000:21:00.0`): its node joins `ids`
    /// once the host resolves it. As in numactl, a device is the last element: it runs to the
    /// end of the argument.
    public var device: DeviceSpecifier?

    public var description: String { text }

    /// A set named member by member (a policy's `nodes: [0, 1]`), as if written `0-1`.
    public init(explicit set: IDSet, kind: Kind) {
        self.init(kind: kind, text: set.listString, all: false, inverted: false, relative: false, ids: set)
    }

    init(kind: Kind, text: String, all: Bool, inverted: Bool, relative: Bool, ids: IDSet, device: DeviceSpecifier? = nil) {
        self.kind = kind
        self.text = text
        self.all = all
        self.inverted = inverted
        self.relative = relative
        self.ids = ids
        self.device = device
    }

    /// Parses without resolving. Errors name the argument and the column of the fault.
    public static func parse(_ text: String, kind: Kind, option: String) throws(LaunchError) -> NumactlSet {
        var set = NumactlSet(kind: kind, text: text, all: false, inverted: false, relative: false, ids: IDSet())
        /// The device element: refused where numactl would misread it or not look for one.
        func device(_ element: String) -> String? {
            guard kind == .node else {
                return "a device names a node, not CPUs (numactl -C takes no device either); use -N/--cpunodebind \(element)"
            }
            guard !set.relative else {
                return "\"+\" is meaningless with a device (numactl ignores it there); drop it"
            }
            switch DeviceSpecifier.parse(numactl: element) {
            case let .success(device):
                set.device = device
                return nil
            case let .failure(error):
                return "\(element): \(error.reason)"
            }
        }
        // Byte-wise over the UTF-8 storage: no Substring arrays or generic number parsing on
        // the launch path.
        var text = text
        let failure: String? = text.withUTF8 { bytes in
            var start = 0
            if start < bytes.count, bytes[start] == 0x21 { set.inverted = true; start += 1 }   // !
            if start < bytes.count, bytes[start] == 0x2B { set.relative = true; start += 1 }   // +
            if bytes.count - start == 3, bytes[start] == 0x61, bytes[start + 1] == 0x6C, bytes[start + 2] == 0x6C {   // all
                guard !set.relative else { return "\"+\" and \"all\" cannot be combined" }
                set.all = true
                return nil
            }
            guard start < bytes.count else { return "no \(kind.plural) given" }
            var elementStart = start
            while elementStart <= bytes.count {
                var elementEnd = elementStart
                while elementEnd < bytes.count, bytes[elementEnd] != 0x2C { elementEnd += 1 }   // ,
                guard elementEnd > elementStart else { return "empty element in the list" }
                // numactl tries a device when an element starts with a letter (isalpha), and
                // the device takes the rest of the argument, commas and all.
                // A letter that starts no device kind falls through to the number error, as
                // numactl's get_nr does after resolve_affinity gives up.
                let first = bytes[elementStart]
                if (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A) {
                    let rest = String(decoding: UnsafeBufferPointer(rebasing: bytes[elementStart...]), as: UTF8.self)
                    if DeviceSpecifier.kind(of: rest) != nil { return device(rest) }
                }
                var dash: Int?
                for index in elementStart..<elementEnd where bytes[index] == 0x2D { dash = index; break }   // -
                guard let low = Lex.decimal(bytes, elementStart, dash ?? elementEnd),
                      let high = dash.map({ Lex.decimal(bytes, $0 + 1, elementEnd) }) ?? low else {
                    let found = String(decoding: bytes[elementStart..<elementEnd], as: UTF8.self)
                    return "expected \(kind.rawValue) numbers as N, N-M, lists of those, \"all\", \"!\" or \"+\"; found \"\(found)\""
                }
                // libnuma reads "010" as octal 8 (strtoul with base 0); numaguard refuses to guess.
                func padded(_ start: Int, _ end: Int) -> Bool { end - start > 1 && bytes[start] == 0x30 }
                if padded(elementStart, dash ?? elementEnd) || dash.map({ padded($0 + 1, elementEnd) }) == true {
                    let found = String(decoding: bytes[elementStart..<elementEnd], as: UTF8.self)
                    return "\"\(found)\" has a leading zero: numbers are decimal only (numactl reads 010 as octal 8); write it without"
                }
                guard low <= high else { return "range \(low)-\(high) is descending" }
                guard high <= IDListParser.maximumMember else {
                    return "\(high) exceeds the largest \(kind.rawValue) number numaguard accepts (\(IDListParser.maximumMember))"
                }
                set.ids.insert(range: low...high)
                elementStart = elementEnd + 1
            }
            return nil
        }
        if let failure { throw .usage("\(option) \"\(text)\": \(failure)") }
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

    /// `deviceNode` is the node the host gave `device` (nil when there is none): it is
    /// named as if written, so the caller's checks (offline, CPU-less, outside the cpuset)
    /// judge it like any number.
    public func resolve(allowed: IDSet, deviceNode: Int? = nil) throws(LaunchError) -> Resolution {
        if all { return Resolution(named: allowed, members: inverted ? IDSet() : allowed) }
        var named = IDSet()
        if let deviceNode { named.insert(deviceNode) }
        let ordered = allowed.members
        if relative {
            let indices = ids.members
            if let largest = indices.last, largest >= ordered.count {
                throw .refused(
                    "\(text): the cpuset allows only \(ordered.count) \(ordered.count == 1 ? kind.singular : kind.plural) (\(allowed.listString)), "
                        + "so relative index \(largest) does not exist"
                )
            }
            for index in indices { named.insert(ordered[index]) }
        } else {
            named = named.union(ids)
        }
        return Resolution(named: named, members: inverted ? allowed.subtracting(named) : named)
    }
}
