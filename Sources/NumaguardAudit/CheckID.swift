import NumaguardCore
import NumaguardPolicy

/// Every check the audit makes, typed. The description is the stable dotted ID
/// (`host.kernel.numa_balancing`, `workload.trading-engine.memory.policy`, `node.0.reserve`)
/// that keys waivers, JUnit test names and metric labels; code never builds or parses that
/// string, so renaming a check is one edit here and the planner cannot silently stop fixing it.
public enum CheckID: Hashable, Sendable, CustomStringConvertible {
    /// `host.kernel.numa_balancing`, `host.kernel.zone_reclaim_mode`, `host.kernel.transparent_hugepage`.
    case kernel(KernelKnob)
    /// `host.kernel.cmdline.require.WORD`.
    case bootRequires(String)
    /// `host.kernel.cmdline.forbid.WORD`.
    case bootForbids(String)
    /// `host.topology.nodes`.
    case topologyNodes
    /// `host.topology.node.N.cpus`, `.min_memory`, `.distances`.
    case topology(node: Int, NodeFact)
    /// `host.hugepages.node.N.SIZEkB`.
    case hugePages(node: Int, sizeKiB: Int)
    /// `host.forbid_processes.NAME`.
    case forbiddenProcess(String)
    /// `node.N.reserve`.
    case reservation(node: Int)
    /// `node.N.headroom`.
    case headroom(node: Int)
    /// `workload.NAME.CHECK`.
    case workload(String, WorkloadCheck)
    /// `reservations.read`: a process the reservation check could not read.
    case reservationsRead
    /// `launch_records.read`.
    case launchRecordsRead
    /// `host.window.migrations` (certify's sampling window).
    case windowMigrations
    /// `node.N.window.numa_miss`.
    case windowNumaMiss(node: Int)
    /// `drift` (nothing changed since the baseline) or `drift.FACT` (one fact that changed).
    case drift(fact: String?)
    /// `device.NAME.CHECK`: one `devices:` entry of the policy. IRQ numbers change from boot
    /// to boot, so a vector is a finding's subject, never part of its ID.
    case device(String, DeviceCheck)
    /// `host.isolation.FACT`.
    case isolation(IsolationFact)
    /// `host.irqbalance.FACT`.
    case irqbalance(IRQBalanceFact)
    /// `cpus.LIST.reserve.CHECK`: one CPU reservation (`reserve: [{cpus: "2-15", ...}]`).
    case cpuReservation(cpus: IDSet, CPUReservationCheck)
    /// `cpus.LIST.window.interrupts` (certify's window: interrupts on reserved CPUs).
    case windowInterrupts(cpus: IDSet)
    /// `host.isolation.window.interrupts` (certify's window: interrupts on isolated CPUs).
    case windowIsolatedInterrupts

    public enum KernelKnob: String, Sendable, CaseIterable {
        case numaBalancing = "numa_balancing"
        case zoneReclaimMode = "zone_reclaim_mode"
        case transparentHugepage = "transparent_hugepage"
    }

    public enum NodeFact: String, Sendable, CaseIterable {
        case cpus
        case minMemory = "min_memory"
        case distances
    }

    public enum DeviceCheck: String, Sendable, CaseIterable {
        case present
        case numaNode = "numa_node"
        /// numa_node -1: the firmware gives no locality.
        case locality
        case irqsEffective = "irqs.effective"
        case irqsRequested = "irqs.requested"
        case irqsManaged = "irqs.managed"
        case read
    }

    public enum IsolationFact: String, Sendable, CaseIterable {
        case isolated
        case nohzFull = "nohz_full"
        case managedIRQ = "managed_irq"
        case workqueue
    }

    public enum IRQBalanceFact: String, Sendable, CaseIterable {
        case running
        case bannedCPUs = "banned_cpus"
    }

    public enum CPUReservationCheck: String, Sendable, CaseIterable {
        case threads
        case lastCPU = "last_cpu"
        case kernelThreads = "kernel_threads"
        case irqs
        case workqueue
        case read
    }

    /// The checks of one workload, by their ID's last part.
    public enum WorkloadCheck: String, Sendable, CaseIterable {
        case running
        case cpus
        case lastCPU = "threads.last_cpu"
        case cpusetCPUs = "cgroup.cpuset.cpus"
        case cpusetMems = "cgroup.cpuset.mems"
        case memsAllowed = "memory.mems_allowed"
        case memoryPolicy = "memory.policy"
        case interleave = "memory.interleave"
        case remote = "memory.remote"
        case launcher
        /// Two workloads claim one process.
        case claim
        /// A claimed process could not be read.
        case read
        /// Its cgroup's files could not be read.
        case cgroupRead = "cgroup.read"
        /// A device named in its `cpus.nodes` or `memory.nodes` gives no node on this host.
        case deviceReference = "device"
        /// certify's window: nonvoluntary context switches of its threads.
        case windowSwitches = "window.nonvoluntary_switches"
    }

    public var description: String {
        switch self {
        case let .kernel(knob): "host.kernel.\(knob.rawValue)"
        case let .bootRequires(word): "host.kernel.cmdline.require.\(word)"
        case let .bootForbids(word): "host.kernel.cmdline.forbid.\(word)"
        case .topologyNodes: "host.topology.nodes"
        case let .topology(node, fact): "host.topology.node.\(node).\(fact.rawValue)"
        case let .hugePages(node, sizeKiB): "host.hugepages.node.\(node).\(sizeKiB)kB"
        case let .forbiddenProcess(name): "host.forbid_processes.\(name)"
        case let .reservation(node): "node.\(node).reserve"
        case let .headroom(node): "node.\(node).headroom"
        case let .workload(name, check): "workload.\(name).\(check.rawValue)"
        case .reservationsRead: "reservations.read"
        case .launchRecordsRead: "launch_records.read"
        case .windowMigrations: "host.window.migrations"
        case let .windowNumaMiss(node): "node.\(node).window.numa_miss"
        case let .drift(fact): fact.map { "drift.\($0)" } ?? "drift"
        case let .device(name, check): "device.\(name).\(check.rawValue)"
        case let .isolation(fact): "host.isolation.\(fact.rawValue)"
        case let .irqbalance(fact): "host.irqbalance.\(fact.rawValue)"
        case let .cpuReservation(cpus, check): "cpus.\(cpus.listString).reserve.\(check.rawValue)"
        case let .windowInterrupts(cpus): "cpus.\(cpus.listString).window.interrupts"
        case .windowIsolatedInterrupts: "host.isolation.window.interrupts"
        }
    }

    /// The workload whose check this is, if any.
    public var workload: String? {
        if case let .workload(name, _) = self { return name }
        return nil
    }
}
