import NumaguardCore

/// NUMA counters at one moment: per node numa_miss / numa_foreign (node*/numastat) and the
/// host's page migrations (/proc/vmstat). Two readings a window apart show activity a
/// single audit cannot: allocations spilling off a node, pages being moved.
public struct CounterReading: Equatable, Sendable {
    public var miss: [Int: UInt64]
    public var foreign: [Int: UInt64]
    /// pgmigrate_success (every successful page migration: NUMA balancing, migrate_pages,
    /// cpuset moves), or numa_pages_migrated on kernels without it; nil when neither exists.
    public var migrated: UInt64?

    public init(miss: [Int: UInt64], foreign: [Int: UInt64], migrated: UInt64?) {
        self.miss = miss
        self.foreign = foreign
        self.migrated = migrated
    }

    public static func read(_ root: HostRoot, nodes: [Int]) throws(HostError) -> CounterReading {
        var reading = CounterReading(miss: [:], foreign: [:], migrated: nil)
        for node in nodes {
            let counters = try root.parse("sys/devices/system/node/node\(node)/numastat", CounterFileParser.parse)
            reading.miss[node] = counters["numa_miss"]
            reading.foreign[node] = counters["numa_foreign"]
        }
        let vmstat = try root.parse("proc/vmstat", CounterFileParser.parse)
        reading.migrated = vmstat["pgmigrate_success"] ?? vmstat["numa_pages_migrated"]
        return reading
    }
}
