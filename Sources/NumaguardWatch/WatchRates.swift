import NumaguardHost

/// What happened between two counter readings, per second. Pure: the regime tests feed
/// recorded series through exactly this.
///
/// A figure is nil when it cannot be known: the kernel has no such counter (hint faults on
/// PREEMPT_RT), the counter went backwards (a reset: reported in `resets`, never turned
/// into a huge or negative rate), or, for the remote share, no hint fault happened at all.
public struct WatchRates: Equatable, Sendable {
    public var seconds: Double
    /// numa_hint_faults per second.
    public var hintFaultsPerSecond: Double?
    /// 1 - Δnuma_hint_faults_local / Δnuma_hint_faults over the window.
    public var remoteFaultRatio: Double?
    /// Every successful page migration per second (pgmigrate_success, else numa_pages_migrated):
    /// NUMA balancing, migrate_pages/move_pages/mbind, cpuset moves, but also compaction (THP),
    /// memory tiering demotion and CMA. Reported, not judged: SHOCK uses the balancing figure.
    public var pagesMigratedPerSecond: Double?
    /// numa_pages_migrated per second: the part NUMA balancing did; what SHOCK is judged on.
    public var balancingMigratedPerSecond: Double?
    /// pgmigrate_fail per second.
    public var migrationFailuresPerSecond: Double?
    /// numa_miss growth per second, by node.
    public var missPerSecond: [Int: Double]
    /// numa_foreign growth per second, by node.
    public var foreignPerSecond: [Int: Double]
    /// Counters that went backwards in this window.
    public var resets: [String]

    public init(seconds: Double, hintFaultsPerSecond: Double? = nil, remoteFaultRatio: Double? = nil,
                pagesMigratedPerSecond: Double? = nil, balancingMigratedPerSecond: Double? = nil,
                migrationFailuresPerSecond: Double? = nil, missPerSecond: [Int: Double] = [:],
                foreignPerSecond: [Int: Double] = [:], resets: [String] = []) {
        self.seconds = seconds
        self.hintFaultsPerSecond = hintFaultsPerSecond
        self.remoteFaultRatio = remoteFaultRatio
        self.pagesMigratedPerSecond = pagesMigratedPerSecond
        self.balancingMigratedPerSecond = balancingMigratedPerSecond
        self.migrationFailuresPerSecond = migrationFailuresPerSecond
        self.missPerSecond = missPerSecond
        self.foreignPerSecond = foreignPerSecond
        self.resets = resets
    }

    /// Rates over `seconds` (> 0) from `before` to `after`.
    public static func between(_ before: CounterReading, _ after: CounterReading, seconds: Double) -> WatchRates {
        var rates = WatchRates(seconds: seconds)
        guard seconds > 0 else { return rates }
        func delta(_ name: String, _ old: UInt64?, _ new: UInt64?) -> UInt64? {
            guard let old, let new else { return nil }
            guard new >= old else {
                rates.resets.append(name)
                return nil
            }
            return new - old
        }
        func perSecond(_ value: UInt64?) -> Double? { value.map { Double($0) / seconds } }
        let faults = delta("numa_hint_faults", before.hintFaults, after.hintFaults)
        let local = delta("numa_hint_faults_local", before.hintFaultsLocal, after.hintFaultsLocal)
        rates.hintFaultsPerSecond = perSecond(faults)
        if let faults, let local, faults > 0 {
            rates.remoteFaultRatio = max(0, 1 - Double(min(local, faults)) / Double(faults))
        }
        rates.pagesMigratedPerSecond = perSecond(delta("pgmigrate_success", before.migrated, after.migrated))
        rates.balancingMigratedPerSecond = perSecond(delta("numa_pages_migrated", before.balancingMigrated, after.balancingMigrated))
        rates.migrationFailuresPerSecond = perSecond(delta("pgmigrate_fail", before.migrationFailures, after.migrationFailures))
        for node in after.miss.keys.sorted() {
            if let value = perSecond(delta("node\(node).numa_miss", before.miss[node], after.miss[node])) {
                rates.missPerSecond[node] = value
            }
        }
        for node in after.foreign.keys.sorted() {
            if let value = perSecond(delta("node\(node).numa_foreign", before.foreign[node], after.foreign[node])) {
                rates.foreignPerSecond[node] = value
            }
        }
        return rates
    }

    /// The figures an event carries, by the names the README documents (nil: unavailable).
    public var figures: [(String, Double?)] {
        var figures: [(String, Double?)] = [
            ("hint_faults_per_s", hintFaultsPerSecond),
            ("remote_fault_ratio", remoteFaultRatio),
            ("pages_migrated_per_s", pagesMigratedPerSecond),
            ("balancing_migrated_per_s", balancingMigratedPerSecond),
            ("migration_failures_per_s", migrationFailuresPerSecond),
        ]
        for (node, value) in missPerSecond.sorted(by: { $0.key < $1.key }) { figures.append(("node\(node)_numa_miss_per_s", value)) }
        for (node, value) in foreignPerSecond.sorted(by: { $0.key < $1.key }) { figures.append(("node\(node)_numa_foreign_per_s", value)) }
        return figures
    }
}
