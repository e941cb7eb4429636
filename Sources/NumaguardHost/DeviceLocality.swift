#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// Reads the locality chain's devices and resolves device references to nodes. One reader for
/// snapshot, audit, run and watch, so they cannot disagree about where a NIC is.
///
/// A node comes only from a `numa_node` file: never from `local_cpulist`, which lists every
/// CPU when the node is -1, so it would turn "the firmware gives no locality" into "local
/// to everything".
public enum DeviceLocality {
    /// How a reference becomes a node. `endpoint`: the device's own bus device (what an audit
    /// judges). `numactl`: numactl 2.0.19's rule (the first PCI device under the host bridge in
    /// the class link), so `numaguard run -N netdev:X` binds where `numactl -N netdev:X` does.
    public enum Rule: Sendable { case endpoint, numactl }

    /// Everything found, and what could not be read (each becomes an incomplete finding).
    public struct Inventory: Sendable {
        public var devices: [HostDevice]
        public var problems: [Problem]

        public init(devices: [HostDevice] = [], problems: [Problem] = []) {
            self.devices = devices
            self.problems = problems
        }
    }

    public struct Problem: Sendable {
        /// What was being read: a device name, PCI address or path.
        public var subject: String
        public var error: HostError

        public init(subject: String, error: HostError) {
            self.subject = subject
            self.error = error
        }
    }

    /// Where a reference was found: the node, and the device whose `numa_node` gave it, for
    /// messages: the name and the directory ("eth0 (/sys/devices/pci0000:20/0000:20:00.0)").
    public struct Location: Equatable, Sendable {
        public var node: Int
        public var device: String

        public init(node: Int, device: String) {
            self.node = node
            self.device = device
        }
    }

    /// Every net, nvme, block and gpu class device with a bus device, and PCI functions.
    public static func read(_ root: HostRoot) -> Inventory { DeviceInventory.read(root) }

    /// Only the class devices of `classes` (`net`, `nvme`, `block`, `drm`), without the other
    /// PCI functions: for a reader that records less (a snapshot's devices are NICs and NVMe
    /// controllers), so it reads and captures no more than it keeps.
    public static func read(_ root: HostRoot, classes: [String]) -> Inventory {
        DeviceInventory.read(root, classes: DeviceInventory.classes.filter { classes.contains($0.directory) }, pciFunctions: false)
    }

    /// The node `specifier` is attached to on the host under `root`.
    public static func resolve(_ specifier: DeviceSpecifier, in root: HostRoot, rule: Rule) -> Result<Int, DeviceRefusal> {
        locate(specifier, in: root, rule: rule).map(\.node)
    }

    /// The node and the device it was read from. `file:` and `ip:` need the live host (a stat
    /// with the caller's view of the filesystem, the routing table): refused under any other
    /// root.
    public static func locate(_ specifier: DeviceSpecifier, in root: HostRoot, rule: Rule) -> Result<Location, DeviceRefusal> {
        switch specifier {
        case let .netdev(name): return locate(classDevice: "net", name, specifier, in: root, rule: rule)
        case let .block(name): return locate(classDevice: "block", name, specifier, in: root, rule: rule)
        case let .pci(address): return locate(pci: address, specifier, in: root, rule: rule)
        case let .file(path):
            guard root.isLive else {
                return .failure(.notHere(specifier, reason: "file: needs a stat on the live host; --host-root describes another host"))
            }
            return locate(file: path, specifier, sysfs: root, rule: rule)
        case let .ip(text):
            guard root.isLive else {
                return .failure(.notHere(specifier, reason: "ip: needs the live routing table; --host-root describes another host"))
            }
            switch RouteLookup.interface(toward: text) {
            case let .success(interface): return locate(classDevice: "net", interface, specifier, in: root, rule: rule)
            case let .failure(refusal): return .failure(refusal.refusal(specifier))
            }
        }
    }

    /// `netdev:` and `block:` (and what `file:` and `ip:` lead to).
    static func locate(classDevice cls: String, _ name: String, _ specifier: DeviceSpecifier, in root: HostRoot,
                       rule: Rule) -> Result<Location, DeviceRefusal> {
        guard DeviceNames.isSingleComponent(name) else {
            return .failure(.notHere(specifier, reason: "\"\(name)\" is not a device name"))
        }
        let entry = "sys/class/\(cls)/\(name)"
        guard root.exists(entry) else { return .failure(.unknown(specifier, path: root.absolute(entry))) }
        do {
            switch rule {
            case .numactl:
                switch try numactlRule(entry, name: name, in: root) {
                case let .read(node, display): return located(node, display, specifier)
                case .virtual: return .failure(.virtual(specifier, device: name))
                case let .missing(path): return .failure(.unknown(specifier, path: root.absolute(path)))
                }
            case .endpoint:
                switch try BusDevice.walk(from: entry, in: root) {
                case .virtual: return .failure(.virtual(specifier, device: name))
                case let .noNode(device):
                    return .failure(.unknown(specifier, path: root.absolute("\(device)/numa_node")))
                case let .bus(bus):
                    return located(try bus.reportedNode(in: root), "\(name) (\(root.absolute(bus.path)))", specifier)
                }
            }
        } catch {
            return .failure(.unreadable(specifier, error))
        }
    }

