import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// Something a protected process did, or that could not be read about it.
public struct ProtectedNote: Equatable, Sendable {
    public var kind: WatchEvent.Kind
    public var message: String
    public var workload: String
    public var pid: Int
    /// Figures for the event (the numa_maps cost note's read time and mapping count).
    public var figures: [String: Double] = [:]

    /// Placement changes and page moves are what SAFE is entered for; appearances,
    /// exits and unreadable files are reported only.
    public var isChange: Bool { kind == .placement || kind == .pagesMoved }

    /// How every note names a protected process.
    static func who(pid: Int, comm: String, workload: String) -> String { "PID \(pid) (\(comm)) of protected workload \(workload)" }
}

/// Keeps an eye on the protected workloads' processes without disturbing them.
///
/// Every interval, for each tracked process, only files whose reading takes no lock of the
/// process's memory: stat (still the same process?), status (allowed CPUs and memory
/// nodes), each thread's stat and status (the CPU it last ran on, its own allowed CPUs);
/// and the memory.numa_stat of each cgroup dedicated to a protected workload (per-node
/// memory, page moves: `ProtectedCgroups`).
///
/// numa_maps, which holds the target's mmap lock while the kernel walks its page tables
/// (a 4 ms stall measured for a process with 32k mappings), is never read unless the policy
/// opts in (`watch.numa_maps: true`), then only for processes no dedicated cgroup accounts
/// for, at most once per `numa_maps_period` and never more often than once a minute, and
/// never for a workload with `memory.scan: false`; the first read's cost is reported.
///
/// Finding the processes means reading every process's comm or command line (which takes
/// that process's mmap lock), so it happens once per period (and at start and on reload),
/// and never again for a process already tracked: a PID whose start time is unchanged is
/// skipped, so after its first identification no command line of a protected process is
/// read. A process that starts in between is found at the next discovery.
public final class ProtectedWatch {
    struct Tracked {
        var identity: ProcessIdentity
        var workload: String
        var comm: String
        var cpus: IDSet
        var mems: IDSet
        /// Nodes its threads have been seen running on.
        var threadNodes: IDSet
        /// Each live thread's allowed CPUs at the last look, so re-pinning one thread (even
        /// within a node) is seen. Rebuilt from the live threads every look: bounded by the
        /// process's thread count, never by the run's length.
        var threadCpus: [Int: IDSet] = [:]
        /// Where its memory belongs: the workload's memory nodes, else its CPU nodes, else
        /// the nodes holding its memory when first read.
        var home: IDSet?
        var scan: Bool
        var lastMapsRead: Double?
        var offHome: Int?
        /// The workload's match when identified: a reload that changes it re-matches the process.
        var match: ProcessMatch
        /// Whether the first numa_maps read's cost was reported.
        var costNoted = false
    }

    let root: HostRoot
    let topology: Topology
    let reader: ProcessReader
    private var tracked: [Int: Tracked] = [:]
    private var lastDiscovery: Double?
    let cgroups: ProtectedCgroups

    public init(root: HostRoot, topology: Topology) {
        self.root = root
        self.topology = topology
        reader = ProcessReader(root: root)
        cgroups = ProtectedCgroups(root: root)
    }

    public var count: Int { tracked.count }

    /// Per-thread masks kept, over every tracked process (the tests check it stays bounded).
    var threadMasksKept: Int { tracked.values.reduce(0) { $0 + $1.threadCpus.count } }

    /// Tracked processes per protected workload (for the metrics), including workloads with none.
    public func counts(_ workloads: [Workload]) -> [(String, Int)] {
        workloads.filter(\.protected).map { workload in (workload.name, tracked.values.filter { $0.workload == workload.name }.count) }
    }

    /// The workload of each tracked protected process, by PID (IsolationWatch: a protected
    /// process is told apart without a read of its command line).
    public var workloadsByPID: [Int: String] { tracked.mapValues(\.workload) }

    /// Per-node memory of the protected workloads a dedicated cgroup accounts for, as read
    /// at the last sample (for the metrics).
    public func memory() -> [ProtectedMemory] { cgroups.memory() }

