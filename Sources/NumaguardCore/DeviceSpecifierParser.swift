/// The two spellings of a device reference. numactl's (`numaguard run -N netdev:eth0`) is
/// the one numactl 2.0.19's `resolve_affinity` accepts, minus what it would misread; the
/// policy's (`nodes: ["netdev:eth0"]`) is the same text limited to what an audit of a
/// captured host can answer. Both are pure: the node comes from `DeviceLocality`.
extension DeviceSpecifier {
    /// The longest `file:` path (PATH_MAX less its NUL) and `ip:` text taken.
    public static let maximumPathBytes = 4095
    public static let maximumHostBytes = 253

    /// The prefixes numactl's `resolve_affinity` knows, case-sensitive as its strncmp.
    public static let prefixes = ["netdev:", "pci:", "block:", "file:", "ip:"]

    /// The prefix `text` starts with (`netdev:`), or nil: a caller tells a device reference
    /// from a node number (or from a typo, which stays a number error) with it.
    public static func kind(of text: some StringProtocol) -> String? {
        prefixes.first { text.utf8.starts(with: $0.utf8) }
    }

    /// numactl's command-line spelling, `text` being everything from the element's first
    /// letter to the end of the argument (a device eats the rest, commas included, as in
    /// numactl: `netdev:eth0,1` names a device called `eth0,1`, which no interface is).
    /// numactl refuses `/` and `.` in a `netdev:`/`block:` name ("Illegal characters"), so
    /// a VLAN (`eth0.100`) or `block:/dev/nvme0n1` is refused here too, with what to write.
    public static func parse(numactl text: some StringProtocol) -> Result<DeviceSpecifier, ParseError> {
        let text = String(text)
        func failure(_ reason: String) -> Result<DeviceSpecifier, ParseError> {
            .failure(ParseError(what: "device", input: text, reason: reason))
        }
        if let name = text.dropping("netdev:") {
            if name.utf8.contains(0x2F) || name.utf8.contains(0x2E) {
                return failure("a device name holds no \"/\" or \".\" (numactl refuses them too); a VLAN such as eth0.100 has no bus device: name its lower device")
            }
            if let problem = DeviceNames.interfaceProblem(name) { return failure(problem) }
            return .success(.netdev(String(name)))
        }
        if let name = text.dropping("block:") {
            if let problem = DeviceNames.blockProblem(name) { return failure(problem) }
            return .success(.block(String(name)))
        }
        if let address = text.dropping("pci:") {
            return PCIAddress.parse(numactl: address).map { .pci($0) }
        }
        if let path = text.dropping("file:") {
            if path.isEmpty { return failure("no path given") }
            if path.utf8.count > maximumPathBytes { return failure("a path has at most \(maximumPathBytes) bytes") }
            return .success(.file(String(path)))
        }
        if let host = text.dropping("ip:") {
            if host.isEmpty { return failure("no address given") }
            if host.utf8.count > maximumHostBytes { return failure("an address has at most \(maximumHostBytes) bytes") }
            return .success(.ip(String(host)))
        }
        return failure("expected netdev:NAME, pci:ADDRESS, block:NAME, file:PATH or ip:ADDRESS")
    }

    /// A policy's spelling: `netdev:NAME`, `pci:ADDRESS` or `block:NAME` (`block:/dev/NAME`
    /// is taken as its basename, no stat). `file:` and `ip:` need a stat or a route lookup on
    /// the live host, which an audit of a captured host cannot answer: they are refused with
    /// where they do work.
    public static func parse(policy text: some StringProtocol) -> Result<DeviceSpecifier, ParseError> {
        let text = String(text)
        func failure(_ reason: String) -> Result<DeviceSpecifier, ParseError> {
            .failure(ParseError(what: "device reference", input: text, reason: reason))
        }
        if let name = text.dropping("netdev:") {
            if let problem = DeviceNames.interfaceProblem(name) { return failure(problem) }
            return .success(.netdev(String(name)))
        }
        if let name = text.dropping("block:") {
            let kernelName = name.dropping("/dev/") ?? name
            if let problem = DeviceNames.blockProblem(kernelName) { return failure(problem) }
            return .success(.block(String(kernelName)))
        }
        if let address = text.dropping("pci:") {
            return PCIAddress.parse(numactl: address).map { .pci($0) }
        }
        if text.hasPrefix("file:") || text.hasPrefix("ip:") {
            return failure("file: and ip: references are only for numaguard run (they need a stat or a route lookup on the live host, which an audit of a captured host cannot make); name the device with netdev:, pci: or block:")
        }
        return failure("expected netdev:NAME, pci:ADDRESS or block:NAME")
    }

    /// The device's name as written, for messages (`eth0`, `0000:21:00.0`, `/data/x`).
    public var subject: String {
        switch self {
        case .netdev(let name), .block(let name): name
        case .pci(let address): address.description
        case .file(let path): path
        case .ip(let host): host
        }
    }
}

extension StringProtocol {
    /// The rest after `prefix`, or nil when the text does not start with it (case-sensitive,
    /// as numactl's strncmp).
    func dropping(_ prefix: String) -> Substring? {
        let text = Substring(self)
        guard text.utf8.starts(with: prefix.utf8) else { return nil }
        // By UTF-8 offset: a combining mark after the ASCII prefix would join its last
        // Character, and the prefix ends at a scalar boundary either way.
        return text[text.utf8.index(text.startIndex, offsetBy: prefix.utf8.count)...]
    }
}
