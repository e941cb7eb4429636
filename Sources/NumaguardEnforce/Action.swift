import NumaguardCore

/// A kernel setting apply writes and reads back: a sysctl, or a sysfs file.
public struct Knob: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// /proc/sys: `sysctl` names it, a sysctl.d drop-in can persist it.
        case sysctl
        /// A sysfs file that reports its choices with the selected one in brackets (`always madvise [never]`).
        case choice
        /// A sysfs file holding one number.
        case number
        /// `/proc/irq/N/smp_affinity_list`: a CPU list, compared in its canonical spelling
        /// (`0,1` is `0-1`), written as one and checked against `effective_affinity_list`.
        case irqAffinity = "irq_affinity"
    }

    /// What the operator reads: `kernel.numa_balancing`, `transparent_hugepage.enabled`,
    /// `node0.hugepages-2048kB.nr_hugepages`.
    public var name: String
    /// Under the host root, without a leading slash.
    public var path: String
    public var kind: Kind

    /// Any name, path and kind: what a saved plan or journal may carry. Only KnownTargets
    /// decides whether it is written.
    public init(name: String, path: String, kind: Kind) {
        self.name = name
        self.path = path
        self.kind = kind
    }

    public static func sysctl(_ name: String) -> Knob {
        Knob(name: name, path: "proc/sys/" + name.replacingDots(), kind: .sysctl)
    }

    public static let transparentHugepage = Knob(
        name: "transparent_hugepage.enabled", path: "sys/kernel/mm/transparent_hugepage/enabled", kind: .choice)

    public static func hugePages(node: Int, sizeKiB: Int) -> Knob {
        Knob(name: "node\(node).hugepages-\(sizeKiB)kB.nr_hugepages",
             path: "sys/devices/system/node/node\(node)/hugepages/hugepages-\(sizeKiB)kB/nr_hugepages", kind: .number)
    }

    /// Where IRQ `irq` is asked to go: `irq.N.smp_affinity_list`, at `/proc/irq/N/smp_affinity_list`.
    public static func irqAffinity(irq: Int) -> Knob {
        Knob(name: "irq.\(irq).smp_affinity_list", path: "proc/irq/\(irq)/smp_affinity_list", kind: .irqAffinity)
    }

    /// The value in the spelling apply writes and compares: the bracketed choice of a sysfs
    /// choice file, a CPU list respelled canonically, the trimmed text otherwise.
    public func value(of text: String) -> String {
        switch kind {
        case .choice: (try? BracketChoiceParser.parse(text)) ?? String(Lex.trimmed(text))
        case .irqAffinity: Self.cpuList(text) ?? String(Lex.trimmed(text))
        case .sysctl, .number: String(Lex.trimmed(text))
        }
    }

    /// `text` as a canonical CPU list (`0,1,2` -> `0-2`), nil when it is not one. The empty
    /// list stays empty (an effective list of an IRQ not started).
    public static func cpuList(_ text: String) -> String? {
        let trimmed = Lex.trimmed(text)
        if trimmed.isEmpty { return "" }
        return (try? IDListParser.parse(trimmed, what: "CPU list"))?.listString
    }
}

/// The interrupt an IRQ-affinity action is for, as it was when planned. An IRQ number alone is
/// not an identity: numbers are handed out at boot and when drivers load, so apply re-reads the
/// handler's name (`/sys/kernel/irq/N/actions`) and the boot right before writing, and undo
/// never writes an IRQ recorded on another boot.
public struct IRQTarget: Codable, Hashable, Sendable {
    public var irq: Int
    /// The handler names as read at plan time (`virtio1-input.0`); nil when there was no file.
    public var actions: String?
    /// The policy's device rule it belongs to (`md-nic`), for the operator.
    public var device: String?
    /// `/proc/sys/kernel/random/boot_id` when planned; nil when unknown (then never written).
    public var bootID: String?

    public init(irq: Int, actions: String?, device: String?, bootID: String?) {
        self.irq = irq
        self.actions = actions
        self.device = device
        self.bootID = bootID
    }

    enum CodingKeys: String, CodingKey { case irq, actions, device, bootID = "boot_id" }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}

/// The process an action is for, as it was when planned. A PID alone is not an identity:
/// apply re-reads the start time right before acting, so a process that exited, or whose
/// PID was reused, is never touched.
public struct ProcessTarget: Codable, Hashable, Sendable {
    public var pid: Int
    public var startTime: UInt64
    public var comm: String
    /// Real uid (status Uid), which decides whether acting on it needs a capability.
    public var uid: Int?
    public var workload: String?
    public var protected: Bool

    public init(pid: Int, startTime: UInt64, comm: String, uid: Int?, workload: String?, protected: Bool) {
        self.pid = pid
        self.startTime = startTime
        self.comm = comm
        self.uid = uid
        self.workload = workload
        self.protected = protected
    }

    public var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime) }
    public var label: String { "PID \(pid) (\(comm))" }

    enum CodingKeys: String, CodingKey { case pid, startTime = "start_time_ticks", comm, uid, workload, protected }
}

