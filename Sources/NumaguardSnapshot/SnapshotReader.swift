import NumaguardCore
import NumaguardHost

/// Reads a snapshot through one `HostRoot`, so the live host, a recorded fixture and an
/// extracted capture give the same snapshot of the same host.
public enum SnapshotReader {
    /// vm sysctls that decide which node an allocation lands on or how it falls back:
    /// zone reclaim and its thresholds, the zonelist order (older kernels), the watermark
    /// gap that triggers fallback, and NUMA statistics (without which numastat and
    /// numaguard's window checks read zeros). vm.min_free_kbytes is left out: the kernel
    /// sizes it from memory, so it moves with every memory change already reported.
    static let vmSysctls = ["min_slab_ratio", "min_unmapped_ratio", "numa_stat", "numa_zonelist_order", "watermark_scale_factor", "zone_reclaim_mode"]

    /// The topology and kernel files are required (their absence is a broken host, as for
    /// `numaguard topology`); everything else is optional: absent is a fact, unreadable is
    /// recorded in `unreadable`.
    public static func read(_ root: HostRoot, toolVersion: String, takenAt: String) throws(HostError) -> Snapshot {
        try read(root, facts: try HostFacts.read(root), names: HostNames.read(root), toolVersion: toolVersion, takenAt: takenAt)
    }

    /// The snapshot around facts already read (the audit's, so `audit --baseline` reads the
    /// kernel and topology once).
    public static func read(_ root: HostRoot, facts: HostFacts, names: HostNames, toolVersion: String,
                            takenAt: String) throws(HostError) -> Snapshot {
        var reads = OptionalReads(root: root, gaps: CaptureGaps.read(root))
        // A manifest that could not be read or decoded: the capture's gaps are unknown.
        if let manifest = reads.gaps.gap(Capture.manifestName) { reads.record("capture.manifest", manifest) }
        let kernel = readKernel(facts.kernel, &reads)
        let devices = DeviceReader.read(&reads)
        let cpusets = CpusetReader.read(&reads)
        let actors = readActors(&reads)
        return Snapshot(
            toolVersion: toolVersion, takenAt: takenAt,
            host: SnapshotHost(hostname: names.hostname, machineID: names.machineID, bootID: names.bootID),
            kernel: kernel, topology: SnapshotTopology(facts.topology), devices: devices, cpusets: cpusets, actors: actors,
            unreadable: reads.unreadable)
    }

    static func readKernel(_ state: KernelState, _ reads: inout OptionalReads) -> SnapshotKernel {
        var sysctls: [String: String] = [:]
        if let value = state.numaBalancing { sysctls["kernel.numa_balancing"] = "\(value)" }
        if let value = state.zoneReclaimMode { sysctls["vm.zone_reclaim_mode"] = "\(value)" }
        // Every kernel.numa_balancing_* sysctl this kernel has (promote_rate_limit_MBps on
        // 6.1+, the scan periods before 5.13 moved them to debugfs).
        for name in reads.list("proc/sys/kernel", id: "kernel") where name.hasPrefix("numa_balancing_") {
            sysctls["kernel.\(name)"] = reads.text("proc/sys/kernel/\(name)", id: "kernel.\(name)")
        }
        for name in vmSysctls where sysctls["vm.\(name)"] == nil {
            sysctls["vm.\(name)"] = reads.text("proc/sys/vm/\(name)", id: "vm.\(name)")
        }
        let debug = "sys/kernel/debug/sched/numa_balancing"
        var numaBalancingDebug: [String: String] = [:]
        for name in reads.list(debug, id: "debugfs.numa_balancing") {
            numaBalancingDebug[name] = reads.text("\(debug)/\(name)", id: "debugfs.numa_balancing.\(name)")
        }
        let thp = "sys/kernel/mm/transparent_hugepage"
        var transparentHugepage: [String: String] = [:]
        transparentHugepage["enabled"] = state.transparentHugepage
        transparentHugepage["defrag"] = state.transparentHugepageDefrag
        transparentHugepage["shmem_enabled"] = reads.parsed("\(thp)/shmem_enabled", id: "thp.shmem_enabled", BracketChoiceParser.parse)
        transparentHugepage["khugepaged/defrag"] = reads.text("\(thp)/khugepaged/defrag", id: "thp.khugepaged.defrag")
        let weights = "sys/kernel/mm/mempolicy/weighted_interleave"
        var weightedInterleave: [String: Int] = [:]
        for name in reads.list(weights, id: "weighted_interleave") where name.hasPrefix("node") {
            let node = String(name.dropFirst(4))
            weightedInterleave[node] = reads.parsed("\(weights)/\(name)", id: "weighted_interleave.node.\(node)") { text throws(ParseError) in
                try Lex.number(text, what: "weighted interleave weight")
            }
        }
        return SnapshotKernel(
            release: state.release, cmdline: state.commandLine, sysctls: sysctls, numaBalancingDebug: numaBalancingDebug,
            transparentHugepage: transparentHugepage,
            demotionEnabled: reads.text("sys/kernel/mm/numa/demotion_enabled", id: "mm.numa.demotion_enabled"),
            weightedInterleave: weightedInterleave)
    }

