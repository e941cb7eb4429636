/// The shortest sampling interval `numaguard watch` takes, one constant for every place an
/// interval comes from (`--interval`, the policy's `watch.interval`), so the command line and
/// the policy loader refuse the same values with the same words.
///
/// Why a floor at all: one sample reads /proc/vmstat, every node's numastat and the knob,
/// and the loop polls signals and /metrics between samples. An interval far below that cost
/// (`1ms`, or `1e-16ms`, which is a positive decimal) asks for nothing but sampling, and the
/// rates of counters read a few microseconds apart are noise. 10 ms is well above one
/// sample's cost on a large host and well below any interval worth alerting on.
public enum WatchInterval {
    /// 10 ms.
    public static let minimumSeconds = 0.01
    /// `minimumSeconds` as the policy and `--interval` spell it.
    public static let minimumSpelling = "10ms"

    /// nil when `seconds` may be used; otherwise why not, naming the floor (the caller adds
    /// where the value came from: `--interval`, or file:line:col).
    public static func refusal(_ seconds: Double, spelled text: String) -> Invalid? {
        guard !(seconds >= minimumSeconds) else { return nil }
        return Invalid("\"\(text)\" is below the shortest interval watch samples at, \(minimumSpelling)")
    }
}