/// A privilege an action needs: a capability, or being root (sysctl files check the
/// effective uid, not DAC_OVERRIDE).
public struct Requirement: Codable, Hashable, Sendable {
    /// `CAP_SYS_NICE`, or `root` for euid 0.
    public var privilege: String
    /// Why the kernel asks for it here.
    public var why: String
    /// The requirement does not apply when numaguard's effective uid is this one: root for
    /// root-owned files, the target's owner for sched_setaffinity and ptrace access.
    public var exceptUID: Int?

    public init(_ privilege: String, why: String, exceptUID: Int? = nil) {
        self.privilege = privilege
        self.why = why
        self.exceptUID = exceptUID
    }

    public static let root = "root"

    enum CodingKeys: String, CodingKey { case privilege, why, exceptUID = "except_uid" }
}

/// One step of a plan, with the host's value before and the value it will have after.
public struct Action: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case setKnob = "set_knob"
        /// Every thread of a process, to the declared CPUs.
        case setAffinity = "set_affinity"
        /// migrate_pages from nodes the process must not use to its declared nodes.
        case migratePages = "migrate_pages"
        /// Every thread of a process that may run on reserved CPUs (`cpus` of the action) loses
        /// them, keeping its other CPUs.
        case vacateCPUs = "vacate_cpus"
        /// The sysctl.d drop-in that keeps the sysctls across a reboot.
        case persist
        /// Only a restart through numaguard run fixes it (a memory policy cannot be changed
        /// from outside, a protected process is never changed live).
        case restart
        /// Outside what numaguard changes: boot arguments, hardware, cgroups, other daemons.
        case manual
    }

    public enum Status: String, Codable, Sendable {
        /// apply will do it (privilege permitting).
        case pending
        /// It would touch a protected process live: never done.
        case refused
        /// Not something apply does; `reason` says what is.
        case manual
    }

    public var kind: Kind
    public var status: Status
    /// The finding checks it answers.
    public var checks: [String]
    /// What it changes, as printed: a knob name, `PID 123 (probe)`, a file.
    public var subject: String
    public var knob: Knob?
    /// set_knob of an IRQ's affinity: the interrupt as planned (its handler's name, the boot).
    public var irq: IRQTarget?
    public var process: ProcessTarget?
    /// set_affinity: the CPUs; vacate_cpus: the reserved CPUs its threads leave.
    public var cpus: IDSet?
    /// migrate_pages: from these nodes to those.
    public var fromNodes: IDSet?
    public var toNodes: IDSet?
    /// migrate_pages: leave pages other processes also map where they are (a protected
    /// process may share them).
    public var onlyUnshared: Bool?
    /// set_knob: the value written; persist: the file's new contents; vacate_cpus as undo
    /// makes it: the threads' masks to put back (ThreadMasks).
    public var value: String?
    /// persist: the file written.
    public var file: String?
    public var before: String
    public var after: String
    public var requires: [Requirement]
    /// Why it is refused or left to the operator, and what to do instead.
    public var reason: String?

    public init(kind: Kind, status: Status = .pending, checks: [String], subject: String, knob: Knob? = nil,
                process: ProcessTarget? = nil, cpus: IDSet? = nil, fromNodes: IDSet? = nil, toNodes: IDSet? = nil,
                value: String? = nil, file: String? = nil, before: String, after: String, requires: [Requirement] = [],
                reason: String? = nil) {
        self.kind = kind
        self.status = status
        self.checks = checks
        self.subject = subject
        self.knob = knob
        self.process = process
        self.cpus = cpus
        self.fromNodes = fromNodes
        self.toNodes = toNodes
        self.value = value
        self.file = file
        self.before = before
        self.after = after
        self.requires = requires
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case kind, status, checks, subject, knob, irq, process, cpus, fromNodes = "from_nodes", toNodes = "to_nodes", onlyUnshared = "only_unshared"
        case value, file, before, after, requires, reason
    }
}

/// What `numaguard plan` prints and `apply --plan FILE` reads back.
public struct Plan: Codable, Equatable, Sendable {
    public var policyFile: String
    public var policyDigest: String
    /// A saved plan is only applied on the boot it was made on.
    public var bootID: String?
    public var actions: [Action]
    /// What the audit could not read: a plan that lists nothing is not "nothing to do" then.
    public var unreadable: [String]

    public init(policyFile: String, policyDigest: String, bootID: String?, actions: [Action], unreadable: [String]) {
        self.policyFile = policyFile
        self.policyDigest = policyDigest
        self.bootID = bootID
        self.actions = actions
        self.unreadable = unreadable
    }

    /// 2 when anything is listed (even what only a restart fixes), else 3 when something
    /// could not be read, else 0.
    public var status: ExitStatus {
        if !actions.isEmpty { return .pending }
        return unreadable.isEmpty ? .success : .incomplete
    }

    enum CodingKeys: String, CodingKey {
        case policyFile = "policy_file", policyDigest = "policy_digest", bootID = "boot_id", actions, unreadable
    }
}
