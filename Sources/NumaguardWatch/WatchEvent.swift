import NumaguardCore
import NumaguardOutput

/// One thing `watch` reports: a JSON object per line for machines (stdout or --events),
/// a short line for people (stderr). Events are written as they happen and never kept,
/// so a month-long run holds no history.
public struct WatchEvent: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// watch started (or a reload took effect): regime, thresholds, what is available.
        case start
        /// The regime changed.
        case regime
        /// kernel.numa_balancing changed (another tool flipped it).
        case knob
        /// A protected process's allowed CPUs or nodes changed, or a thread ran on a new node.
        case placement
        /// A protected process's anonymous memory off its nodes grew.
        case pagesMoved = "pages_moved"
        /// A protected process appeared or exited.
        case process
        /// Something could not be read; the watch goes on.
        case unreadable
        /// A counter went backwards; that window's rate is unavailable.
        case counterReset = "counter_reset"
        /// SIGHUP: the policy was reloaded, or refused and the old one kept.
        case reload
        /// An output failed: the textfile could not be written, /metrics could not accept, or
        /// (counted and on stderr only) the events could not be written.
        case output
        /// SIGTERM, SIGINT or --count: a clean stop.
        case stop
        /// A device interrupt not declared there started firing on a reserved or isolated CPU
        /// (IsolationWatch). Never a regime change.
        case interrupt
        /// A thread outside a CPU reservation's workloads is allowed on, or last ran on, its
        /// CPUs (IsolationWatch). Never a regime change.
        case foreignThread = "foreign_thread"
    }

    public var kind: Kind
    /// Wall-clock seconds since the Unix epoch.
    public var time: Double
    /// The regime after the event.
    public var regime: Regime
    public var message: String
    /// Extra string fields (from, to, workload, pid, ...), in order.
    public var fields: [(String, String)]
    /// Figures (rates, thresholds); nil is written as null: unavailable.
    public var figures: [(String, Double?)]

    public init(kind: Kind, time: Double, regime: Regime, message: String,
                fields: [(String, String)] = [], figures: [(String, Double?)] = []) {
        self.kind = kind
        self.time = time
        self.regime = regime
        self.message = message
        self.fields = fields
        self.figures = figures
    }

    public static func == (lhs: WatchEvent, rhs: WatchEvent) -> Bool {
        lhs.jsonLine == rhs.jsonLine
    }

    /// `{"format_version":1,"kind":"watch_event","event":"regime",...}` and a newline.
    public var jsonLine: String {
        var members = JSONText.header(.watchEvent)
        members += [("event", Self.quoted(kind.rawValue)), ("time", Self.quoted(Self.timestamp(time))),
                    ("regime", Self.quoted(regime.rawValue)), ("message", Self.quoted(message))]
        members += fields.map { ($0.0, Self.quoted($0.1)) }
        if !figures.isEmpty {
            members.append(("figures", JSONText.compact(figures.map { ($0.0, $0.1.map(Self.number) ?? "null") })))
        }
        return JSONText.compact(members) + "\n"
    }

    /// `numaguard watch: 2026-11-21T04:30:01Z regime: STABLE -> WATCH: hint faults 1520/s >= 1000/s`
    public var humanLine: String {
        "numaguard watch: \(Self.timestamp(time)) \(kind.rawValue): \(message)\n"
    }

    /// At most 3 decimals; integers without a fraction (valid JSON and Prometheus numbers).
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 1000).rounded() / 1000
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return "\(rounded)"
    }

    /// RFC 3339 UTC with milliseconds.
    public static func timestamp(_ seconds: Double) -> String { UTCTime.text(seconds, milliseconds: true) }

    static func quoted(_ text: String) -> String { JSONText.quoted(text) }
}
