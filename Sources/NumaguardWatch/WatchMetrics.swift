import NumaguardHost
import NumaguardOutput

/// What /metrics and the textfile show: the latest figures and running totals. Fixed size
/// whatever the run's length (counts by regime and event kind, the last rates only).
public struct WatchStatus: Sendable {
    public var regime: Regime = .stable
    /// Wall-clock seconds when the current regime was entered.
    public var regimeSince: Double = 0
    public var transitions: [Regime: Int] = [:]
    public var events: [WatchEvent.Kind: Int] = [:]
    public var samples = 0
    public var lastSample: Double = 0
    public var rates: WatchRates?
    /// The kernel's cumulative counters as last read (exported as `_total` counters, so a
    /// burst between two scrapes is not lost in a per-interval gauge).
    public var counters: CounterReading?
    /// numa_hint_faults, numa_hint_faults_local, numa_pages_migrated, pgmigrate_success,
    /// pgmigrate_fail: whether this kernel has them.
    public var available: [(String, Bool)] = []
    /// kernel.numa_balancing; nil when the kernel has no such sysctl.
    public var numaBalancing: Int?
    public var protected: [(String, Int)] = []
    /// Per-node memory of protected workloads from their dedicated cgroups' memory.numa_stat.
    public var protectedMemory: [ProtectedMemory] = []
    public var thresholds = RegimeThresholds()
    public var policyDigest = ""
    public var kernelRelease = ""
    /// Interrupts and foreign threads on isolated and reserved CPUs; nil when the policy has
    /// neither (IsolationWatch).
    var isolation: IsolationMetrics?

    public init() {}
}

/// One protected workload's memory per node, summed over the dedicated cgroups that account
/// for it (memory.numa_stat, read every sample at no cost to the processes).
public struct ProtectedMemory: Equatable, Sendable {
    public var workload: String
    /// Dedicated cgroups summed, and the tracked processes inside them.
    public var cgroups = 0
    public var processes = 0
    /// Bytes by node.
    public var anon: [Int: Int] = [:]
    public var file: [Int: Int] = [:]

    public init(workload: String) { self.workload = workload }
}