    /// Forget the discovery time so the next `sample` looks for processes again (a reload).
    public func rediscover() { lastDiscovery = nil }

    /// One interval's look. `now` is monotonic seconds; `period` is `watch.numa_maps_period`
    /// (how often processes are looked for, and with `numaMaps` the least time between two
    /// numa_maps reads of one process, raised to a minute).
    public func sample(_ workloads: [Workload], now: Double, period: Double, numaMaps: Bool = false) -> [ProtectedNote] {
        let protected = workloads.filter(\.protected)
        var notes: [ProtectedNote] = []
        if protected.isEmpty {
            for pid in tracked.keys { cgroups.forget(pid) }
            tracked = [:]
            return notes
        }
        let mapsPeriod = max(period, DurationLimits.numaMapsReadPeriod.minimum)
        for pid in tracked.keys.sorted() {
            guard var process = tracked[pid] else { continue }
            // Identity before the reads: a PID reused by another process must not be read
            // as this one's placement change; and after them, for a reuse in between.
            guard reader.stillSame(process.identity) else {
                notes.append(exited(process))
                continue
            }
            var found = checkPlacement(&process)
            if numaMaps && !cgroups.covers(pid) { found += checkMaps(&process, now: now, period: mapsPeriod) }
            if reader.stillSame(process.identity) {
                tracked[pid] = process
                notes += found
            } else {
                notes.append(exited(process))
            }
        }
        // After the look above, so every process still tracked is known to be the same one.
        if lastDiscovery.map({ now - $0 >= period }) ?? true {
            lastDiscovery = now
            notes += discover(workloads, now: now, numaMaps: numaMaps, mapsPeriod: mapsPeriod)
        }
        return notes + cgroups.sample()
    }

    /// Forgets `process` and says it exited (its PID is gone or belongs to another process now).
    private func exited(_ process: Tracked) -> ProtectedNote {
        let pid = process.identity.pid
        tracked[pid] = nil
        cgroups.forget(pid)
        return note(process, .process, "exited", separator: " ")
    }

    func discover(_ workloads: [Workload], now: Double, numaMaps: Bool, mapsPeriod: Double) -> [ProtectedNote] {
        let protected = workloads.filter(\.protected)
        // A tracked process whose workload is gone, no longer protected or matched otherwise
        // (a reload) is dropped here and matched again below like any other process.
        for (pid, process) in tracked where !protected.contains(where: { $0.name == process.workload && $0.match == process.match }) {
            tracked[pid] = nil
            cgroups.forget(pid)
        }
        // Only the protected workloads are asked: claims gives a process to the first
        // workload that matches, and a non-protected one listed earlier must not hide it.
        // Tracked processes are skipped: each was seen to be the same process this sample,
        // and matching would read its command line (its mmap lock).
        let claims: WorkloadClaims.Claims
        do {
            claims = try WorkloadClaims(root: root).claims(protected) { self.tracked[$0] != nil }
        } catch {
            return [ProtectedNote(kind: .unreadable, message: "cannot list processes: \(error)", workload: "", pid: 0)]
        }
        // A process that may be protected but cannot be told (an exe rule without the privilege
        // to read its link) is said, not silently left unwatched.
        var notes: [ProtectedNote] = claims.undecided.map { pid, workload, reason in
            ProtectedNote(kind: .unreadable, message: "PID \(pid) may belong to protected workload \(workload.name) and is not watched: \(reason)",
                          workload: workload.name, pid: pid)
        }
        var fresh: [(Tracked, Workload)] = []
        for (pid, workload) in claims.claimed {
            guard let stat = try? root.parse("proc/\(pid)/stat", TaskStatParser.parse), stat.state != "Z" else { continue }
            var process = Tracked(
                identity: ProcessIdentity(pid: pid, startTime: stat.startTime), workload: workload.name, comm: stat.comm,
                cpus: IDSet(), mems: IDSet(), threadNodes: IDSet(), home: Self.home(of: workload, topology),
                scan: workload.memory?.scan ?? true, lastMapsRead: nil, offHome: nil, match: workload.match)
            // The first look sets the baseline; it reports only what it could not read.
            notes += checkPlacement(&process, baseline: true)
            tracked[pid] = process
            fresh.append((process, workload))
        }
        // Whose memory a dedicated cgroup accounts for (every tracked process: membership changes).
        let cgroupNotes = cgroups.assign(tracked.values.map {
            ProtectedCgroups.Member(pid: $0.identity.pid, comm: $0.comm, workload: $0.workload, home: $0.home, readsMaps: numaMaps && $0.scan)
        })
        for (initial, workload) in fresh {
            var process = initial
            let pid = process.identity.pid
            if numaMaps && !cgroups.covers(pid) { notes += checkMaps(&process, now: now, period: mapsPeriod, baseline: true) }
            tracked[pid] = process
            notes.append(ProtectedNote(
                kind: .process,
                message: "watching PID \(pid) (\(process.comm)) of protected workload \(workload.name): CPUs \(process.cpus), "
                    + "memory nodes \(process.mems), threads on node \(process.threadNodes)"
                    + (process.offHome.map { ", \(Bytes.text($0)) anonymous memory off node \(process.home ?? IDSet())" } ?? ""),
                workload: workload.name, pid: pid))
        }
        return notes + cgroupNotes
    }

