/// The rules for device names that become path components (`sys/class/net/NAME`), from a
/// command line, a policy or a directory listing of an untrusted capture. A name is checked
/// before it is ever part of a path, so it can only ever name one entry of one directory.
public enum DeviceNames {
    /// IFNAMSIZ - 1: the kernel's longest interface name.
    public static let maximumInterfaceBytes = 15
    /// NAME_MAX: the longest directory entry.
    public static let maximumComponentBytes = 255

    /// True when `name` is exactly one path component: not empty, not `.` or `..`, no `/`
    /// or NUL, at most NAME_MAX bytes. What every name read from a sysfs listing must be.
    public static func isSingleComponent(_ name: some StringProtocol) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= maximumComponentBytes, name != ".", name != ".." else { return false }
        return !bytes.contains(0x2F) && !bytes.contains(0)
    }

    /// Why `name` cannot be a network interface name (`dev_valid_name`: ≤ 15 bytes, not `.`
    /// or `..`, no `/`, `:` or whitespace), or nil when it can.
    public static func interfaceProblem(_ name: some StringProtocol) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "no interface name given" }
        if bytes.count > maximumInterfaceBytes {
            return "an interface name has at most \(maximumInterfaceBytes) bytes (this has \(bytes.count))"
        }
        if name == "." || name == ".." { return "\"\(name)\" is not an interface name" }
        for byte in bytes {
            if byte == 0x2F || byte == 0x3A || Lex.isSpace(byte) || byte == 0x0B || byte == 0x0C || byte < 0x20 || byte == 0x7F {
                return "an interface name holds no \"/\", \":\", whitespace or control characters"
            }
        }
        return nil
    }

    /// Why `name` cannot be a block device's kernel name (`nvme0n1`, `sda`, `dm-0`,
    /// `cciss!c0d0`: letters, digits, `_`, `-`, `!`), or nil when it can. A /dev path is
    /// refused with the spelling to use instead.
    public static func blockProblem(_ name: some StringProtocol) -> String? {
        let bytes = Array(name.utf8)
        if bytes.first == 0x2F {
            return "block: takes a kernel name (nvme0n1); for a /dev path use file:"
        }
        if bytes.isEmpty { return "no block device name given" }
        if bytes.count > maximumComponentBytes { return "a block device name has at most \(maximumComponentBytes) bytes" }
        for byte in bytes {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F, 0x2D, 0x21: continue
            default: return "a block device's kernel name holds only letters, digits, \"_\", \"-\" and \"!\""
            }
        }
        return nil
    }
}

extension DeviceNames {
    /// A device's `numa_node` file: the kernel prints `dev_to_node`, a node number or -1
    /// (NUMA_NO_NODE: the firmware gave no locality). Negative values are kept as read so a
    /// caller can say "-1" rather than guess node 0.
    public static func numaNode(_ text: some StringProtocol) throws(ParseError) -> Int {
        let trimmed = Lex.trimmed(text)
        let negative = trimmed.utf8.first == 0x2D
        guard let magnitude = Lex.decimal(negative ? trimmed.dropFirst() : trimmed), magnitude <= IDListParser.maximumMember else {
            throw ParseError(what: "numa_node", input: trimmed, reason: "expected a node number or -1")
        }
        return negative ? -magnitude : magnitude
    }

    /// A sysfs `0x…` hexadecimal attribute (a PCI `class`, `vendor`, `device`).
    public static func hexAttribute(_ text: some StringProtocol, what: String, maximum: UInt64) throws(ParseError) -> UInt64 {
        let trimmed = Lex.trimmed(text)
        guard trimmed.hasPrefix("0x"), let value = Lex.hexadecimal(trimmed.dropFirst(2)), value <= maximum else {
            throw ParseError(what: what, input: trimmed, reason: "expected 0x and at most \(String(maximum, radix: 16).count) hexadecimal digits")
        }
        return value
    }
}