/// The watch as Prometheus text exposition: `numaguard_watch_` prefix, base units (seconds,
/// ratios 0..1), `_total` counters, labels bounded by the policy and the topology (regime,
/// event kind, node, workload, counter name): never a PID.
public enum WatchMetrics {
    public static func render(_ status: WatchStatus) -> String {
        var text = PrometheusText()
        func value(_ number: Double) -> String { PrometheusText.format(WatchEventNumber.rounded(number)) }
        text.family("numaguard_watch_regime", .gauge, "1 for the regime the host is in (stable, watch, shock, safe), else 0.",
                    Regime.allCases.map { ([("regime", $0.rawValue)], $0 == status.regime ? "1" : "0") })
        text.family("numaguard_watch_regime_since_timestamp_seconds", .gauge, "When the current regime was entered, in seconds since the Unix epoch.",
                    [([], value(status.regimeSince))])
        text.family("numaguard_watch_regime_transitions_total", .counter, "Regime transitions since watch started, by the regime entered.",
                    Regime.allCases.map { ([("to", $0.rawValue)], String(status.transitions[$0] ?? 0)) })
        text.family("numaguard_watch_events_total", .counter, "Events reported since watch started, by kind.",
                    WatchEvent.Kind.allCases.map { ([("event", $0.rawValue)], String(status.events[$0] ?? 0)) })
        text.family("numaguard_watch_samples_total", .counter, "Samples taken since watch started.", [([], String(status.samples))])
        text.family("numaguard_watch_last_sample_timestamp_seconds", .gauge, "When the last sample was taken, in seconds since the Unix epoch.",
                    [([], value(status.lastSample))])
        let rates = status.rates
        func gauge(_ name: String, _ help: String, _ figure: Double?) {
            guard let figure else { return }
            text.family(name, .gauge, help + " Absent while unavailable.", [([], value(figure))])
        }
        gauge("numaguard_watch_hint_faults_per_second", "NUMA hint faults per second over the last interval (numa_hint_faults).",
              rates?.hintFaultsPerSecond)
        gauge("numaguard_watch_hint_faults_remote_ratio", "Share (0..1) of the last interval's hint faults that were remote (1 - numa_hint_faults_local/numa_hint_faults).",
              rates?.remoteFaultRatio)
        gauge("numaguard_watch_pages_migrated_per_second",
              "Pages migrated per second over the last interval (pgmigrate_success: NUMA balancing, migrate_pages, cpusets, but also compaction, tiering and CMA).",
              rates?.pagesMigratedPerSecond)
        gauge("numaguard_watch_balancing_pages_migrated_per_second",
              "Pages NUMA balancing migrated per second over the last interval (numa_pages_migrated; what SHOCK is judged on).",
              rates?.balancingMigratedPerSecond)
        gauge("numaguard_watch_migration_failures_per_second", "Failed page migrations per second over the last interval (pgmigrate_fail).",
              rates?.migrationFailuresPerSecond)
        if let rates, !rates.missPerSecond.isEmpty {
            text.family("numaguard_watch_numa_miss_per_second", .gauge, "numa_miss growth per second by node: allocations meant for another node that landed here.",
                        rates.missPerSecond.sorted { $0.key < $1.key }.map { ([("node", String($0.key))], value($0.value)) })
        }
        if let rates, !rates.foreignPerSecond.isEmpty {
            text.family("numaguard_watch_numa_foreign_per_second", .gauge, "numa_foreign growth per second by node: allocations meant for this node that landed elsewhere.",
                        rates.foreignPerSecond.sorted { $0.key < $1.key }.map { ([("node", String($0.key))], value($0.value)) })
        }
        renderCounters(status.counters, into: &text)
        text.family("numaguard_watch_vmstat_available", .gauge, "1 if this kernel has the /proc/vmstat field, else 0 (PREEMPT_RT has no hint-fault fields).",
                    status.available.map { ([("field", $0.0)], $0.1 ? "1" : "0") })
        if let balancing = status.numaBalancing {
            text.family("numaguard_watch_numa_balancing", .gauge, "kernel.numa_balancing as last read (a bitmask: 0 off, 1 normal, 2 tiering).",
                        [([], String(balancing))])
        }
        if !status.protected.isEmpty {
            text.family("numaguard_watch_protected_processes", .gauge, "Processes of each protected workload being watched.",
                        status.protected.map { ([("workload", $0.0)], String($0.1)) })
            // Every protected workload gets a line: 0 says its memory is not measured here
            // (no dedicated cgroup), which an alert can tell from "no memory off its nodes".
            text.family("numaguard_watch_protected_memory_cgroup_processes", .gauge,
                        "Processes of each protected workload whose per-node memory comes from a dedicated cgroup's memory.numa_stat (0: not measured from a cgroup).",
                        status.protected.map { workload in
                            ([("workload", workload.0)], String(status.protectedMemory.first { $0.workload == workload.0 }?.processes ?? 0))
                        })
        }
        if !status.protectedMemory.isEmpty {
            var lines: [([(String, String)], String)] = []
            for memory in status.protectedMemory {
                for (type, nodes) in [("anon", memory.anon), ("file", memory.file)] {
                    for node in nodes.keys.sorted() {
                        lines.append(([("workload", memory.workload), ("node", String(node)), ("type", type)], String(nodes[node] ?? 0)))
                    }
                }
            }
            text.family("numaguard_watch_protected_memory_bytes", .gauge,
                        "Memory of each protected workload per node and type (anon, file: page cache) from its dedicated cgroups' memory.numa_stat, as of the last sample.",
                        lines)
        }
        if let isolation = status.isolation { renderIsolation(isolation, into: &text) }
        let t = status.thresholds
        text.family("numaguard_watch_threshold", .gauge, "The entry thresholds in force, by figure.", [
            ([("figure", "hint_faults_per_s")], value(t.hintFaultsPerSecond)),
            ([("figure", "migration_failures_per_s")], value(t.migrationFailuresPerSecond)),
            ([("figure", "pages_migrated_per_s")], value(t.pagesMigratedPerSecond)),
            ([("figure", "remote_fault_ratio")], value(t.remoteFaultRatio)),
        ])
        text.family("numaguard_watch_dwell_seconds", .gauge, "Minimum time in a regime before a lower one is entered.", [([], value(t.dwellSeconds))])
        text.family("numaguard_watch_info", .gauge, "The policy and kernel being watched; always 1.",
                    [([("kernel_release", status.kernelRelease), ("policy_digest", status.policyDigest)], "1")])
        return text.output
    }
}

