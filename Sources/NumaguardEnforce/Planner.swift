import NumaguardAudit
import NumaguardCore
import NumaguardPolicy

/// Findings in, actions out. Pure: it reads nothing, so every decision (what is done live,
/// what is refused because a protected process would be touched, what is left to the
/// operator) is testable over recorded hosts. Only failed findings count: a waived one is
/// accepted, an incomplete one is not known to be wrong.
public enum Planner {
    public struct Options: Sendable {
        /// numaguard itself: never a target (its own pages are not the host's).
        public var selfPID: Int
        /// `--persist`: the drop-in to write and what it holds now.
        public var persist: DropIn?
        /// The irqbalance daemons that would rewrite an IRQ apply writes; nil: what the audit
        /// read (HostState), none when it read none.
        public var irqRewriters: [IRQRewriter]?

        public struct DropIn: Sendable {
            public var path: String
            /// nil: absent.
            public var current: String?
            public init(path: String, current: String?) {
                self.path = path
                self.current = current
            }
        }

        public init(selfPID: Int, persist: DropIn? = nil, irqRewriters: [IRQRewriter]? = nil) {
            self.selfPID = selfPID
            self.persist = persist
            self.irqRewriters = irqRewriters
        }
    }

    /// `state`: the host state the audit judged (`Auditor.audit`), so nothing is read again.
    public static func plan(_ report: AuditReport, state: HostState, policy: Policy, options: Options) -> Plan {
        var planner = Planning(report: report, state: state, policy: policy, options: options)
        for finding in report.findings where finding.outcome == .fail {
            planner.add(finding)
        }
        planner.settleLastCPU()
        if let persist = options.persist { planner.addPersist(path: persist.path, current: persist.current) }
        return Plan(policyFile: report.policyFile, policyDigest: report.policyDigest, bootID: report.host.bootID,
                    actions: planner.actions(), unreadable: report.unreadable)
    }

    /// Migrations leave pages shared with other processes (page cache, libraries) in place
    /// whenever the policy has a protected workload, running or not when apply comes to it:
    /// they may be the protected process's too.
    public static func sharesStay(_ policy: Policy) -> Bool { policy.workloads.contains { $0.protected } }

    /// The sysctl.d drop-in for the sysctls the policy declares (those the kernel has).
    /// THP and huge page pools are not sysctls; the README says how to keep them.
    public static func dropIn(_ policy: Policy, kernel: KernelState?, digest: String) -> String? {
        var lines: [String] = []
        if let wanted = policy.host.kernel.numaBalancing, kernel?.numaBalancing != nil {
            lines.append("kernel.numa_balancing = \(wanted.value)")
        }
        if let wanted = policy.host.kernel.zoneReclaimMode, kernel?.zoneReclaimMode != nil {
            lines.append("vm.zone_reclaim_mode = \(wanted)")
        }
        guard !lines.isEmpty else { return nil }
        return "# Written by numaguard apply --persist (policy \(digest)); numaguard rewrites this file.\n"
            + lines.joined(separator: "\n") + "\n"
    }
}

/// One planning pass: actions gathered per knob and per process, then ordered.
struct Planning {
    let report: AuditReport
    let state: HostState
    let policy: Policy
    let options: Planner.Options
    var knobs: [Action] = []
    private var persist: Action?
    var processes: [Int: ProcessActions] = [:]
    private var manual: [Action] = []
    /// threads.last_cpu findings: covered by the process's affinity action, if it gets one.
    private var lastCPU: [Finding] = []
    /// Where each IRQ's set_knob is in `knobs`: one write per IRQ, found in constant time.
    var irqKnobs: [Int: Int] = [:]
    /// The reserve.irqs findings' IRQs, indexed on first use.
    var reservedIRQs: ReservedIRQs?

    /// Everything planned for one process, merged across the findings that name it.
    struct ProcessActions {
        var target: ProcessTarget
        var affinity: Action?
        var migration: Action?
        /// vacate_cpus: its threads off a CPU reservation.
        var vacate: Action?
        /// A protected process: one refusal listing every check it fails.
        var refusal: Action?
        /// A non-protected process only a restart fixes (its memory policy).
        var restart: Action?
    }

