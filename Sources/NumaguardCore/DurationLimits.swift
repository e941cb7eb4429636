/// The floor and ceiling of a duration setting, in seconds. A duration outside them is a
/// mistake, not a wish: `interval: 0.0000001ms` would make `watch` spin on the host it is
/// meant to protect, and `1e300s`-sized values overflow the timers that wait for them.
public struct DurationRange: Sendable, Equatable {
    public let minimum: Double
    public let maximum: Double

    public init(minimum: Double, maximum: Double) {
        self.minimum = minimum
        self.maximum = maximum
    }

    /// `seconds` if within the range, else why not, naming the spelling it came from.
    public func check(_ seconds: Double, spelled text: String) -> Result<Double, Invalid> {
        guard seconds >= minimum else {
            return .failure(Invalid("\"\(text)\" is below the minimum of \(DurationRange.spell(minimum))"))
        }
        guard seconds <= maximum else {
            return .failure(Invalid("\"\(text)\" is above the maximum of \(DurationRange.spell(maximum))"))
        }
        return .success(seconds)
    }

    /// The floor as a user writes it (`10ms`), for help texts.
    public var minimumSpelling: String { DurationRange.spell(minimum) }

    /// 0.01 -> "10ms", 3600 -> "1h": the limits in the units a user writes.
    static func spell(_ seconds: Double) -> String {
        for (suffix, factor) in [("h", 3600.0), ("m", 60.0), ("s", 1.0)] where seconds >= factor && (seconds / factor).rounded() == seconds / factor {
            return "\(Int(seconds / factor))\(suffix)"
        }
        return "\(Int((seconds * 1000).rounded()))ms"
    }
}

/// The documented bounds of every duration numaguard accepts, in one place so the policy
/// loader, the command line (`watch --interval`) and the watch service (which raises any
/// shorter interval to the floor, whoever asked for it) cannot disagree.
public enum DurationLimits {
    /// `watch.interval` and `watch --interval`: 10ms to 1h. Below 10ms the sampler's own reads
    /// become the load; above 1h a rate says nothing about a shock.
    public static let watchInterval = DurationRange(minimum: 0.01, maximum: 3600)
    /// `watch.isolation_period`: 1s to 24h. Each scan reads every thread's stat and status.
    public static let isolationPeriod = DurationRange(minimum: 1, maximum: 86_400)
    /// `watch.numa_maps_period`: 1s to 24h (each rediscovery reads every process's files).
    public static let numaMapsPeriod = DurationRange(minimum: 1, maximum: 86_400)
    /// `watch.numa_maps_period` with `watch.numa_maps: true`: 60s to 24h. Each numa_maps read
    /// stalls the target's mmap/munmap/page faults for the whole page-table walk (4 ms
    /// measured for 32k mappings); once a minute bounds that to one stall a minute, and the
    /// per-node figures a protected workload needs every sample come from its cgroup instead.
    public static let numaMapsReadPeriod = DurationRange(minimum: 60, maximum: 86_400)
    /// `watch.regimes.dwell`: 10ms to 24h.
    public static let dwell = DurationRange(minimum: 0.01, maximum: 86_400)
}

extension Quantity {
    /// A duration (`500ms`, `1s`) within `range`.
    public static func seconds(_ text: String, within range: DurationRange) -> Result<Double, Invalid> {
        seconds(text).flatMap { range.check($0, spelled: text) }
    }
}
