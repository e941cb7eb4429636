import NumaguardCore

/// What the host does to keep CPUs to themselves: the isolated and nohz_full CPUs, the
/// `isolcpus=` flags of the boot command line (the only place `managed_irq` shows), the
/// unbound workqueues' cpumask, and the irqbalance daemons that run, with the banned CPUs
/// their own environment and arguments give them (ground truth is the running process, not
/// /etc/default/irqbalance).
public struct IsolationState: Equatable, Sendable {
    /// `/sys/devices/system/cpu/isolated`: isolcpus' `domain` CPUs only.
    public var isolated: IDSet
    public var nohzFull: IDSet
    /// The last `isolcpus=` of the kernel's command line, nil when there is none.
    public var isolcpus: IsolcpusArgument?
    /// `/sys/devices/virtual/workqueue/cpumask`; nil when the kernel has no such file.
    public var workqueueCPUs: IDSet?
    /// Root's irqbalance processes: the only ones that can write IRQ affinities.
    public var irqbalance: [IRQBalanceProcess] = []
    /// Processes named irqbalance that are not root's: reported, never judged.
    public var ignoredIRQBalance: [IgnoredProcess] = []
    /// Why the workqueue cpumask could not be read, when it could not.
    public var workqueueProblem: String?
    /// irqbalance processes that could not be read, one line each (each is one incomplete
    /// finding in the audit).
    public var irqbalanceProblems: [String] = []

    public init(isolated: IDSet, nohzFull: IDSet, isolcpus: IsolcpusArgument?, workqueueCPUs: IDSet?) {
        self.isolated = isolated
        self.nohzFull = nohzFull
        self.isolcpus = isolcpus
        self.workqueueCPUs = workqueueCPUs
    }

    public struct IgnoredProcess: Equatable, Sendable {
        public var pid: Int
        public var uid: Int?

        public init(pid: Int, uid: Int?) {
            self.pid = pid
            self.uid = uid
        }
    }
}

/// One running irqbalance of root's.
public struct IRQBalanceProcess: Equatable, Sendable {
    public var pid: Int
    /// nil when its command line could not be read (it exited, or was denied).
    public var arguments: IRQBalanceArguments?
    /// nil when its environment could not be read (it needs root or ptrace access).
    public var environment: IRQBalanceEnvironment?

    public init(pid: Int, arguments: IRQBalanceArguments?, environment: IRQBalanceEnvironment?) {
        self.pid = pid
        self.arguments = arguments
        self.environment = environment
    }
}

public enum IsolationReader {
    /// The most of `/proc/PID/environ` read: irqbalance's environment is a few hundred bytes.
    public static let maximumEnvironBytes = 256 << 10
    public static let maximumCmdlineBytes = 64 << 10

    /// `isolated`, `nohzFull` and `commandLine`: when the caller read them already (the audit's
    /// topology and kernel state), they are not read again. `processes`: every process's PID and
    /// comm, when the caller has them; else proc/ is listed here. `skip`: PIDs whose command line
    /// and environment must not be read (protected processes: both reads take the mmap lock).
    public static func read(_ root: HostRoot, isolated: IDSet? = nil, nohzFull: IDSet? = nil, commandLine: String? = nil,
                            processes: [(pid: Int, comm: String)]? = nil, skip: Set<Int> = []) throws(HostError) -> IsolationState {
        func cpus(_ relative: String) throws(HostError) -> IDSet {
            let set = try root.parseIfPresent(relative) { (text) throws(ParseError) in try IDListParser.parse(text, what: relative) }
            return set ?? IDSet()
        }
        var cmdline = commandLine ?? ""
        if commandLine == nil { cmdline = try root.readText("proc/cmdline") }
        var state = IsolationState(isolated: IDSet(), nohzFull: IDSet(), isolcpus: IsolcpusArgument.from(commandLine: cmdline), workqueueCPUs: nil)
        if let isolated { state.isolated = isolated } else { state.isolated = try cpus("sys/devices/system/cpu/isolated") }
        if let nohzFull { state.nohzFull = nohzFull } else { state.nohzFull = try cpus("sys/devices/system/cpu/nohz_full") }
        do {
            state.workqueueCPUs = try root.parseIfPresent("sys/devices/virtual/workqueue/cpumask") { (text) throws(ParseError) in
                try IDListParser.parseMask(text, what: "workqueue cpumask")
            }
        } catch {
            state.workqueueProblem = error.description
        }
        var listed = processes ?? []
        if processes == nil { listed = try listProcesses(root) }
        for process in listed where process.comm == "irqbalance" {
            readIRQBalance(root, pid: process.pid, skip: skip.contains(process.pid), into: &state)
        }
        return state
    }

    /// Every process's PID and comm (from its stat line), for a caller without them.
    public static func listProcesses(_ root: HostRoot) throws(HostError) -> [(pid: Int, comm: String)] {
        let pids = try ProcessReader(root: root).pids()
        return pids.compactMap { pid in
            (try? root.parse("proc/\(pid)/stat", TaskStatParser.parse)).map { (pid, $0.comm) }
        }
    }

    /// One process named irqbalance: judged only when root's (anyone may name a process
    /// irqbalance; only root can write IRQ affinities).
    static func readIRQBalance(_ root: HostRoot, pid: Int, skip: Bool, into state: inout IsolationState) {
        let base = "proc/\(pid)"
        let uid: Int?
        do {
            uid = try root.parse("\(base)/status") { ProcStatus.parse($0, keeping: ["Uid"]) }.uids.first
        } catch {
            if !error.isMissing { state.irqbalanceProblems.append("irqbalance PID \(pid): \(error)") }
            return
        }
        guard uid == 0 else {
            state.ignoredIRQBalance.append(.init(pid: pid, uid: uid))
            return
        }
        guard !skip else {
            state.irqbalanceProblems.append("irqbalance PID \(pid) is claimed by a protected workload: its command line and environment are not read")
            return
        }
        var process = IRQBalanceProcess(pid: pid, arguments: nil, environment: nil)
        do {
            let bytes = try capped(root, "\(base)/cmdline", maximumCmdlineBytes)
            process.arguments = IRQBalanceArguments.parse(bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
            let environ = try capped(root, "\(base)/environ", maximumEnvironBytes)
            process.environment = IRQBalanceEnvironment.parse(environ)
        } catch {
            if error.isMissing { return }
            state.irqbalanceProblems.append("irqbalance PID \(pid): \(error)"
                                    + (error.isPermission ? " (its environment needs root or CAP_SYS_PTRACE)" : ""))
        }
        state.irqbalance.append(process)
    }

    /// At most `limit` bytes of a file: what is beyond is not needed (and not read).
    static func capped(_ root: HostRoot, _ relative: String, _ limit: Int) throws(HostError) -> [UInt8] {
        var bytes: [UInt8] = []
        _ = try root.streamContents(relative, chunkSize: 64 << 10) { (chunk) throws(CappedRead) in
            bytes.append(contentsOf: chunk.prefix(limit - bytes.count))
            if bytes.count >= limit { throw CappedRead() }
        }
        return bytes
    }

    struct CappedRead: Error {}
}
