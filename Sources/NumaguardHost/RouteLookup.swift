#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore

/// `ip:ADDRESS`: the interface the kernel's route to an address leaves by, as numactl finds
/// it (RTM_GETROUTE, RTA_OIF, SIOCGIFNAME). Only literal addresses: numactl calls
/// getaddrinfo, which loads NSS modules and may ask DNS, in the launcher of a latency-critical
/// process running as root; numaguard run never resolves a host name.
public enum RouteLookup {
    /// How long the kernel may take to answer (it answers at once; this bounds a wedged
    /// netlink socket, not a lookup).
    public static let timeoutMilliseconds: Int32 = 1000

    public enum Failure: Error, Sendable {
        /// Not a literal IPv4 or IPv6 address.
        case notAnAddress(String)
        /// The lookup or the name of the interface failed: the call and its errno.
        case failed(String, SystemCallError)

        func refusal(_ specifier: DeviceSpecifier) -> DeviceRefusal {
            switch self {
            case let .notAnAddress(text):
                .notHere(specifier, reason: "\"\(text)\" is not an IPv4 or IPv6 address: numaguard run resolves no host names "
                         + "(it never loads NSS modules or asks DNS); give an address")
            case let .failed(text, error):
                .notHere(specifier, reason: "no interface for a route to \(text): \(error)")
            }
        }
    }

    /// The address family and bytes of a literal address (inet_pton), nil otherwise. As
    /// numactl, only the address is used: no port, no scope.
    public static func address(_ text: String) -> (family: Int32, bytes: [UInt8])? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return (AF_INET, v4) }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return (AF_INET6, v6) }
        return nil
    }

    /// The name of the interface a route to `text` leaves by (`lo` for 127.0.0.1).
    public static func interface(toward text: String) -> Result<String, Failure> {
        guard let (family, bytes) = address(text) else { return .failure(.notAnAddress(text)) }
        do {
            let index = try SystemCall.check("route lookup (RTM_GETROUTE)", text) {
                bytes.withUnsafeBytes { clinux_route_oif(family, $0.baseAddress, Int32($0.count), timeoutMilliseconds) }
            }
            return .success(try interfaceName(Int32(index)))
        } catch {
            return .failure(.failed(text, error))
        }
    }

    /// SIOCGIFNAME: the name of interface `index`.
    public static func interfaceName(_ index: Int32) throws(SystemCallError) -> String {
        var name = [CChar](repeating: 0, count: 17)
        try SystemCall.check("SIOCGIFNAME", "interface \(index)") { clinux_ifname(index, &name) }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `file:PATH`: the block device holding a file (or a block device node itself), as numactl
/// finds it: stat (following links), the device number (`st_rdev` of a block device,
/// `st_dev` of anything else), matched against `sys/class/block/*/dev`. A stat on a hung
/// NFS or FUSE mount blocks, as it does in numactl.
extension DeviceLocality {
    /// The most block devices listed.
    static let maximumBlockDevices = 16384

    static func locate(file path: String, _ specifier: DeviceSpecifier, sysfs root: HostRoot,
                       rule: Rule) -> Result<Location, DeviceRefusal> {
        var info = stat()
        do {
            try SystemCall.check("stat", path) { stat(path, &info) }
        } catch {
            return .failure(.unreadable(specifier, .unreadable(path: path, errno: error.errno)))
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFCHR {
            return .failure(.notHere(specifier, reason: "\(path) is a character device: no block device holds it (numactl finds none either)"))
        }
        let (major, minor) = deviceNumbers(UInt64(type == S_IFBLK ? info.st_rdev : info.st_dev))
        guard major != 0 else {
            return .failure(.notHere(specifier, reason: "\(path) is on device 0:\(minor), a filesystem without a block device "
                                     + "(tmpfs, overlay, NFS, ...); name the block device with block:"))
        }
        let wanted = "\(major):\(minor)"
        do {
            for name in try root.list("sys/class/block", limit: maximumBlockDevices).sorted() where DeviceNames.isSingleComponent(name) {
                guard let text = try root.readTextIfPresent("sys/class/block/\(name)/dev"), Lex.trimmed(text) == wanted else { continue }
                return locate(classDevice: "block", name, specifier, in: root, rule: rule)
            }
        } catch {
            return .failure(.unreadable(specifier, error))
        }
        return .failure(.unknown(specifier, path: "\(root.absolute("sys/class/block"))/*/dev holding \(wanted)"))
    }

    /// glibc's gnu_dev_major and gnu_dev_minor.
    static func deviceNumbers(_ device: UInt64) -> (major: UInt64, minor: UInt64) {
        ((device >> 8) & 0xFFF | (device >> 32) & ~0xFFF, device & 0xFF | UInt64(UInt32(truncatingIfNeeded: device >> 12)) & ~0xFF)
    }
}
