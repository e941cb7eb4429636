#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// Why a process could not be read. Each case names the PID, because an operator
/// running this against a fleet of trading processes must know exactly which one.
public enum ProcessReadError: Error, Sendable, CustomStringConvertible {
    /// No /proc/PID at the first read.
    case noSuchProcess(pid: Int)
    /// It existed when the read began and exited (or its PID was reused) before it ended.
    case vanished(pid: Int, comm: String, during: String)
    /// It has exited and waits for its parent to reap it: it has no memory left to place.
    case zombie(pid: Int, comm: String, parent: Int)
    /// A file the kernel guards with ptrace access checks was refused.
    case permissionDenied(pid: Int, comm: String, path: String, remedy: String)
    case host(HostError)

    public var pid: Int? {
        switch self {
        case let .noSuchProcess(pid), let .vanished(pid, _, _), let .zombie(pid, _, _), let .permissionDenied(pid, _, _, _): pid
        case .host: nil
        }
    }

    public var description: String {
        switch self {
        case let .noSuchProcess(pid):
            "no process with PID \(pid)"
        case let .vanished(pid, comm, during):
            "PID \(pid) (\(comm)) exited while \(during) was being read"
        case let .zombie(pid, comm, parent):
            "PID \(pid) (\(comm)) has exited (a zombie not yet reaped by its parent PID \(parent))"
        case let .permissionDenied(pid, comm, path, remedy):
            "permission denied reading \(path) of PID \(pid) (\(comm)): \(remedy)"
        case let .host(error):
            error.description
        }
    }
}

public struct ProcessReader: Sendable {
    public let root: HostRoot
    public init(root: HostRoot) { self.root = root }

    /// The status lines `read` uses (each still checked by `ProcStatus`'s rules as it is
    /// found; the others are skipped, not stored).
    static let statusFields = ["Cpus_allowed_list", "Mems_allowed_list", "VmRSS", "Uid"]

    /// PIDs present under proc/, ascending.
    public func pids() throws(HostError) -> [Int] {
        try root.list("proc").compactMap { Lex.decimal($0) }.sorted()
    }

    /// Reads one process. `memory` decides whether numa_maps is read: it holds the
    /// target's mmap lock while the kernel walks its page tables, so callers ask for it
    /// only when a memory figure is needed.
    /// `threads: false` skips the per-thread reads when only the process's identity and
    /// placement are needed (matching a thousand processes against a policy).
    /// `commandLine: false` leaves cmdline unread (empty): reading it takes the target's mmap
    /// lock (access_remote_vm), and the audit needs it only for matching, done before.
    public func read(pid: Int, memory readMemory: Bool, threads readThreads: Bool = true,
                     numaEnabled: Bool = true, commandLine: Bool = true) throws(ProcessReadError) -> ProcessSnapshot {
        let base = "proc/\(pid)"
        let stat: TaskStat
        do {
            stat = try root.parse("\(base)/stat", TaskStatParser.parse)
        } catch {
            if error.isMissing { throw .noSuchProcess(pid: pid) }
            throw .host(error)
        }
        let identity = ProcessIdentity(pid: pid, startTime: stat.startTime)
        if stat.hasExited { throw .zombie(pid: pid, comm: stat.comm, parent: stat.ppid) }

        func guarded<T>(_ what: String, _ body: () throws(HostError) -> T) throws(ProcessReadError) -> T {
            do {
                return try body()
            } catch {
                throw classify(error, pid: pid, comm: stat.comm, identity: identity, what: what)
            }
        }

        let status = try guarded("status") { () throws(HostError) in
            try root.parse("\(base)/status") { ProcStatus.parse($0, keeping: Self.statusFields) }
        }
        let (cpus, mems, resident): (IDSet?, IDSet?, Int?)
        do {
            cpus = try status.cpusAllowed
            mems = try status.memsAllowed
            resident = try status.kilobytes("VmRSS")
        } catch {
            throw .host(.malformed(path: root.absolute("\(base)/status"), error))
        }
        let cmdline = commandLine ? try guarded("cmdline") { () throws(HostError) in try root.readText("\(base)/cmdline") } : ""
        let cgroups = try guarded("cgroup") { () throws(HostError) in try root.parse("\(base)/cgroup", CgroupEntry.parse) }
        // exe is unreadable for other users' processes without privilege and absent for
        // kernel threads; neither is a failure of the read as a whole.
        let exe = try? root.readLink("\(base)/exe")
        let threads = readThreads ? try guarded("task") { () throws(HostError) in try self.readThreads(base) } : []

        var memory: MemoryTally?
        var seconds: Double?
        if readMemory && numaEnabled {
            let start = SystemClock.monotonic()
            memory = try tally(of: identity, comm: stat.comm)
            if root.isLive { seconds = max(0, SystemClock.monotonic() - start) }
        }
        var snapshot = ProcessSnapshot(
            identity: identity,
            comm: stat.comm,
            exe: exe,
            cmdline: cmdline.split(separator: "\0").map(String.init),
            uid: status.uids.first,
            cgroups: cgroups,
            cpusAllowed: cpus ?? IDSet(),
            memsAllowed: mems ?? IDSet(),
            threads: threads,
            memory: memory,
            residentBytes: resident,
            isKernelThread: stat.isKernelThread
        )
        snapshot.numaMapsSeconds = seconds
        return snapshot
    }

    /// Every mapping of a process, with file paths: for callers that need more than the per-node sums.
    public func mappings(of identity: ProcessIdentity, comm: String) throws(ProcessReadError) -> [Mapping] {
        var list = MappingList()
        try scanNumaMaps(pid: identity.pid, comm: comm, identity: identity, keeps: true) { (scanner, chunk) throws(ParseError) in
            if let chunk { try scanner.scan(chunk, into: &list) } else { try scanner.finish(into: &list) }
        }
        return list.mappings
    }

