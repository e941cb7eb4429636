#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// The side effects a launch has on its own process, behind one small protocol so the order
/// (placement, read-back, record, user, capabilities, signals, exec) is tested without a
/// privileged host; `LiveProcess` is proven on real kernels by the VM tests.
public protocol SelfPlacing {
    func setMemoryPolicy(_ policy: MemoryPolicy) throws(SystemCallError)
    func setAffinity(_ cpus: IDSet) throws(SystemCallError)
    func memoryPolicy() throws(LaunchError) -> MemoryPolicy
    func affinity() throws(SystemCallError) -> IDSet
    func writeRecord(_ record: LaunchRecord, directory: String) throws(OutputError)
    func become(_ credentials: Credentials) throws(Credentials.Failure)
    func clearCapabilities() throws(SystemCallError)
    func resetSignals(_ state: SignalState) throws(SystemCallError)
    /// Returns only when exec failed.
    func exec(_ path: RawArgument, _ arguments: [RawArgument]) -> Errno
}

/// A launch that passed every check: what `--dry-run` prints and what `execute` applies.
public struct PreparedLaunch: Sendable {
    public var plan: LaunchPlan
    /// The resolved program; nil for a dry run without one. Bytes, as execve takes them.
    public var program: RawArgument?
    public var arguments: [RawArgument]
    public var credentials: Credentials?
    public var keepCapabilities: Bool
    public var recordDirectory: String?
    public var policyPath: String?
    public var policyDigest: String?
    public var workload: String?
    /// The signal state read with the host, reset just before exec.
    public var signals: SignalState
}

public enum Launcher {
    /// Everything that can fail before the process is touched: the host is read, the plan
    /// checked, the program found and the user resolved. Nothing is changed here.
    public static func prepare(_ request: LaunchRequest, root: HostRoot, policyDigest: String?,
                               path: RawArgument?) throws(LaunchError) -> PreparedLaunch {
        let host: LaunchHost
        do {
            host = try LaunchHostReader.read(
                root, memory: request.minFree != nil || !request.headroom.isEmpty,
                release: request.memory.map { LaunchPlanner.minimumKernel($0.mode) != nil } ?? false,
                isolated: request.cpuNodes != nil || request.physicalCPUs != nil,
                devices: request.devices)
        } catch {
            throw .failed("cannot read the host: \(error)")
        }
        var plan = try LaunchPlanner.plan(request, host: host, source: source(of: request))
        // A captured host's programs are not on this one: a dry run against it names the program as given.
        let program = try request.command.first.map { name throws(LaunchError) -> RawArgument in
            root.isLive ? try ProgramLookup.resolve(name, path: path) : name
        }
        var credentials: Credentials?
        if let user = request.user {
            do {
                credentials = try Credentials.lookUp(user)
            } catch {
                throw .refused("--user \(user): \(error)")
            }
        }
        if request.keepCapabilities, let credentials,
           let warning = keepCapabilitiesWarning(user: credentials, wrapperUIDs: [getuid(), geteuid()]) {
            plan.warnings.append(warning)
        }
        return PreparedLaunch(
            plan: plan, program: program, arguments: request.command, credentials: credentials,
            keepCapabilities: request.keepCapabilities, recordDirectory: request.recordDirectory,
            policyPath: request.policyPath, policyDigest: policyDigest, workload: request.workload,
            signals: host.signals
        )
    }

    /// `--keep-caps` cannot keep anything across a switch from root to another user: the
    /// kernel clears the permitted, effective and ambient sets when no uid is left at 0 (and
    /// numaguard does not set SECBIT_KEEP_CAPS). Said rather than letting the dry run promise it.
    static func keepCapabilitiesWarning(user: Credentials, wrapperUIDs: [uid_t]) -> String? {
        guard user.uid != 0, wrapperUIDs.contains(0) else { return nil }
        return "--keep-caps with --user \(user.name): switching from root to uid \(user.uid) clears every capability "
            + "(the kernel does when no uid is left at 0), so the program starts with none"
    }