    /// Threads whose own allowed CPUs changed since the last look (sched_setaffinity on one
    /// thread, even within a node). The main thread's mask is the process's, reported above.
    /// Threads that are new, or whose status is absent, set a baseline and say nothing.
    private func repinned(_ threads: [ThreadPlacement], _ process: inout Tracked, baseline: Bool,
                          _ note: (WatchEvent.Kind, String) -> ProtectedNote) -> [ProtectedNote] {
        var now: [Int: IDSet] = [:]
        now.reserveCapacity(threads.count)
        var changed: [String] = []
        for thread in threads {
            guard let allowed = thread.cpusAllowed else { continue }
            now[thread.tid] = allowed
            if !baseline, thread.tid != process.identity.pid, let before = process.threadCpus[thread.tid], before != allowed {
                changed.append("thread \(thread.tid) allowed CPUs changed from \(before) to \(allowed)")
            }
        }
        process.threadCpus = now
        guard !changed.isEmpty else { return [] }
        let shown = changed.prefix(8).joined(separator: ", ")
        return [note(.placement, changed.count > 8 ? "\(shown) and \(changed.count - 8) more" : shown)]
    }

    static func home(of workload: Workload, _ topology: Topology) -> IDSet? {
        // A device reference's node is not resolved here: no home rather than a wrong one.
        guard workload.deviceReferences.isEmpty else { return nil }
        if let nodes = workload.memory?.nodes, !nodes.isEmpty { return nodes }
        switch workload.cpus {
        case let .nodes(nodes)?: return nodes
        case let .cpulist(cpus)?: return topology.nodes(ofCPUs: cpus)
        case nil: return nil
        }
    }

    /// A note about `process`, its message prefixed with who it is.
    private func note(_ process: Tracked, _ kind: WatchEvent.Kind, _ message: String, separator: String = ": ") -> ProtectedNote {
        let pid = process.identity.pid
        let who = ProtectedNote.who(pid: pid, comm: process.comm, workload: process.workload)
        return ProtectedNote(kind: kind, message: who + separator + message, workload: process.workload, pid: pid)
    }