    init(report: AuditReport, state: HostState, policy: Policy, options: Planner.Options) {
        self.report = report
        self.state = state
        self.policy = policy
        self.options = options
    }

    func actions() -> [Action] {
        let ordered = processes.keys.sorted().compactMap { processes[$0] }
        return knobs + (persist.map { [$0] } ?? [])
            + ordered.flatMap { [$0.affinity, $0.migration, $0.vacate].compactMap { $0 } }
            + ordered.compactMap(\.refusal) + ordered.compactMap(\.restart) + manual
    }

    // MARK: findings

    mutating func add(_ finding: Finding) {
        let check = finding.check
        let kernel = state.kernel
        switch finding.id {
        case .kernel(.numaBalancing):
            guard let wanted = policy.host.kernel.numaBalancing, let now = kernel.numaBalancing else {
                return leave(finding, "this kernel has no kernel.numa_balancing sysctl")
            }
            addKnob(.sysctl("kernel.numa_balancing"), check: check, before: "\(now)", after: "\(wanted.value)")
        case .kernel(.zoneReclaimMode):
            guard let wanted = policy.host.kernel.zoneReclaimMode, let now = kernel.zoneReclaimMode else {
                return leave(finding, "this kernel has no vm.zone_reclaim_mode sysctl")
            }
            addKnob(.sysctl("vm.zone_reclaim_mode"), check: check, before: "\(now)", after: "\(wanted)")
        case .kernel(.transparentHugepage):
            guard let wanted = policy.host.kernel.transparentHugepage, let now = kernel.transparentHugepage else {
                return leave(finding, "this kernel has no transparent huge pages")
            }
            addKnob(.transparentHugepage, check: check, before: now, after: wanted)
        case let .hugePages(node, sizeKiB):
            addHugePages(finding, node: node, sizeKiB: sizeKiB)
        case let .workload(name, workloadCheck):
            addWorkload(finding, workload: name, check: workloadCheck)
        case let .reservation(node):
            addReservation(finding, node: node)
        case .device(_, .irqsEffective), .device(_, .irqsRequested):
            addIRQ(finding)
        case let .cpuReservation(cpus, .threads):
            addVacate(finding, cpus: cpus)
        case let .cpuReservation(cpus, .irqs):
            addReservedIRQ(finding, cpus: cpus)
        case .bootRequires, .bootForbids, .topologyNodes, .topology, .forbiddenProcess, .headroom, .reservationsRead,
             .launchRecordsRead, .windowMigrations, .windowNumaMiss, .drift, .device, .isolation, .irqbalance,
             .cpuReservation, .windowInterrupts, .windowIsolatedInterrupts:
            // Boot arguments, topology, forbidden daemons, headroom: nothing apply may change.
            // A device's node, firmware locality, managed vectors: hardware and boot arguments.
            // Isolation, a reservation's last CPUs, kernel threads and workqueue: manual in this version.
            leave(finding, finding.remediation)
        }
    }

    mutating func addKnob(_ knob: Knob, check: String, before: String, after: String) {
        let requires = Self.requirements(for: knob)
        knobs.append(Action(kind: .setKnob, checks: [check], subject: knob.name, knob: knob, value: after,
                            before: before, after: after, requires: requires))
    }

    /// Sysctl files check the effective uid (proc_sys_permission), not DAC_OVERRIDE; sysfs
    /// files are root's 0644 like any file.
    static func requirements(for knob: Knob) -> [Requirement] {
        switch knob.kind {
        case .sysctl:
            var requires = [Requirement(Requirement.root, why: "sysctl files take writes from euid 0 only")]
            if knob.name == "kernel.numa_balancing" {
                requires.append(Requirement("CAP_SYS_ADMIN", why: "the kernel refuses writes to kernel.numa_balancing without it"))
            }
            return requires
        case .choice, .number, .irqAffinity:
            return [Requirement("CAP_DAC_OVERRIDE", why: "/\(knob.path) is root's, mode 0644", exceptUID: 0)]
        }
    }

