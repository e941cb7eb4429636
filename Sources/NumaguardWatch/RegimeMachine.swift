import NumaguardPolicy

/// How the host is doing, from calm to "numaguard cannot vouch for it". Ordered: a higher
/// regime wins when several are called for.
public enum Regime: String, Sendable, CaseIterable, Comparable {
    /// NUMA balancing idle or nearly so.
    case stable
    /// Hint faults at or above the watch threshold: balancing is scanning hard.
    case watch
    /// NUMA balancing moving pages at or above the shock threshold, or most hint faults remote.
    case shock
    /// Conservative: the sampling itself is unreliable, migrations are failing, or a
    /// protected workload's placement changed. Nothing should be changed on this host.
    case safe

    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: Regime, rhs: Regime) -> Bool { lhs.rank < rhs.rank }
    public var name: String { rawValue.uppercased() }
}

/// The thresholds the machine judges with: the policy's `watch:` section with every absent
/// value at its documented default.
public struct RegimeThresholds: Equatable, Sendable {
    public var intervalSeconds: Double = 1
    public var hintFaultsPerSecond: Double = 1000
    public var pagesMigratedPerSecond: Double = 5000
    public var remoteFaultRatio: Double = 0.3
    public var migrationFailuresPerSecond: Double = 100
    public var dwellSeconds: Double = 30
    public var exitShare: Double = 0.5
    public var numaMapsPeriodSeconds: Double = 60

    public init() {}

    public init(_ settings: WatchSettings?) {
        guard let settings else { return }
        intervalSeconds = settings.intervalSeconds
        if let value = settings.hintFaultsPerSecond { hintFaultsPerSecond = value }
        if let value = settings.pagesMigratedPerSecond { pagesMigratedPerSecond = value }
        if let value = settings.remoteFaultRatio { remoteFaultRatio = value }
        if let value = settings.migrationFailuresPerSecond { migrationFailuresPerSecond = value }
        if let value = settings.dwellSeconds { dwellSeconds = value }
        if let value = settings.exitShare { exitShare = value }
        if let value = settings.numaMapsPeriodSeconds { numaMapsPeriodSeconds = value }
    }
}

/// One sample as the machine sees it.
public struct RegimeInput: Sendable {
    /// Monotonic seconds.
    public var time: Double
    /// nil when the counters could not be read this time.
    public var rates: WatchRates?
    /// What could not be read (counters, knobs, protected processes' files).
    public var unreadable: [String]
    /// Protected workloads' placement changes and page moves seen in this sample.
    public var protectedChanges: [String]

    public init(time: Double, rates: WatchRates?, unreadable: [String] = [], protectedChanges: [String] = []) {
        self.time = time
        self.rates = rates
        self.unreadable = unreadable
        self.protectedChanges = protectedChanges
    }
}

public struct RegimeTransition: Equatable, Sendable {
    public var from: Regime
    public var to: Regime
    public var time: Double
    /// Why, in words with the figures and thresholds that decided it.
    public var reasons: [String]
}

/// The regime state machine. Pure: time comes in with each sample.
///
/// - Entering a higher regime is immediate: an alert must not wait.
/// - Hysteresis: a regime the host is in holds while its figures stay at or above
///   `exitShare` of its thresholds, so a figure hovering at a threshold does not flap.
/// - Dwell: a lower regime is entered only after the host has been in the current one for
///   `dwell` and every sample for `dwell` called for something lower; it then drops to the
///   highest regime those calm samples called for (SHOCK may settle to WATCH or STABLE).
public struct RegimeMachine: Sendable {
    public private(set) var regime: Regime = .stable
    public private(set) var enteredAt: Double
    public var thresholds: RegimeThresholds
    private var calmSince: Double?
    private var calmLevel: Regime = .stable
    private var calmReasons: [String] = []

    public init(thresholds: RegimeThresholds, start: Double) {
        self.thresholds = thresholds
        enteredAt = start
    }

