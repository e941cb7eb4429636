/// numactl's rule for the node of a class device (affinity.c `affinity_class`): the target
/// of `/sys/class/CLS/NAME` is matched against the POSIX ERE
/// `(/devices/pci[0-9a-fA-F:/]+\.[0-9]+)/` and `numa_node` is read from the matched
/// directory. The bracket holds no `.`, so the match ends at the first `D.F/` after the host
/// bridge: the **top** PCI device under the root bus (for a NIC behind a root port, the port
/// `0000:20:00.0`, not the endpoint `0000:21:00.0`). `numaguard run` binds where numactl
/// does, so it needs the same device.
///
/// A linear scan instead of a regex engine: the input is a link text from a possibly
/// untrusted capture, and this is cheaper than compiling a pattern on the launch path.
public enum NumactlClassLink {
    /// The matched directory without its leading slash (`devices/pci0000:20/0000:20:00.0`),
    /// or nil when the link holds no PCI path (a virtual device, dm-*, an NVMe multipath
    /// head), where numactl falls back to `CLS/NAME/device/numa_node`.
    ///
    /// POSIX leftmost-longest: the first start where the pattern matches wins. Each attempt
    /// stops at the first byte outside `[0-9a-fA-F:/]`, and every later `/devices/pci`
    /// holds a `v`, which is outside it, so no byte is scanned by more than two attempts.
    public static func firstDevice(inLink text: some StringProtocol) -> Substring? {
        let string = Substring(text)
        let bytes = Array(string.utf8)
        let marker = Array("/devices/pci".utf8)
        var start = 0
        while start + marker.count <= bytes.count {
            guard bytes[start..<start + marker.count].elementsEqual(marker) else {
                start += 1
                continue
            }
            if let end = matchEnd(bytes, from: start + marker.count) {
                let utf8 = string.utf8
                let from = utf8.index(utf8.startIndex, offsetBy: start + 1)
                let to = utf8.index(utf8.startIndex, offsetBy: end)
                return string[from..<to]
            }
            start += marker.count
        }
        return nil
    }

    /// After `/devices/pci`: `[0-9a-fA-F:/]+` then `.` then `[0-9]+` then `/`. The end of the
    /// group (before the final `/`), or nil. The bracket cannot hold the `.`, so the first
    /// `.` is the only one the `\.` can match.
    private static func matchEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index < bytes.count, inBracket(bytes[index]) { index += 1 }
        guard index > start, index < bytes.count, bytes[index] == 0x2E else { return nil }
        index += 1
        let digits = index
        while index < bytes.count, Lex.isDigit(bytes[index]) { index += 1 }
        guard index > digits, index < bytes.count, bytes[index] == 0x2F else { return nil }
        return index
    }

    private static func inBracket(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x3A, 0x41...0x46, 0x61...0x66, 0x2F: true   // 0-9 and ':', A-F, a-f, '/'
        default: false
        }
    }
}