    mutating func addHugePages(_ finding: Finding, node: Int, sizeKiB: Int) {
        let requirement = policy.host.hugePages.first { $0.node == node && $0.sizeKiB == sizeKiB }
        guard let requirement else { return leave(finding, finding.remediation) }
        let pool = state.topology.node(requirement.node)?.hugePages.first { $0.sizeKiB == requirement.sizeKiB }
        guard let pool else {
            return leave(finding, "node \(requirement.node) has no \(requirement.sizeKiB) kB huge page pool: "
                         + "boot with hugepagesz=\(requirement.sizeKiB)K (and numa=on), then apply")
        }
        addKnob(.hugePages(node: requirement.node, sizeKiB: requirement.sizeKiB), check: finding.check,
                before: "\(pool.total)", after: "\(requirement.count)")
    }

    mutating func addPersist(path: String, current: String?) {
        guard let contents = Planner.dropIn(policy, kernel: state.kernel, digest: report.policyDigest),
              contents != current else { return }
        persist = Action(kind: .persist, checks: [], subject: path, value: contents, file: path,
                         before: current.map(Self.oneLine) ?? "absent", after: Self.oneLine(contents),
                         requires: [Requirement("CAP_DAC_OVERRIDE", why: "the directory is root's", exceptUID: 0)])
    }

    static func oneLine(_ contents: String) -> String {
        contents.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "; ")
    }

    /// Something apply does not do: listed with what to do instead.
    mutating func leave(_ finding: Finding, _ reason: String) {
        manual.append(Action(kind: .manual, status: .manual, checks: [finding.check], subject: finding.subject ?? "host",
                             before: finding.actual, after: finding.expected, reason: reason))
    }
}

// MARK: processes

extension Planning {
    /// Protected if ANY workload whose match holds is protected, not only the one listed first
    /// (which owns its checks): the order of workloads in a policy never unprotects a process.
    func target(_ pid: Int) -> ProcessTarget? {
        guard let snapshot = state.snapshots[pid] else { return nil }
        let owner = state.owner[pid]
        let names = state.claimants[pid] ?? owner.map { [$0] } ?? []
        let guardian = policy.workloads.first { $0.protected && names.contains($0.name) }
        return ProcessTarget(pid: pid, startTime: snapshot.identity.startTime, comm: snapshot.comm, uid: snapshot.uid,
                             workload: guardian?.name ?? owner, protected: guardian != nil)
    }

    mutating func addWorkload(_ finding: Finding, workload name: String, check: CheckID.WorkloadCheck) {
        guard let workload = policy.workloads.first(where: { $0.name == name }), let pid = finding.pid, pid != options.selfPID,
              let target = target(pid) else {
            return leave(finding, finding.remediation)
        }
        if target.protected { return refuse(target, finding) }
        switch check {
        case .cpus:
            guard let cpus = state.declaredCPUs(workload), let snapshot = state.snapshots[pid] else { return leave(finding, finding.remediation) }
            let masks = Set(snapshot.threads.map { ($0.cpusAllowed ?? snapshot.cpusAllowed).listString })
            var entry = processes[pid] ?? ProcessActions(target: target)
            entry.affinity = Action(
                kind: .setAffinity, checks: [finding.check], subject: target.label, process: target, cpus: cpus,
                before: "threads allowed CPUs " + (masks.isEmpty ? snapshot.cpusAllowed.listString : masks.sorted().joined(separator: " / ")),
                after: "every thread allowed CPUs \(cpus.listString)",
                requires: [Self.affinityRequirement])
            processes[pid] = entry
        case .lastCPU:
            // The affinity fix covers it (settleLastCPU); a sleeping thread's last CPU changes only when it next runs.
            lastCPU.append(finding)
        case .remote:
            guard let memory = workload.memory, let tally = state.snapshots[pid]?.memory else {
                return leave(finding, finding.remediation)
            }
            let from = IDSet(tally.nodes.filter { !memory.nodes.contains($0) && tally.bytes(.anonymous, on: $0) > 0 })
            guard !from.isEmpty else { return leave(finding, finding.remediation) }
            addMigration(target, from: from, to: memory.nodes, check: finding.check)
        case .cpusetCPUs, .cpusetMems, .memsAllowed:
            addCgroup(finding, target)
        case .memoryPolicy, .interleave, .launcher:
            var entry = processes[pid] ?? ProcessActions(target: target)
            if entry.restart == nil {
                entry.restart = Action(
                    kind: .restart, status: .manual, checks: [], subject: target.label, process: target,
                    before: "", after: "",
                    reason: "the kernel cannot change another process's memory policy: restart through numaguard run --policy \(report.policyFile) --workload \(workload.name)")
            }
            entry.restart?.answer(finding)
            processes[pid] = entry
        case .running, .claim, .read, .cgroupRead, .deviceReference, .windowSwitches:
            leave(finding, finding.remediation)
        }
    }