    enum NumactlOutcome {
        /// `numa_node` as read (-1 kept) and the device it was read from.
        case read(Int, String)
        case virtual
        /// The file numactl would read is not there.
        case missing(String)
    }

    /// numactl's `affinity_class`: the class link matched by `NumactlClassLink`, its
    /// `numa_node`; no match (or no link), then `CLS/NAME/device/numa_node`.
    static func numactlRule(_ entry: String, name: String, in root: HostRoot) throws(HostError) -> NumactlOutcome {
        if let text = try classLinkText(entry, in: root), let first = NumactlClassLink.firstDevice(inLink: text) {
            let directory = "sys/\(first)"
            guard root.exists("\(directory)/numa_node") else { return .missing("\(directory)/numa_node") }
            return .read(try BusDevice.node(at: directory, in: root), "\(name) (\(root.absolute(directory)))")
        }
        guard try linkPresent("\(entry)/device", in: root) else { return .virtual }
        guard root.exists("\(entry)/device/numa_node") else { return .missing("\(entry)/device/numa_node") }
        return .read(try BusDevice.node(at: "\(entry)/device", in: root), "\(name) (\(root.absolute("\(entry)/device")))")
    }

    /// `pci:`: numactl reads `devices/pciSSSS:BB/ADDR/numa_node`, which exists only for a
    /// function on a root bus; the endpoint rule reads `bus/pci/devices/ADDR`, any function.
    static func locate(pci address: PCIAddress, _ specifier: DeviceSpecifier, in root: HostRoot,
                       rule: Rule) -> Result<Location, DeviceRefusal> {
        let directory = switch rule {
        case .numactl: "sys/devices/\(address.rootBusDirectory)/\(address)"
        case .endpoint: "sys/bus/pci/devices/\(address)"
        }
        guard root.exists("\(directory)/numa_node") else {
            return .failure(.unknown(specifier, path: root.absolute(root.exists(directory) ? "\(directory)/numa_node" : directory)))
        }
        do {
            return located(try BusDevice.node(at: directory, in: root), "\(address) (\(root.absolute(directory)))", specifier)
        } catch {
            return .failure(.unreadable(specifier, error))
        }
    }

    private static func located(_ node: Int, _ device: String, _ specifier: DeviceSpecifier) -> Result<Location, DeviceRefusal> {
        node < 0 ? .failure(.noLocality(specifier, device: device)) : .success(Location(node: node, device: device))
    }

    /// The class entry's link text, nil when it is no link (numactl's readlink fails and it
    /// falls back).
    private static func classLinkText(_ entry: String, in root: HostRoot) throws(HostError) -> String? {
        do {
            return try root.readLink(entry)
        } catch {
            if error.errno == .invalid { return nil }
            throw error
        }
    }

    private static func linkPresent(_ relative: String, in root: HostRoot) throws(HostError) -> Bool {
        do {
            _ = try root.readLink(relative)
            return true
        } catch {
            if error.isMissing { return false }
            throw error
        }
    }
}

extension DeviceRefusal: CustomStringConvertible {
    /// The specifier it is about.
    public var specifier: DeviceSpecifier {
        switch self {
        case let .unknown(specifier, _), let .noLocality(specifier, _), let .virtual(specifier, _),
             let .unreadable(specifier, _), let .notHere(specifier, _): specifier
        }
    }

    /// What is wrong, without the specifier or a remedy: the audit's `actual` (its remediation
    /// column says what to do) and the first half of run's refusal. One text for both, so audit
    /// and `run --policy` word a reason the same way.
    public var fact: String {
        switch self {
        case let .unknown(_, path): "no \(path)"
        case let .noLocality(_, device): "\(device) reports numa_node -1: the firmware gives no locality"
        case let .virtual(_, device):
            "\(device) has no bus device (a virtual device: loopback, VLAN, bond, bridge, dm-*, md, an NVMe multipath head)"
        case let .unreadable(_, error): error.description
        case let .notHere(_, reason): reason
        }
    }

    /// What run tells its caller to do instead, when there is one thing to say.
    public var remedy: String? {
        switch self {
        case .noLocality: "bind by node number (or enable NUMA/_PXM reporting in the BIOS)"
        case .virtual: "name the device under it"
        case .unknown, .unreadable, .notHere: nil
        }
    }

    /// Why, and what to do, without the specifier (a caller puts it after the option).
    public var reason: String { remedy.map { "\(fact); \($0)" } ?? fact }

    /// "netdev:eth9: no /sys/class/net/eth9".
    public var description: String { "\(specifier): \(reason)" }

    /// Could not be judged (permissions, a read error), as opposed to a device that is missing,
    /// virtual or without locality: an audit says "incomplete", never "fail", for it.
    public var isUnreadable: Bool {
        if case .unreadable = self { return true }
        return false
    }
}
