#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The two clocks numaguard reads, in seconds: monotonic for intervals, deadlines and how long
/// a read took (it never jumps with NTP or an operator's `date`), wall for timestamps shown to
/// people. clock_gettime cannot fail for these clock ids, so there is no error to funnel.
public enum SystemClock {
    public static func monotonic() -> Double { read(CLOCK_MONOTONIC) }
    public static func wall() -> Double { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> Double {
        var now = timespec()
        clock_gettime(clock, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