    mutating func refuse(_ target: ProcessTarget, _ finding: Finding) {
        var entry = processes[target.pid] ?? ProcessActions(target: target)
        if entry.refusal == nil {
            entry.refusal = Action(
                kind: .restart, status: .refused, checks: [], subject: target.label, process: target, before: "", after: "",
                reason: "protected workload \(target.workload ?? "?"): its pages are never migrated, its affinity and its cgroup's cpuset "
                    + "never changed live; restart through numaguard run --policy \(report.policyFile) --workload \(target.workload ?? "?")")
        }
        entry.refusal?.answer(finding)
        processes[target.pid] = entry
    }

    /// A last-CPU finding for a process that gets no affinity action (its allowed CPUs are
    /// already right, or it is not numaguard's to change) is not silently dropped.
    mutating func settleLastCPU() {
        for finding in lastCPU {
            guard let pid = finding.pid, processes[pid]?.affinity == nil,
                  processes[pid]?.refusal?.checks.contains(finding.check) != true else { continue }
            leave(finding, "apply sets no affinity for \(finding.subject ?? "PID \(pid)"): its threads are already allowed only "
                  + "the declared CPUs and last ran elsewhere before that; a sleeping thread's last CPU changes when it next runs, "
                  + "so audit again later (or restart it through numaguard run)")
        }
    }

    mutating func addMigration(_ target: ProcessTarget, from: IDSet, to: IDSet, check: String) {
        let snapshot = state.snapshots[target.pid]
        var entry = processes[target.pid] ?? ProcessActions(target: target)
        let nodes = (entry.migration?.fromNodes ?? IDSet()).union(from)
        let checks = (entry.migration?.checks ?? []) + [check]
        entry.migration = Action(
            kind: .migratePages, checks: checks, subject: target.label, process: target, fromNodes: nodes, toNodes: to,
            before: "anonymous memory " + (snapshot?.memory.map { Step.describe($0.anonymousByNode) } ?? "unknown"),
            after: "none on node\(nodes.count == 1 ? "" : "s") \(nodes.listString) (moved to node\(to.count == 1 ? "" : "s") \(to.listString))",
            requires: Migration.requirements(target))
        entry.migration?.onlyUnshared = Planner.sharesStay(policy)
        processes[target.pid] = entry
    }

    /// Always CAP_SYS_NICE: the kernel lets an owner re-pin its own process without it only
    /// when the target holds no capability numaguard lacks (cap_safe_nice), which a root
    /// daemon always does once CAP_SYS_NICE is gone; numaguard does not guess which case it is.
    static let affinityRequirement = Requirement(
        "CAP_SYS_NICE", why: "sched_setaffinity on another process's threads (also needed for a process of the same owner that holds capabilities numaguard lacks)")

