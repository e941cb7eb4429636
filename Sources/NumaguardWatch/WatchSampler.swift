import NumaguardCore
import NumaguardHost

/// One look at the host's counters and the numa_balancing knob, through `HostRoot`.
/// Unreadable files are returned as words, not thrown: watch reports them and goes on.
struct WatchSampler {
    let root: HostRoot
    let nodes: [Int]

    struct Sample {
        var counters: CounterReading?
        /// nil when the kernel has no such sysctl (PREEMPT_RT) or it could not be read.
        var numaBalancing: Int?
        var unreadable: [String] = []
    }

    static let vmstatCounters = ["numa_hint_faults", "numa_hint_faults_local", "numa_pages_migrated", "pgmigrate_success", "pgmigrate_fail"]

    func sample() -> Sample {
        var sample = Sample()
        do {
            sample.counters = try CounterReading.read(root, nodes: nodes)
        } catch {
            sample.unreadable.append(error.description)
        }
        do throws(HostError) {
            if let text = try root.readTextIfPresent("proc/sys/kernel/numa_balancing") {
                guard let value = Lex.decimal(Lex.trimmed(text)) else {
                    throw HostError.malformed(path: root.absolute("proc/sys/kernel/numa_balancing"), ParseError(what: "kernel.numa_balancing", input: Lex.trimmed(text), reason: "not a number"))
                }
                sample.numaBalancing = value
            }
        } catch {
            sample.unreadable.append(error.description)
        }
        return sample
    }

    /// Which of the vmstat counters watch uses this kernel has.
    static func available(_ reading: CounterReading?) -> [(String, Bool)] {
        guard let reading else { return vmstatCounters.map { ($0, false) } }
        let present = [reading.hintFaults, reading.hintFaultsLocal, reading.balancingMigrated, reading.migrated, reading.migrationFailures]
        return zip(vmstatCounters, present).map { ($0, $1 != nil) }
    }
}
