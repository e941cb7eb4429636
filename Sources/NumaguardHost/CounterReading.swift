import NumaguardCore

/// NUMA counters at one moment: per node numa_miss / numa_foreign (node*/numastat) and the
/// host's page migrations and NUMA hint faults (/proc/vmstat). Two readings a window apart
/// show activity a single audit cannot: allocations spilling off a node, pages being moved.
/// A counter the kernel does not have is nil (the PREEMPT_RT kernel has no NUMA balancing,
/// so no hint-fault lines), never 0.
public struct CounterReading: Equatable, Sendable {
    public var miss: [Int: UInt64]
    public var foreign: [Int: UInt64]
    /// pgmigrate_success (every successful page migration: NUMA balancing, migrate_pages,
    /// cpuset moves), or numa_pages_migrated on kernels without it; nil when neither exists.
    public var migrated: UInt64?
    /// numa_hint_faults: NUMA balancing's sampling faults.
    public var hintFaults: UInt64?
    /// numa_hint_faults_local: those that found the page on the faulting CPU's node.
    public var hintFaultsLocal: UInt64?
    /// numa_pages_migrated: pages NUMA balancing moved.
    public var balancingMigrated: UInt64?
    /// pgmigrate_fail: migrations attempted and failed (pinned, busy or no room on the target).
    public var migrationFailures: UInt64?

    public init(miss: [Int: UInt64], foreign: [Int: UInt64], migrated: UInt64?, hintFaults: UInt64? = nil,
                hintFaultsLocal: UInt64? = nil, balancingMigrated: UInt64? = nil, migrationFailures: UInt64? = nil) {
        self.miss = miss
        self.foreign = foreign
        self.migrated = migrated
        self.hintFaults = hintFaults
        self.hintFaultsLocal = hintFaultsLocal
        self.balancingMigrated = balancingMigrated
        self.migrationFailures = migrationFailures
    }

    /// The /proc/vmstat fields a reading keeps.
    static let vmstatFields = ["pgmigrate_success", "numa_pages_migrated", "numa_hint_faults", "numa_hint_faults_local", "pgmigrate_fail"]

    public static func read(_ root: HostRoot, nodes: [Int]) throws(HostError) -> CounterReading {
        var reading = CounterReading(miss: [:], foreign: [:], migrated: nil)
        for node in nodes {
            let counters = try root.parse("sys/devices/system/node/node\(node)/numastat") { text throws(ParseError) in
                try CounterFileParser.parse(text, keeping: ["numa_miss", "numa_foreign"])
            }
            reading.miss[node] = counters["numa_miss"]
            reading.foreign[node] = counters["numa_foreign"]
        }
        // vmstat outgrows readSmallText's one read (about 5 KiB with 170 lines): read it whole.
        let vmstat = try root.parsed(root.readText("proc/vmstat"), "proc/vmstat") { text throws(ParseError) in
            try CounterFileParser.parse(text, keeping: Self.vmstatFields)
        }
        reading.migrated = vmstat["pgmigrate_success"] ?? vmstat["numa_pages_migrated"]
        reading.hintFaults = vmstat["numa_hint_faults"]
        reading.hintFaultsLocal = vmstat["numa_hint_faults_local"]
        reading.balancingMigrated = vmstat["numa_pages_migrated"]
        reading.migrationFailures = vmstat["pgmigrate_fail"]
        return reading
    }
}