    /// cgroup v2 moves a cgroup's pages when its cpuset.mems changes (memory_migrate is always
    /// on), and a cpuset.cpus write re-pins every task in it: never with a protected process inside.
    mutating func addCgroup(_ finding: Finding, _ target: ProcessTarget) {
        let path = state.snapshots[target.pid]?.cgroups.first { $0.hierarchy == 0 }?.path
        let protectedInside = state.snapshots.values
            .filter { $0.cgroups.first { $0.hierarchy == 0 }?.path == path }
            .compactMap { self.target($0.pid) }.filter(\.protected).sorted { $0.pid < $1.pid }
        if let guardian = protectedInside.first, let path {
            manual.append(Action(
                kind: .manual, status: .refused, checks: [finding.check], subject: "cgroup \(path)", process: target,
                before: finding.actual, after: finding.expected,
                reason: "cgroup \(path) holds protected \(guardian.label): writing its cpuset would migrate or re-pin it live "
                    + "(cgroup v2 moves a cgroup's memory when cpuset.mems changes); change it with the protected workload stopped"))
        } else {
            leave(finding, finding.remediation + " (numaguard does not write cgroups: their service manager owns them)")
        }
    }

    mutating func addReservation(_ finding: Finding, node: Int) {
        guard let reservation = policy.reservations.first(where: { $0.node == node }) else { return leave(finding, finding.remediation) }
        let topology = state.topology
        let holders = state.foreignHolders(reservation)
        let reserved = IDSet(policy.reservations.map(\.node))
        // Protected holders cannot move (they are refused); the others move largest first
        // until what the movable ones leave fits the allowance, so small bystanders stay put.
        var remaining = holders.filter { self.target($0.0.pid)?.protected != true }.lazy.map(\.1).saturatingSum
        for (process, bytes) in holders where process.pid != options.selfPID {
            guard let target = target(process.pid) else { continue }
            if target.protected {
                refuse(target, finding)
                continue
            }
            if remaining <= reservation.maxForeignMemory { continue }
            let declared = target.workload.flatMap { name in policy.workloads.first { $0.name == name } }
            let to = Self.destination(declared, avoiding: reservation.node, reserved: reserved, topology: topology)
            guard !to.isEmpty else {
                // The other holders are still planned (a protected one still refused).
                leave(finding, "no unreserved node with memory to move \(target.label) to")
                continue
            }
            addMigration(target, from: IDSet([reservation.node]), to: to, check: finding.check)
            remaining -= bytes
        }
    }

    /// Where a foreign holder's pages go: its workload's memory nodes, else the nodes of its
    /// declared CPUs that have memory (local allocation follows the CPUs), else every
    /// unreserved node with memory.
    static func destination(_ workload: Workload?, avoiding node: Int, reserved: IDSet, topology: Topology) -> IDSet {
        if let memory = workload?.memory, !memory.nodes.isEmpty, !memory.nodes.contains(node), !memory.mode.isInterleave {
            return memory.nodes
        }
        if let workload, let cpus = workload.declaredCPUs(on: topology) {
            let nodes = topology.nodes(ofCPUs: cpus).intersection(topology.nodesWithMemory)
            if !nodes.isEmpty, !nodes.contains(node) { return nodes }
        }
        return topology.nodesWithMemory.subtracting(reserved)
    }
}

extension Action {
    /// Adds a finding this action answers, with what the audit saw and what the policy wants.
    mutating func answer(_ finding: Finding) {
        guard !checks.contains(finding.check) else { return }
        checks.append(finding.check)
        let (was, wanted) = checks.count == 1 ? ("", "") : (before + "; ", after + "; ")
        before = was + "\(finding.check): \(finding.actual)"
        after = wanted + "\(finding.check): \(finding.expected)"
    }
}

extension MemoryTally {
    /// Anonymous bytes per node: what a migration is judged on (file pages that may be a
    /// protected process's too can stay on purpose).
    public var anonymousByNode: [Int: Int] {
        nodes.reduce(into: [:]) { bytes, node in bytes[node] = self.bytes(.anonymous, on: node) }
    }
}
