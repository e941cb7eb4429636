import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import NumaguardSnapshot

/// Everything the checks judge, read once by `HostStateReader` for one policy: the audit
/// evaluates it (`Evaluation`, pure), the planner plans from it, drift compares its snapshot.
/// Nothing here is read again by a consumer; a test can build one by hand.
public struct HostState: Sendable {
    public var kernel: KernelState
    public var topology: Topology
    public var names: HostNames
    /// The processes a check names by PID and comm, in PID order: every process considered
    /// (the auditing process itself left out on the live host) when the policy forbids
    /// processes or reserves a node, else those two workloads claim.
    public var processes: [ProcessName] = []
    /// The workload that claimed each PID: the first whose match holds (its checks apply).
    public var owner: [Int: String] = [:]
    /// Every workload whose match holds for each PID, in policy order. A process any
    /// protected workload matches is protected, whichever workload is listed first.
    public var claimants: [Int: [String]] = [:]
    /// Each workload's claimed processes, read in full (threads; numa_maps when a check needs it).
    public var members: [String: [WorkloadProcess]] = [:]
    /// Every process read in full, keyed by PID: workload members with threads; with a
    /// reservation, every other process without.
    public var snapshots: [Int: ProcessSnapshot] = [:]
    /// Per-node memory from the cgroups dedicated to protected (or `scan: false`) workloads.
    var cgroupMemory = CgroupMemory()
    /// `--launch-records`, when asked for.
    public var launchRecords: LaunchRecords?
    /// The host's snapshot, read only when a baseline is to be compared (`audit --baseline`).
    public var snapshot: Snapshot?
    /// What could not be read, what exited, what was deliberately left out.
    public var problems = Problems()
    /// The host's devices, read only when the policy has `devices:` rules (DeviceChecks).
    public var devices = DeviceLocality.Inventory()
    /// The node of each device a workload's node list names, read only when one does
    /// (DeviceResolution turns them into numbers before anything is judged).
    public var deviceNodes: [DeviceSpecifier: Result<Int, DeviceRefusal>] = [:]
    /// Isolation, workqueue mask and irqbalance: read only when the policy has `host.isolation`,
    /// `host.irqbalance` or a CPU reservation (HostStateIsolation.swift).
    public var isolation: IsolationState?
    /// Every IRQ's affinity and every thread's placement: read only for CPU reservations.
    public var irqScan: IRQScan?
    public var threads: ThreadScan?

    public struct ProcessName: Equatable, Sendable {
        public var pid: Int
        public var comm: String

        public init(pid: Int, comm: String) {
            self.pid = pid
            self.comm = comm
        }
    }

    /// What reading found instead of facts. Every unreadable item is also exactly one
    /// incomplete finding (`unread`), so every output counts the same thing.
    public struct Problems: Sendable {
        /// Processes that exited while being read: not an error, just gone.
        public var gone: [String] = []
        public var unreadable: [String] = []
        public var unread: [Finding] = []
        /// Said, never counted (another user's launch record; what `scan: false` costs).
        public var notes: [String] = []
        /// Each protected process's numa_maps read, timed on the live host.
        public var numaMapsReads: [NumaMapsRead] = []

        /// Something that could not be read: listed in `unreadable` as `line` and counted as
        /// one incomplete finding, the one place that keeps the two in step.
        public mutating func unreadable(_ line: String, check: CheckID, subject: String, pid: Int? = nil,
                                        expected: String = "readable", actual: String, remediation: String) {
            unreadable.append(line)
            unread.append(Finding(check: check, severity: .critical, outcome: .incomplete, subject: subject, pid: pid,
                                  expected: expected, actual: actual, remediation: remediation))
        }
    }

    public init(kernel: KernelState, topology: Topology, names: HostNames) {
        self.kernel = kernel
        self.topology = topology
        self.names = names
    }

    /// numa_maps tallies of every process read with memory.
    public var tallies: [Int: MemoryTally] { snapshots.compactMapValues(\.memory) }

    /// The CPUs a workload's `cpus` declares on this host.
    public func declaredCPUs(_ workload: Workload) -> IDSet? { workload.declaredCPUs(on: topology) }

    /// Processes outside the reserving workloads holding anonymous (or mixed) memory on the
    /// reserved node, by their own numa_maps, largest first: what the enforcer can move.
    public func foreignHolders(_ reservation: Reservation) -> [((pid: Int, comm: String), Int)] {
        let read = snapshots.values.sorted { $0.pid < $1.pid }
        return NodeChecks.foreignHolders(reservation, processes: read.map { ($0.pid, $0.comm) }, owner: owner,
                                         tallies: read.reduce(into: [:]) { tallies, snapshot in tallies[snapshot.pid] = snapshot.memory })
    }
}

extension Workload {
    /// The CPUs this workload's `cpus` declares on a host (a node list becomes those nodes' CPUs).
    public func declaredCPUs(on topology: Topology) -> IDSet? {
        cpus.map { placement in
            switch placement {
            case let .cpulist(cpus): cpus
            case let .nodes(nodes): topology.nodes.filter { nodes.contains($0.id) }.reduce(IDSet()) { $0.union($1.cpus) }
            }
        }
    }
}