    private struct MappingList: NumaMapsVisitor {
        var mappings: [Mapping] = []
        mutating func visit(_ mapping: Mapping, shape: Int) { mappings.append(mapping) }
    }

    /// numa_maps summed per node and backing: one read, holding the target's mmap lock while
    /// the kernel walks its page tables.
    public func tally(of identity: ProcessIdentity, comm: String) throws(ProcessReadError) -> MemoryTally {
        // A mapping of a shape seen among the last few lines is counted, not classified again.
        // (`scan(_:into:)` for a tally is the scanner's own compiled loop, not a generic call.)
        var builder = MemoryTallyBuilder()
        try scanNumaMaps(pid: identity.pid, comm: comm, identity: identity, keeps: false) { (scanner, chunk) throws(ParseError) in
            if let chunk { try scanner.scan(chunk, into: &builder) } else { try scanner.finish(into: &builder) }
        }
        return builder.settled()
    }

    /// Streams numa_maps through a scanner (keeping file paths, addresses and recent mappings
    /// when `keeps`): `feed` scans each chunk, then is called once with nil to finish. An
    /// exiting process (zombie, or mm already torn down) yields an empty or vanished file; only
    /// a process that is still the same one makes the figures valid.
    func scanNumaMaps(
        pid: Int, comm: String, identity: ProcessIdentity, keeps: Bool,
        _ feed: (inout NumaMapsScanner, UnsafeBufferPointer<UInt8>?) throws(ParseError) -> Void
    ) throws(ProcessReadError) {
        let path = "proc/\(pid)/numa_maps"
        var scanner = NumaMapsScanner(keepsFilePaths: keeps, keepsAddresses: keeps, keepsRecentMappings: keeps)
        let outcome: Result<Void, ParseError>
        do {
            outcome = try root.streamContents(path) { chunk throws(ParseError) in try feed(&scanner, chunk) }
        } catch {
            throw classify(error, pid: pid, comm: comm, identity: identity, what: "numa_maps")
        }
        do {
            try outcome.get()
            try feed(&scanner, nil)
        } catch {
            throw .host(.malformed(path: root.absolute(path), error))
        }
        if !stillSame(identity) || (scanner.mappingsVisited == 0 && isZombie("proc/\(pid)")) {
            throw .vanished(pid: pid, comm: comm, during: "numa_maps")
        }
    }

    /// A read that failed because the process is gone is "vanished", not an error.
    public func classify(_ error: HostError, pid: Int, comm: String, identity: ProcessIdentity, what: String) -> ProcessReadError {
        if error.isMissing || !stillSame(identity) {
            return .vanished(pid: pid, comm: comm, during: what)
        }
        if error.isPermission {
            return .permissionDenied(pid: pid, comm: comm, path: root.absolute("proc/\(pid)/\(what)"),
                                     remedy: permissionRemedy(pid: pid))
        }
        return .host(error)
    }

    /// Threads come and go while we list them; one that exits between the listing and
    /// its stat read is simply not reported.
    public func readThreads(_ base: String) throws(HostError) -> [ThreadPlacement] {
        var threads: [ThreadPlacement] = []
        for name in try root.list("\(base)/task") {
            guard let tid = Lex.decimal(name) else { continue }
            do {
                threads.append(try readThread(tid: tid, "\(base)/task/\(tid)"))
            } catch {
                if error.isMissing { continue }
                throw error
            }
        }
        return threads.sorted { $0.tid < $1.tid }
    }

    func readThread(tid: Int, _ taskBase: String) throws(HostError) -> ThreadPlacement {
        let stat = try root.parse("\(taskBase)/stat", TaskStatParser.parse)
        let allowed = try root.parseIfPresent("\(taskBase)/status") { text throws(ParseError) in
            try ProcStatus.parse(text, keeping: ["Cpus_allowed_list"]).cpusAllowed
        }
        return ThreadPlacement(tid: tid, comm: stat.comm, lastCPU: stat.processor, cpusAllowed: allowed ?? nil)
    }

    /// True while /proc/PID still belongs to the process that started at `identity.startTime`.
    public func stillSame(_ identity: ProcessIdentity) -> Bool {
        guard let stat = try? root.parse("proc/\(identity.pid)/stat", TaskStatParser.parse) else { return false }
        return stat.startTime == identity.startTime
    }

    func isZombie(_ base: String) -> Bool {
        guard let stat = try? root.parse("\(base)/stat", TaskStatParser.parse) else { return true }
        return stat.hasExited
    }

    /// numa_maps is guarded by PTRACE_MODE_READ: the reader must own the target (and the
    /// target be dumpable) or hold CAP_SYS_PTRACE. Say which, and whether we hold it.
    public func permissionRemedy(pid: Int) -> String {
        let owner = (try? root.parse("proc/\(pid)/status") { ProcStatus.parse($0, keeping: ["Uid"]) })?.uids.first
        let ownerText = owner.map { $0 == 0 ? "root" : "uid \($0) or root" } ?? "its owner or root"
        let held = root.isLive && Capabilities.current().holds(.sysPtrace)
        // Root with the capability refused all the same: not numaguard's privilege to fix.
        let beyond = held && getuid() == 0 ? "; refused all the same: a security module (Yama, SELinux, AppArmor) or the process's user namespace denies it" : ""
        return "the kernel requires ptrace read access (PTRACE_MODE_READ): run numaguard as \(ownerText), "
            + "or grant it CAP_SYS_PTRACE (currently \(held ? "held" : "not held"), running as uid \(getuid()))\(beyond)"
    }
}
