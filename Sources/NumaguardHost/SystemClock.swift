#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// numaguard's one clock type. It reads two clocks, in seconds: monotonic for intervals,
/// deadlines and how long a read took (it never jumps with NTP or an operator's `date`), wall
/// for timestamps shown to people. clock_gettime cannot fail for these clock ids, so there is
/// no error to funnel.
/// And the one plain wait (certify's window), which can: nanosleep, through the funnel.
public enum SystemClock {
    public static func monotonic() -> Double { read(CLOCK_MONOTONIC) }
    public static func wall() -> Double { read(CLOCK_REALTIME) }
    /// Whole seconds of the wall clock (time(2)): what the timestamps and days of reports,
    /// snapshots and captures are made from.
    public static func epochSeconds() -> Int { Int(time(nil)) }

    private static func read(_ clock: clockid_t) -> Double {
        var now = timespec()
        clock_gettime(clock, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// The C call `sleep` makes: nanosleep(2), or a stand-in a test drives.
    public typealias Nanosleep = (UnsafePointer<timespec>, UnsafeMutablePointer<timespec>) -> Int32

    /// The longest wait `sleep` takes in one call: far beyond any window numaguard offers
    /// (certify's is at most an hour), and small enough that whole seconds fit every time_t.
    public static let longestSleep: Double = 86_400

    /// Waits `seconds` (nothing for zero, a negative or a non-finite value; at most
    /// `longestSleep`). nanosleep goes through the errno funnel: a signal that interrupts it
    /// (EINTR) resumes the wait with the time the kernel says was left, so a window is never
    /// cut short, nor restarted from the top (which a signal storm would make endless).
    public static func sleep(_ seconds: Double, call: Nanosleep = { nanosleep($0, $1) }) throws(SystemCallError) {
        guard seconds.isFinite, seconds > 0 else { return }
        let wait = min(seconds, longestSleep)
        let whole = wait.rounded(.down)
        var request = timespec(tv_sec: Int(whole), tv_nsec: Int((wait - whole) * 1e9))
        var remaining = timespec()
        try SystemCall.check("nanosleep", "\(wait.description)s") {
            let result = withUnsafePointer(to: request) { call($0, &remaining) }
            // Only read back when the call failed: after EINTR the funnel calls again, with what was left.
            if result == -1 { request = remaining }
            return result
        }
    }
}