    static func source(of request: LaunchRequest) -> String {
        if let workload = request.workload, let path = request.policyPath { return "workload \"\(workload)\" of \(path)" }
        // Concatenated rather than joined from an array: the launch path builds no [String].
        var source = ""
        func add(_ part: String) { source += source.isEmpty ? part : " " + part }
        if let nodes = request.cpuNodes { add(request.cpuNodesOption + " " + nodes.text) }
        if let cpus = request.physicalCPUs { add(request.physicalCPUsOption + " " + cpus.text) }
        if let memory = request.memory { add(memory.nodes.map { memory.source + " " + $0.text } ?? memory.source) }
        if request.staticNodes { add("--static-nodes") }
        return source.isEmpty ? "no placement options (memory policy reset to default)" : source
    }

    /// Applies the plan to this process and execs the program. Returns only on failure,
    /// with the error to report; the caller exits with its status.
    public static func execute(_ launch: PreparedLaunch, on process: some SelfPlacing, identity: () -> LaunchIdentity?,
                               tool: String) -> LaunchError {
        guard let program = launch.program else { return .usage("no program given") }
        do {
            try apply(launch.plan, on: process)
            if let directory = launch.recordDirectory {
                guard let identity = identity() else { return .failed("--record: cannot read this process's pid and start time") }
                let record = LaunchRecord(
                    tool: tool, pid: identity.pid, startTime: identity.startTime, bootID: identity.bootID,
                    launchedAt: identity.time, program: program.text, arguments: launch.arguments.map(\.text),
                    user: launch.credentials?.name, cpus: launch.plan.cpus, memoryPolicy: launch.plan.memory.kernelSpelling,
                    source: launch.plan.source, policyPath: launch.policyPath, policyDigest: launch.policyDigest,
                    workload: launch.workload
                )
                do {
                    try process.writeRecord(record, directory: directory)
                } catch {
                    return .failed("--record \(directory): \(error.reason)")
                }
            }
            if let credentials = launch.credentials {
                do {
                    try process.become(credentials)
                } catch {
                    return .failed("--user \(credentials.name): \(error)")
                }
            }
            if !launch.keepCapabilities { try process.clearCapabilities() }
            try process.resetSignals(launch.signals)
        } catch let error as LaunchError {
            return error
        } catch let error as SystemCallError {
            return .failed(error.description)
        } catch {
            return .failed("\(error)")
        }
        let errno = process.exec(program, launch.arguments)
        if errno == .noEntry { return .notFound("\(program): \(errno)") }
        return .notExecutable("\(program): \(errno)")
    }

    /// Sets the policy and the affinity, then reads both back: the kernel silently narrows
    /// either to the cpuset, and a launcher that promised a placement must not guess.
    static func apply(_ plan: LaunchPlan, on process: some SelfPlacing) throws(LaunchError) {
        do {
            try process.setMemoryPolicy(plan.memory)
        } catch {
            throw .failed("\(error) (memory policy \(plan.memory.kernelSpelling))")
        }
        if let cpus = plan.cpus {
            do {
                try process.setAffinity(cpus)
            } catch {
                throw .failed("\(error) (CPUs \(cpus))")
            }
        }
        let policy = try process.memoryPolicy()
        guard policy == plan.memory else {
            throw .failed("the kernel holds memory policy \(policy.kernelSpelling) after numaguard set \(plan.memory.kernelSpelling)")
        }
        if let cpus = plan.cpus {
            let actual: IDSet
            do {
                actual = try process.affinity()
            } catch {
                throw .failed(error.description)
            }
            guard actual == cpus else {
                throw .failed("the kernel holds CPUs \(actual) after numaguard set \(cpus)")
            }
        }
    }
}

/// Who this process is, for the launch record.
public struct LaunchIdentity: Sendable {
    public var pid: Int
    public var startTime: UInt64
    public var bootID: String
    public var time: String

    public init(pid: Int, startTime: UInt64, bootID: String, time: String) {
        self.pid = pid
        self.startTime = startTime
        self.bootID = bootID
        self.time = time
    }
}
