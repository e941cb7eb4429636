import NumaguardCore

/// One device of the locality chain (NIC, NVMe controller or namespace, GPU, other PCI
/// function) as the host reports it: the bus device that carries its node, the node, and its
/// interrupt vectors with where each was asked to go and where it is handled. Snapshot,
/// audit, run and watch share this one description, read by `DeviceLocality`.
public struct HostDevice: Equatable, Sendable {
    public var kind: DeviceKind
    /// The class name (`eth0`, `nvme0`, `nvme0n1`, `card0`), or the PCI address for a PCI
    /// function without a class device.
    public var name: String
    /// The bus device carrying `numa_node` (the endpoint; virtio's parent PCI function).
    public var address: PCIAddress?
    /// The bound driver's name (the basename of the `driver` link), when bound.
    public var driver: String?
    /// The PCI class code (`0x020000` Ethernet), when a PCI device.
    public var pciClass: UInt32?
    /// `numa_node` as read, -1 kept: -1 means the firmware gives no locality, which is a
    /// finding of its own, never "node 0".
    public var reportedNode: Int?
    /// The node the device is attached to: `reportedNode` when it is a node, else nil.
    public var numaNode: Int? { reportedNode.flatMap { $0 >= 0 ? $0 : nil } }
    /// The interrupt vectors: MSI/MSI-X when there are any, else the INTx line.
    public var irqs: [DeviceIRQ]
    /// The PCI vendor and device IDs (`0x1af4`, `0x1041`), when a PCI device.
    public var vendor: UInt16?
    public var deviceID: UInt16?
    /// The bus device's directory relative to the root, no symlinks
    /// (`sys/devices/pci0000:20/0000:20:00.0/0000:21:00.0`): where a remediation points.
    public var busPath: String?
    /// The node numactl 2.0.19's rule gives a class device (the first PCI device under the
    /// host bridge in its class link, see `NumactlClassLink`), nil when that rule gives none
    /// (-1, no such file) or for a PCI function without a class device. It differs from
    /// `numaNode` only when a bridge and its endpoint disagree (a `numa_node` written by hand).
    public var numactlNode: Int?

    public init(kind: DeviceKind, name: String, address: PCIAddress?, driver: String?, pciClass: UInt32?,
                reportedNode: Int?, irqs: [DeviceIRQ]) {
        self.kind = kind
        self.name = name
        self.address = address
        self.driver = driver
        self.pciClass = pciClass
        self.reportedNode = reportedNode
        self.irqs = irqs
    }
}

/// One interrupt vector of a device.
public struct DeviceIRQ: Equatable, Sendable {
    public enum Mode: String, Sendable { case msi, msix, intx }

    public var mode: Mode
    public var affinity: IRQAffinity
    /// The driver is known to ask for kernel-managed affinity for this vector (nvme's queue
    /// vectors, virtio-blk's). No file says so on Debian's kernels (no IRQ debugfs): it is an
    /// expectation, confirmed when a write fails with EIO.
    public var managedExpected: Bool

    public var irq: Int { affinity.irq }

    public init(mode: Mode, affinity: IRQAffinity, managedExpected: Bool) {
        self.mode = mode
        self.affinity = affinity
        self.managedExpected = managedExpected
    }
}

/// Why a device reference (`netdev:eth9`) gives no node on this host. Each case names the
/// device and what to do, because run refuses and audit fails on it.
public enum DeviceRefusal: Error, Sendable {
    /// No such device: the path that is missing.
    case unknown(DeviceSpecifier, path: String)
    /// numa_node -1: the firmware gives no locality.
    case noLocality(DeviceSpecifier, device: String)
    /// A virtual device (VLAN, bond, dm-*) with no bus device: name its lower device.
    case virtual(DeviceSpecifier, device: String)
    /// Something on the way could not be read.
    case unreadable(DeviceSpecifier, HostError)
    /// The specifier is not allowed here (`file:`/`ip:` in a policy or under --host-root).
    case notHere(DeviceSpecifier, reason: String)
}