    /// The regime one sample calls for, judged with exit thresholds for the regimes at or
    /// below the current one and entry thresholds above it; with the reasons.
    public func called(for input: RegimeInput) -> (Regime, [String]) {
        let t = thresholds
        func scale(_ level: Regime) -> Double { level <= regime ? t.exitShare : 1 }
        func at(_ value: Double?, _ threshold: Double, _ level: Regime) -> Bool {
            guard let value else { return false }
            return value >= threshold * scale(level)
        }
        func figure(_ value: Double) -> String { WatchEvent.number(value) }
        func limit(_ threshold: Double, _ level: Regime, _ unit: String) -> String {
            let value = figure(threshold * scale(level)) + unit
            return scale(level) < 1 ? "\(value) (\(level.name) exit)" : value
        }

        var safe: [String] = []
        if input.rates == nil { safe.append("counters unreadable: \(input.unreadable.joined(separator: "; "))") }
        safe += input.protectedChanges
        if let failures = input.rates?.migrationFailuresPerSecond, at(failures, t.migrationFailuresPerSecond, .safe) {
            safe.append("migration failures \(figure(failures))/s >= \(limit(t.migrationFailuresPerSecond, .safe, "/s"))")
        }
        if !safe.isEmpty { return (.safe, safe) }
        guard let rates = input.rates else { return (.stable, []) }

        var shock: [String] = []
        // numa_pages_migrated, not pgmigrate_success: the latter also counts compaction (THP),
        // memory tiering and CMA, which move pages within or off a node for reasons of their
        // own; SHOCK is about balancing churning pages between nodes.
        if let migrated = rates.balancingMigratedPerSecond, at(migrated, t.pagesMigratedPerSecond, .shock) {
            shock.append("NUMA balancing migrated \(figure(migrated)) pages/s >= \(limit(t.pagesMigratedPerSecond, .shock, "/s"))")
        }
        // The remote share means something only with enough faults behind it.
        if let ratio = rates.remoteFaultRatio, at(ratio, t.remoteFaultRatio, .shock),
           at(rates.hintFaultsPerSecond, t.hintFaultsPerSecond, .watch), let faults = rates.hintFaultsPerSecond {
            shock.append("remote hint faults \(figure(ratio * 100))% >= \(limit(t.remoteFaultRatio * 100, .shock, "%")) "
                         + "of \(figure(faults))/s")
        }
        if !shock.isEmpty { return (.shock, shock) }
        if let faults = rates.hintFaultsPerSecond, at(faults, t.hintFaultsPerSecond, .watch) {
            return (.watch, ["hint faults \(figure(faults))/s >= \(limit(t.hintFaultsPerSecond, .watch, "/s"))"])
        }
        return (.stable, [Self.calmWords(rates, t)])
    }

    static func calmWords(_ rates: WatchRates, _ t: RegimeThresholds) -> String {
        let faults = rates.hintFaultsPerSecond.map { "hint faults \(WatchEvent.number($0))/s" } ?? "hint faults unavailable"
        let migrated = rates.balancingMigratedPerSecond.map { "balancing migrated \(WatchEvent.number($0)) pages/s" } ?? "balancing migrations unavailable"
        return "\(faults), \(migrated)"
    }

    /// Feeds one sample; returns the transition it causes, if any.
    public mutating func step(_ input: RegimeInput) -> RegimeTransition? {
        let (level, reasons) = called(for: input)
        if level > regime {
            return move(to: level, at: input.time, reasons)
        }
        if level == regime {
            calmSince = nil
            return nil
        }
        if calmSince == nil {
            calmSince = input.time
            calmLevel = level
            calmReasons = reasons
        } else if level >= calmLevel {
            calmLevel = level
            calmReasons = reasons
        }
        guard let since = calmSince, input.time - since >= thresholds.dwellSeconds,
              input.time - enteredAt >= thresholds.dwellSeconds else { return nil }
        let calm = WatchEvent.number(input.time - since)
        return move(to: calmLevel, at: input.time, ["below \(regime.name) for \(calm)s (dwell \(WatchEvent.number(thresholds.dwellSeconds))s)"] + calmReasons)
    }

    private mutating func move(to level: Regime, at time: Double, _ reasons: [String]) -> RegimeTransition {
        let transition = RegimeTransition(from: regime, to: level, time: time, reasons: reasons)
        regime = level
        enteredAt = time
        calmSince = nil
        calmLevel = .stable
        calmReasons = []
        return transition
    }
}