    /// Allowed CPUs and nodes, and where the threads ran, compared with the last look: stat
    /// and status files only, which take no lock of the process's memory.
    func checkPlacement(_ process: inout Tracked, baseline: Bool = false) -> [ProtectedNote] {
        let pid = process.identity.pid
        let snapshot = process
        func note(_ kind: WatchEvent.Kind, _ message: String) -> ProtectedNote { self.note(snapshot, kind, message) }
        var notes: [ProtectedNote] = []
        let base = "proc/\(pid)"
        do {
            let status = try root.parse("\(base)/status") { ProcStatus.parse($0, keeping: ["Cpus_allowed_list", "Mems_allowed_list"]) }
            // A status that cannot be parsed is unreadable, not "unchanged".
            let cpus: IDSet, mems: IDSet
            do throws(ParseError) {
                guard let allowed = try status.cpusAllowed, let nodes = try status.memsAllowed else {
                    notes.append(note(.unreadable, "\(root.absolute("\(base)/status")) has no Cpus_allowed_list or Mems_allowed_list"))
                    return notes
                }
                cpus = allowed
                mems = nodes
            } catch {
                notes.append(note(.unreadable, "\(root.absolute("\(base)/status")): \(error)"))
                return notes
            }
            if !baseline && cpus != process.cpus {
                notes.append(note(.placement, "allowed CPUs changed from \(process.cpus) to \(cpus)"))
            }
            if !baseline && mems != process.mems {
                notes.append(note(.placement, "allowed memory nodes changed from \(process.mems) to \(mems)"))
            }
            process.cpus = cpus
            process.mems = mems
            let threads = try reader.readThreads(base)
            let nodes = IDSet(threads.compactMap { topology.node(ofCPU: $0.lastCPU) })
            let fresh = nodes.subtracting(process.threadNodes)
            if !baseline && !fresh.isEmpty {
                let movers = threads.filter { topology.node(ofCPU: $0.lastCPU).map(fresh.contains) ?? false }
                notes.append(note(.placement, "thread\(movers.count == 1 ? "" : "s") "
                    + movers.prefix(8).map { "\($0.tid) on CPU \($0.lastCPU)" }.joined(separator: ", ")
                    + " ran on node \(fresh) for the first time (seen before: node \(process.threadNodes))"))
            }
            process.threadNodes = process.threadNodes.union(nodes)
            notes += repinned(threads, &process, baseline: baseline, note)
        } catch {
            if !error.isMissing { notes.append(note(.unreadable, "\(error)")) }
        }
        return notes
    }

    /// numa_maps, when due (opt-in only): it holds the process's mmap lock while the kernel
    /// walks its page tables, so the first read is timed and its cost reported once.
    func checkMaps(_ process: inout Tracked, now: Double, period: Double, baseline: Bool = false) -> [ProtectedNote] {
        guard process.scan, topology.numaEnabled, process.lastMapsRead.map({ now - $0 >= period }) ?? true else { return [] }
        process.lastMapsRead = now
        let snapshot = process
        func note(_ kind: WatchEvent.Kind, _ message: String) -> ProtectedNote { self.note(snapshot, kind, message) }
        var notes: [ProtectedNote] = []
        do {
            let started = SystemClock.monotonic()
            let tally = try reader.tally(of: process.identity, comm: process.comm)
            if !process.costNoted {
                process.costNoted = true
                let milliseconds = max(0, SystemClock.monotonic() - started) * 1000
                var cost = ProtectedNote(
                    kind: .process,
                    message: "reading numa_maps of PID \(process.identity.pid) holds its mmap lock while the kernel walks its page tables: "
                        + "about \(WatchEvent.number((milliseconds * 100).rounded() / 100)) ms for its \(tally.mappings) mapping\(tally.mappings == 1 ? "" : "s") "
                        + "at the first read (read again at most every \(WatchEvent.number(period))s)",
                    workload: process.workload, pid: process.identity.pid)
                cost.figures = ["numa_maps_read_ms": milliseconds, "mappings": Double(tally.mappings)]
                notes.append(cost)
            }
            if process.home == nil {
                process.home = IDSet(tally.nodes.filter { tally.bytes(.anonymous, on: $0) > 0 })
            }
            let home = process.home ?? IDSet()
            let off = tally.bytes(.anonymous, outside: home)
            if !baseline, let before = process.offHome, off > before {
                let spread = tally.nodes.filter { !home.contains($0) && tally.bytes(.anonymous, on: $0) > 0 }
                    .map { "node \($0) \(Bytes.text(tally.bytes(.anonymous, on: $0)))" }.joined(separator: ", ")
                notes.append(note(.pagesMoved, "anonymous memory off node \(home) grew from \(Bytes.text(before)) to \(Bytes.text(off)) (\(spread))"))
            }
            process.offHome = off
        } catch {
            switch error {
            case .vanished, .noSuchProcess, .zombie: break
            case .permissionDenied, .host: notes.append(note(.unreadable, error.description))
            }
        }
        return notes
    }
}
