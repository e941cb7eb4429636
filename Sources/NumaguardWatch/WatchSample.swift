#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardOutput

/// One line of `watch --series`: every figure of one sample, for tools that read a day back
/// (`numaguard attribute`). Pure: built by the watch from what it computed anyway, and
/// rendered here, so its layout is tested without a host.
///
/// ```
/// {"format_version":1,"kind":"watch_sample","time":"2026-12-02T15:50:01.123456Z","interval_s":1.000213,
///  "regime":"stable","figures":{...},"workloads":{"engine":{"processes":1,"placement":"ok"}}}
/// ```
/// The sample covers (time - interval_s, time]; `regime` is the regime after it; an
/// unavailable figure is null, never 0.
public struct WatchSample: Equatable, Sendable {
    /// What a sample says about a protected workload's placement, judged by the watch's own
    /// notes for that workload in this sample (most telling first).
    public enum Placement: String, Sendable, CaseIterable {
        /// A `placement` or `pages_moved` event for it in this sample (what enters SAFE).
        case changed
        /// Something about one of its processes could not be read this sample.
        case unknown
        /// No process of it is being watched.
        case absent
        /// Watched, nothing changed.
        case ok
    }

    public struct Workload: Equatable, Sendable {
        public var name: String
        public var processes: Int
        public var placement: Placement
        /// From its dedicated cgroups' memory.numa_stat at this sample; nil when none measures it.
        public var memory: ProtectedMemory?

        public init(name: String, processes: Int, placement: Placement, memory: ProtectedMemory? = nil) {
            self.name = name
            self.processes = processes
            self.placement = placement
            self.memory = memory
        }
    }

    /// Wall-clock seconds since the Unix epoch when the sample began (just before the counters
    /// were read): the end of its window.
    public var time: Double
    /// The window the figures cover, in seconds (monotonic clock).
    public var interval: Double
    public var regime: Regime
    /// `WatchRates.figures` names, in that order; nil is unavailable.
    public var figures: [(String, Double?)]
    public var workloads: [Workload]

    public init(time: Double, interval: Double, regime: Regime, figures: [(String, Double?)], workloads: [Workload]) {
        self.time = time
        self.interval = interval
        self.regime = regime
        self.figures = figures
        self.workloads = workloads
    }

    public static func == (lhs: WatchSample, rhs: WatchSample) -> Bool { lhs.jsonLine == rhs.jsonLine }

    /// The figures of a sample: the five host rates, then numa_miss and numa_foreign per
    /// node for every node sampled, each null when unavailable (nil `rates`: the counters
    /// could not be read; a node absent from them: its counter went backwards).
    public static func figures(_ rates: WatchRates?, nodes: [Int]) -> [(String, Double?)] {
        var figures: [(String, Double?)] = [
            ("hint_faults_per_s", rates?.hintFaultsPerSecond),
            ("remote_fault_ratio", rates?.remoteFaultRatio),
            ("pages_migrated_per_s", rates?.pagesMigratedPerSecond),
            ("balancing_migrated_per_s", rates?.balancingMigratedPerSecond),
            ("migration_failures_per_s", rates?.migrationFailuresPerSecond),
        ]
        let sorted = nodes.sorted()
        for node in sorted { figures.append(("node\(node)_numa_miss_per_s", rates?.missPerSecond[node])) }
        for node in sorted { figures.append(("node\(node)_numa_foreign_per_s", rates?.foreignPerSecond[node])) }
        return figures
    }

    /// The placement state of `workload` from this sample's notes and its tracked processes.
    public static func placement(of workload: String, processes: Int, notes: [ProtectedNote]) -> Placement {
        let own = notes.filter { $0.workload == workload }
        if own.contains(where: \.isChange) { return .changed }
        if own.contains(where: { $0.kind == .unreadable }) { return .unknown }
        return processes == 0 ? .absent : .ok
    }

    /// One JSON object and a newline.
    public var jsonLine: String {
        var members = JSONText.header(.watchSample)
        members += [("time", JSONText.quoted(Self.timestamp(time))), ("interval_s", Self.number((interval * 1e6).rounded() / 1e6)),
                    ("regime", JSONText.quoted(regime.rawValue)),
                    ("figures", JSONText.compact(figures.map { ($0.0, $0.1.map(Self.number) ?? "null") }))]
        members.append(("workloads", JSONText.compact(workloads.map { ($0.name, Self.render($0)) })))
        return JSONText.compact(members) + "\n"
    }

    static func render(_ workload: Workload) -> String {
        var members = [("processes", String(workload.processes)), ("placement", JSONText.quoted(workload.placement.rawValue))]
        if let memory = workload.memory {
            func bytes(_ byNode: [Int: Int]) -> String {
                JSONText.compact(byNode.sorted { $0.key < $1.key }.map { ("node\($0.key)", String($0.value)) })
            }
            members.append(("memory", JSONText.compact([("cgroup_processes", String(memory.processes)),
                                                         ("anon_bytes", bytes(memory.anon)), ("file_bytes", bytes(memory.file))])))
        }
        return JSONText.compact(members)
    }

    /// RFC 3339 UTC with exactly six fraction digits (to the nearest microsecond: a Double of
    /// today's epoch seconds resolves about a quarter of one).
    public static func timestamp(_ seconds: Double) -> String {
        // Clamped so the microseconds fit an Int64 whatever the clock says (year 33,000 and on).
        let seconds = seconds.isFinite ? min(max(seconds, -1e12), 1e12) : 0
        let micros = Int64((seconds * 1e6).rounded())
        let whole = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = String(micros - whole * 1_000_000)
        let text = UTCTime.text(Double(whole))
        return text.dropLast() + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
    }

    /// Integers without a fraction (as in events); anything else with nine significant
    /// digits (events' three decimals would turn a small ratio or rate into 0); beyond 1e15
    /// or below 1e-7, Swift's shortest exact spelling (a JSON number all the same).
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let magnitude = Int(log10(abs(value)).rounded(.down))
        let decimals = 8 - magnitude
        // Nine digits or more before the point: the integer (which keeps at least nine).
        if decimals <= 0, abs(value) < 1e15 { return String(Int64(value.rounded())) }
        guard decimals > 0, decimals <= 15 else { return "\(value)" }
        let scale = pow(10, Double(decimals))
        let rounded = (value * scale).rounded() / scale
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return "\(rounded)"
    }
}
