import NumaguardCore

/// The device that carries a class device's node: the nearest ancestor of its `device`
/// link with a `numa_node` file (the PCI function for a NIC or an NVMe controller; for
/// virtio-net the PCI function above the `virtioN` device; for an NVMe namespace the PCI
/// function above its controller). Every link is read and followed through `HostRoot`, so
/// a captured tree cannot lead the walk out of its root.
struct BusDevice {
    /// How far above `device` the walk looks: sda sits 5 below its AHCI function, nothing
    /// real sits 8 below.
    static let maximumAncestors = 8

    /// The device's directory relative to the root, no symlinks in it
    /// (`sys/devices/pci0000:20/0000:20:00.0/0000:21:00.0`).
    var path: String
    /// The devices walked through below it, nearest first (`…/virtio1`).
    var below: [String]

    var name: Substring { PathText.names(in: path).last ?? "" }
    var address: PCIAddress? { PCIAddress(sysfsName: name) }

    enum Walk {
        /// No `device` link: a virtual device (lo, a VLAN, a bond, a bridge, dm-*, md, an NVMe
        /// multipath head).
        case virtual
        /// A device whose chain carries no `numa_node` within reach (a platform device).
        case noNode(device: String)
        case bus(BusDevice)
    }

    /// Walks from `entry` (`sys/class/net/eth0`) through its `device` link. A partition
    /// (`nvme0n1p1`) has no `device` link: its disk is the directory above it, so the walk
    /// starts there; anything else without one is virtual.
    static func walk(from entry: String, in root: HostRoot) throws(HostError) -> Walk {
        var link = "\(entry)/device"
        do {
            _ = try root.readLink(link)
        } catch {
            guard error.isMissing else { throw error }
            guard root.exists("\(entry)/partition") else { return .virtual }
            link = "\(entry)/.."
        }
        let resolved = try root.resolve(link).path
        guard resolved.hasPrefix("sys/devices/") else {
            throw .refused(path: root.absolute(link), reason: "it leads to \(resolved), outside sys/devices")
        }
        var path = resolved
        var below: [String] = []
        for _ in 0...maximumAncestors {
            if root.exists("\(path)/numa_node") { return .bus(BusDevice(path: path, below: below)) }
            below.append(path)
            guard let slash = path.utf8.lastIndex(of: 0x2F) else { break }
            let parent = String(path[..<slash])
            // Never above sys/devices/X: a host bridge is the highest device with a node.
            guard parent.utf8.count(where: { $0 == 0x2F }) >= 2 else { break }
            path = parent
        }
        return .noNode(device: resolved)
    }

    /// `numa_node` as read, -1 kept.
    func reportedNode(in root: HostRoot) throws(HostError) -> Int {
        try Self.node(at: path, in: root)
    }

    static func node(at directory: String, in root: HostRoot) throws(HostError) -> Int {
        try root.parse("\(directory)/numa_node") { (text) throws(ParseError) in try DeviceNames.numaNode(text) }
    }

    /// The basename of `directory/driver`, nil when no driver is bound.
    static func driver(of directory: String, in root: HostRoot) throws(HostError) -> String? {
        let target: String
        do {
            target = try root.readLink("\(directory)/driver")
        } catch {
            if error.isMissing { return nil }
            throw error
        }
        guard let name = PathText.names(in: target).last, DeviceNames.isSingleComponent(name) else {
            throw .refused(path: root.absolute("\(directory)/driver"), reason: "its target names no driver")
        }
        return String(name)
    }

    /// The drivers bound along the chain, from the device nearest the class device up to
    /// the bus device (`virtio_net`, `virtio-pci`).
    func drivers(in root: HostRoot) throws(HostError) -> [String] {
        var drivers: [String] = []
        for directory in below + [path] {
            if let driver = try Self.driver(of: directory, in: root) { drivers.append(driver) }
        }
        return drivers
    }

    /// The name a policy matches a driver by: the bus device's, except a virtio transport's
    /// (`virtio-pci` says nothing), where the virtio device's driver names it (`virtio_net`).
    static func matchingDriver(_ drivers: [String]) -> String? {
        guard let bus = drivers.last else { return nil }
        if bus == "virtio-pci", drivers.count > 1 { return drivers[drivers.count - 2] }
        return bus
    }
}
