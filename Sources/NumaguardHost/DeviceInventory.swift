import NumaguardCore

/// `DeviceLocality.read`: every class device of the locality chain with a bus device, and
/// every other PCI function, with node, identity and interrupt vectors. Virtual devices (no
/// `device` link) are not devices of the chain and are left out; what cannot be read is a
/// problem (an incomplete finding), never a silent gap.
enum DeviceInventory {
    /// The classes read, in this order, and the kind each gives.
    static let classes: [(directory: String, kind: DeviceKind)] = [("net", .net), ("nvme", .nvme), ("block", .block), ("drm", .gpu)]
    /// The most entries one class directory may hold (a container host has a veth per
    /// container) and the most PCI functions (the design's bound).
    static let maximumClassEntries = 16384
    static let maximumPCIDevices = 4096

    static func read(_ root: HostRoot, classes: [(directory: String, kind: DeviceKind)] = classes,
                     pciFunctions: Bool = true) -> DeviceLocality.Inventory {
        var inventory = DeviceLocality.Inventory()
        var seen: Set<PCIAddress> = []
        for (directory, kind) in classes {
            let names: [String]
            do {
                names = try root.list("sys/class/\(directory)", limit: maximumClassEntries).sorted()
            } catch {
                if !error.isMissing { inventory.problems.append(.init(subject: "sys/class/\(directory)", error: error)) }
                continue
            }
            for name in names where wanted(name, directory: directory, root: root, inventory: &inventory) {
                guard let device = classDevice(kind, directory: directory, name: name, root: root, problems: &inventory.problems) else { continue }
                if let address = device.address { seen.insert(address) }
                inventory.devices.append(device)
            }
        }
        if pciFunctions { readPCIFunctions(root, skipping: seen, into: &inventory) }
        return inventory
    }

    /// Names that are one path component (anything else in a capture is refused and said),
    /// not a partition (`nvme0n1p1`: the disk is the device), and for drm only `cardN`
    /// (connectors and render nodes are the same GPU).
    private static func wanted(_ name: String, directory: String, root: HostRoot, inventory: inout DeviceLocality.Inventory) -> Bool {
        guard DeviceNames.isSingleComponent(name) else {
            inventory.problems.append(.init(subject: "sys/class/\(directory)", error: .refused(
                path: root.absolute("sys/class/\(directory)"), reason: "it lists a name that is not a single path component")))
            return false
        }
        switch directory {
        case "block": return !root.exists("sys/class/block/\(name)/partition")
        case "drm": return name.hasPrefix("card") && name.utf8.count > 4 && name.utf8.dropFirst(4).allSatisfy(Lex.isDigit)
        default: return true
        }
    }

    private static func classDevice(_ kind: DeviceKind, directory: String, name: String, root: HostRoot,
                                    problems: inout [DeviceLocality.Problem]) -> HostDevice? {
        let entry = "sys/class/\(directory)/\(name)"
        let bus: BusDevice
        do {
            switch try BusDevice.walk(from: entry, in: root) {
            case .virtual: return nil
            case .noNode:
                return HostDevice(kind: kind, name: name, address: nil, driver: nil, pciClass: nil, reportedNode: nil, irqs: [])
            case let .bus(found): bus = found
            }
        } catch {
            problems.append(.init(subject: name, error: error))
            return nil
        }
        var device = describe(bus, kind: kind, name: name, root: root, problems: &problems)
        if device.kind == .pci, kind == .gpu { device.kind = .gpu }
        // The node numactl's rule gives, nil where it gives none (its failures are numactl's,
        // not the audit's: the endpoint above is what is judged).
        if case let .read(node, _)? = try? DeviceLocality.numactlRule(entry, name: name, in: root), node >= 0 {
            device.numactlNode = node
        }
        return device
    }

    /// PCI functions without a class device above: kind gpu for display (0x03) and
    /// accelerator (0x12) classes, else pci. Bridges (0x06) are the fabric, not devices.
    private static func readPCIFunctions(_ root: HostRoot, skipping seen: Set<PCIAddress>, into inventory: inout DeviceLocality.Inventory) {
        let names: [String]
        do {
            names = try root.list("sys/bus/pci/devices", limit: maximumPCIDevices)
        } catch {
            if !error.isMissing { inventory.problems.append(.init(subject: "sys/bus/pci/devices", error: error)) }
            return
        }
        for address in names.compactMap({ PCIAddress(sysfsName: $0) }).sorted() where !seen.contains(address) {
            let link = "sys/bus/pci/devices/\(address)"
            let path: String
            do {
                path = try root.resolve(link).path
            } catch {
                inventory.problems.append(.init(subject: address.description, error: error))
                continue
            }
            guard path.hasPrefix("sys/devices/"), path.hasSuffix("/\(address)") else {
                inventory.problems.append(.init(subject: address.description, error: .refused(
                    path: root.absolute(link), reason: "it leads to \(path), not to a PCI device")))
                continue
            }
            let pciClass = try? root.parse("\(path)/class") { (text) throws(ParseError) in
                try DeviceNames.hexAttribute(text, what: "PCI class", maximum: 0xFF_FFFF)
            }
            if let pciClass, pciClass >> 16 == 0x06 { continue }
            var device = describe(BusDevice(path: path, below: []), kind: .pci, name: address.description, root: root,
                                  problems: &inventory.problems)
            if let pciClass, pciClass >> 16 == 0x03 || pciClass >> 16 == 0x12 { device.kind = .gpu }
            inventory.devices.append(device)
        }
    }

    /// Node, PCI identity, driver and vectors of a bus device.
    private static func describe(_ bus: BusDevice, kind: DeviceKind, name: String, root: HostRoot,
                                 problems: inout [DeviceLocality.Problem]) -> HostDevice {
        func attempt<T>(_ body: () throws(HostError) -> T?) -> T? {
            do { return try body() } catch {
                problems.append(.init(subject: name, error: error))
                return nil
            }
        }
        let node = attempt { () throws(HostError) in try bus.reportedNode(in: root) }
        let drivers = attempt { () throws(HostError) in try bus.drivers(in: root) } ?? []
        var device = HostDevice(kind: kind, name: name, address: bus.address, driver: BusDevice.matchingDriver(drivers),
                                pciClass: nil, reportedNode: node, irqs: [])
        device.busPath = bus.path
        if bus.address != nil {
            func hex(_ file: String, _ maximum: UInt64) -> UInt64? {
                attempt { () throws(HostError) in
                    try root.parseIfPresent("\(bus.path)/\(file)") { (text) throws(ParseError) in
                        try DeviceNames.hexAttribute(text, what: "PCI \(file)", maximum: maximum)
                    }
                }
            }
            device.pciClass = hex("class", 0xFF_FFFF).map { UInt32($0) }
            device.vendor = hex("vendor", 0xFFFF).map { UInt16($0) }
            device.deviceID = hex("device", 0xFFFF).map { UInt16($0) }
        }
        device.irqs = DeviceVectors.read(bus.path, in: root, managed: .forDrivers(drivers), subject: name, problems: &problems)
        return device
    }
}