extension WatchMetrics {
    /// The kernel's own cumulative counters (since boot, as /proc/vmstat and numastat hold
    /// them), absent when this kernel has no such counter or they could not be read.
    static func renderCounters(_ reading: CounterReading?, into text: inout PrometheusText) {
        guard let reading else { return }
        func counter(_ name: String, _ help: String, _ value: UInt64?) {
            guard let value else { return }
            text.family(name, .counter, help + " Since boot, as the kernel counts.", [([], String(value))])
        }
        counter("numaguard_watch_hint_faults_total", "NUMA hint faults (numa_hint_faults).", reading.hintFaults)
        counter("numaguard_watch_hint_faults_local_total", "NUMA hint faults on the faulting CPU's node (numa_hint_faults_local).", reading.hintFaultsLocal)
        counter("numaguard_watch_balancing_pages_migrated_total", "Pages NUMA balancing migrated (numa_pages_migrated).", reading.balancingMigrated)
        counter("numaguard_watch_pages_migrated_total",
                "Pages migrated for any reason (pgmigrate_success, else numa_pages_migrated; includes compaction, tiering and CMA).", reading.migrated)
        counter("numaguard_watch_migration_failures_total", "Failed page migrations (pgmigrate_fail).", reading.migrationFailures)
        if !reading.miss.isEmpty {
            text.family("numaguard_watch_numa_miss_total", .counter,
                        "numa_miss by node: allocations meant for another node that landed here. Since boot, as the kernel counts.",
                        reading.miss.sorted { $0.key < $1.key }.map { ([("node", String($0.key))], String($0.value)) })
        }
        if !reading.foreign.isEmpty {
            text.family("numaguard_watch_numa_foreign_total", .counter,
                        "numa_foreign by node: allocations meant for this node that landed elsewhere. Since boot, as the kernel counts.",
                        reading.foreign.sorted { $0.key < $1.key }.map { ([("node", String($0.key))], String($0.value)) })
        }
    }
}

extension WatchMetrics {
    static func renderIsolation(_ metrics: IsolationMetrics, into text: inout PrometheusText) {
        var interrupts: [([(String, String)], String)] = []
        for cpus in metrics.interrupts.keys.sorted() {
            let sources = metrics.interrupts[cpus] ?? [:]
            for source in sources.keys.sorted() {
                interrupts.append(([("cpus", cpus), ("source", source)], String(sources[source] ?? 0)))
            }
        }
        text.family("numaguard_watch_reserved_interrupts_total", .counter,
                    "Interrupts on reserved or isolated CPUs since watch started, by CPU set and source: a declared device's name, "
                        + "undeclared (a device interrupt of no devices: entry), or the /proc/interrupts row (LOC, RES, CAL, TLB, ...; other past 32).",
                    interrupts)
        var threads: [([(String, String)], String)] = []
        for cpus in metrics.foreignThreads.keys.sorted() {
            for kind in ["allowed", "last_cpu"] {
                threads.append(([("cpus", cpus), ("kind", kind)], String(metrics.foreignThreads[cpus]?[kind] ?? 0)))
            }
        }
        if !threads.isEmpty {
            text.family("numaguard_watch_foreign_threads", .gauge,
                        "Threads outside a CPU reservation's workloads allowed on its CPUs (allowed) or last run there while no longer allowed (last_cpu), at the last isolation scan.",
                        threads)
        }
        if !metrics.devicesOffPolicy.isEmpty {
            text.family("numaguard_watch_device_irqs_off_policy", .gauge,
                        "Vectors of each declared device whose effective affinity is outside its irqs: CPUs, at the last isolation scan.",
                        metrics.devicesOffPolicy.keys.sorted().map { ([("device", $0)], String(metrics.devicesOffPolicy[$0] ?? 0)) })
        }
        text.family("numaguard_watch_isolation_scans_total", .counter,
                    "Scans of every thread and the declared devices' vectors (every watch.isolation_period) since watch started.",
                    [([], String(metrics.scans))])
    }
}

enum WatchEventNumber {
    /// Three decimals are plenty for rates, and keep the exposition short and stable.
    static func rounded(_ value: Double) -> Double { value.isFinite ? (value * 1000).rounded() / 1000 : 0 }
}
