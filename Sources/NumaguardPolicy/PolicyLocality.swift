import NumaguardCore

/// The locality chain's part of a policy (NIC/NVMe/GPU -> node -> IRQ -> CPU -> thread):
/// where devices must be attached, where their interrupts may land, which CPUs are isolated
/// and which are reserved for named workloads.

/// One `devices:` entry: the devices its match selects must be attached to `numaNode` and have
/// their interrupts handled on `irqs`.
public struct DeviceRule: Equatable, Sendable {
    /// `[A-Za-z0-9_-]{1,64}`: part of the check IDs (`device.NAME.numa_node`) and a metric label.
    public var name: String
    public var match: DeviceMatch
    public var numaNode: Int?
    public var irqs: IRQPlacement?
    /// How many devices must match; by default at least one, so a missing NIC is a finding.
    public var count: RunningCount

    public init(name: String, match: DeviceMatch, numaNode: Int? = nil, irqs: IRQPlacement? = nil,
                count: RunningCount = RunningCount(minimum: 1)) {
        self.name = name
        self.match = match
        self.numaNode = numaNode
        self.irqs = irqs
        self.count = count
    }
}

/// Which devices a rule is about: every given key must hold; an empty match is refused by the
/// loader, as for `ProcessMatch`.
public struct DeviceMatch: Hashable, Sendable {
    /// A network interface name.
    public var interface: String?
    public var pci: PCIAddress?
    /// The bound driver's name.
    public var driver: String?
    public var kind: DeviceKind?
    /// A block device's kernel name (`nvme0n1`).
    public var block: String?

    public init(interface: String? = nil, pci: PCIAddress? = nil, driver: String? = nil, kind: DeviceKind? = nil,
                block: String? = nil) {
        self.interface = interface
        self.pci = pci
        self.driver = driver
        self.kind = kind
        self.block = block
    }

    public var isEmpty: Bool { interface == nil && pci == nil && driver == nil && kind == nil && block == nil }
}

/// Where a device's interrupts may be handled: explicit CPUs or the CPUs of nodes.
public struct IRQPlacement: Equatable, Sendable {
    public enum Target: Equatable, Sendable {
        case cpus(IDSet)
        case nodes(IDSet)
    }

    public var target: Target
    /// Kernel-managed vectors (their affinity cannot be written) are reported as info, not
    /// failed, when set.
    public var allowManaged: Bool

    public init(target: Target, allowManaged: Bool = false) {
        self.target = target
        self.allowManaged = allowManaged
    }
}

/// `host.isolation`: the CPUs the kernel must keep to themselves.
public struct IsolationPolicy: Equatable, Sendable {
    /// `/sys/devices/system/cpu/isolated` must equal this.
    public var isolated: IDSet?
    /// `/sys/devices/system/cpu/nohz_full` must equal this.
    public var nohzFull: IDSet?
    /// `isolcpus=` on the kernel command line must carry `managed_irq` covering `isolated`.
    public var managedIRQ: Bool?
    /// The unbound workqueues' cpumask.
    public var workqueue: WorkqueueRule?

    public enum WorkqueueRule: Equatable, Sendable {
        /// Within the online CPUs minus the isolated and reserved ones.
        case housekeeping
        case within(IDSet)
    }

    public init(isolated: IDSet? = nil, nohzFull: IDSet? = nil, managedIRQ: Bool? = nil, workqueue: WorkqueueRule? = nil) {
        self.isolated = isolated
        self.nohzFull = nohzFull
        self.managedIRQ = managedIRQ
        self.workqueue = workqueue
    }
}

/// `host.irqbalance`: whether irqbalance must run; when it must, its banned CPUs must cover
/// the isolated and reserved CPUs.
public struct IRQBalancePolicy: Equatable, Sendable {
    public var running: Bool

    public init(running: Bool) { self.running = running }
}

/// A `reserve:` item with `cpus`: no thread outside `workloads` may be allowed on (or last
/// have run on) these CPUs, and no device interrupt may target them except `irqDevices`'.
public struct CPUReservation: Equatable, Sendable {
    public var cpus: IDSet
    public var workloads: [String]
    /// Names of `devices:` entries whose interrupts are allowed on these CPUs.
    public var irqDevices: [String]

    public init(cpus: IDSet, workloads: [String], irqDevices: [String] = []) {
        self.cpus = cpus
        self.workloads = workloads
        self.irqDevices = irqDevices
    }
}