    /// Which placement daemons have a process: by comm, as `forbid_processes` matches them.
    static func readActors(_ reads: inout OptionalReads) -> SnapshotActors {
        var running: Set<String> = []
        let pids = (try? ProcessReader(root: reads.root).pids()) ?? []
        for pid in pids {
            // A process that exits while we look is simply not running.
            guard let comm = try? reads.root.readSmallText("proc/\(pid)/comm") else { continue }
            let name = String(Lex.trimmed(comm))
            if SnapshotActors.watched.contains(name) { running.insert(name) }
        }
        // tuned writes the profile it applied here; it means nothing once tuned has stopped.
        let profile = running.contains("tuned") ? reads.text("etc/tuned/active_profile", id: "actor.tuned.profile") : nil
        return SnapshotActors(running: running.sorted(), tunedProfile: profile)
    }
}

/// Reads whose absence is a fact (this kernel has no such knob, this host no such device)
/// and whose failure is recorded under the fact id it would have filled, never fatal.
struct OptionalReads {
    let root: HostRoot
    /// What the capture unpacked at `root` could not read on its host (none when live).
    var gaps = CaptureGaps()
    var unreadable: [SnapshotUnreadable] = []

    /// An absent file the capture could not read was unreadable on the host: it is recorded
    /// as the host's snapshot records it, at its path there.
    mutating func record(_ id: String, _ error: HostError, _ relative: String) {
        if error.isMissing, let gap = gaps.gap(relative) { return record(id, gap) }
        record(id, error)
    }

    mutating func record(_ id: String, _ error: HostError) {
        if !error.isMissing { unreadable.append(SnapshotUnreadable(id: id, path: error.path, error: error.reason)) }
    }

    mutating func record(_ id: String, _ gap: CaptureGaps.Gap) {
        unreadable.append(SnapshotUnreadable(id: id, path: gaps.hostPath(gap), error: gap.error))
    }

    /// Trimmed contents; nil when absent or unreadable (and then recorded).
    mutating func text(_ relative: String, id: String) -> String? {
        do {
            return String(Lex.trimmed(try root.readText(relative)))
        } catch {
            record(id, error, relative)
            return nil
        }
    }

    mutating func parsed<T>(_ relative: String, id: String, _ parser: (String) throws(ParseError) -> T) -> T? {
        do {
            return try root.parse(relative, parser)
        } catch {
            record(id, error, relative)
            return nil
        }
    }

    /// Sorted names; empty when the directory is absent or unreadable (and then recorded).
    /// In a capture, the names of files it could not read are listed too, as on the host.
    mutating func list(_ relative: String, id: String) -> [String] {
        let missed = gaps.names(in: relative)
        do {
            let names = try root.list(relative)
            guard !missed.isEmpty else { return names.sorted() }
            // By bytes: two names only canonically equal are two files.
            let present = Set(names.map(PathKey.init))
            return (names + missed.filter { !present.contains(PathKey($0)) }).sorted()
        } catch {
            // A directory the copy lacks but whose files the capture could not read was there.
            if error.isMissing, !missed.isEmpty { return missed.sorted() }
            record(id, error, relative)
            return []
        }
    }
}

extension HostError {
    /// The file, under its root.
    var path: String {
        switch self {
        case let .unreadable(path, _), let .malformed(path, _), let .refused(path, _): path
        }
    }

    /// Why, without the path.
    var reason: String {
        switch self {
        case let .unreadable(_, errno): errno.description
        case let .malformed(_, error): error.description
        case let .refused(_, reason): reason
        }
    }
}
