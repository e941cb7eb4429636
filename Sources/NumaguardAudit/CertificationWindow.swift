import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// certify's sampling window, in order: the NUMA counters read, the wait, the audit, the
/// counters read again; the window's own findings (WindowChecks) join the audit's, waived by
/// the policy's waivers like any other. The audit runs inside the window so the host is
/// judged while the counters are moving, not after they were read.
///
/// The wait and the counter reads are values, so a test drives the window without a clock:
/// its sleeper can change the recorded counters between the two readings.
public struct CertificationWindow {
    public typealias Sleeper = (Double) throws(SystemCallError) -> Void
    public typealias CounterReader = (HostRoot, [Int]) throws(HostError) -> CounterReading
    /// /proc/interrupts and (when `threads`) every thread's stat and status: read only for a
    /// policy that isolates or reserves CPUs (WindowIsolationChecks).
    public typealias IsolationReader = (HostRoot, _ threads: Bool) throws(HostError) -> IsolationCounters

    public var root: HostRoot
    public var seconds: Double
    /// The wait: SystemClock.sleep (nanosleep through the errno funnel, resumed after a signal).
    public var sleep: Sleeper
    public var read: CounterReader
    public var readIsolation: IsolationReader

    /// Why no certificate could be made. Every case is the host refusing what the window
    /// needs (exit 71 in the CLI's table); the description is the underlying error's.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// A counter reading (numastat, vmstat, /proc/interrupts, task status).
        case counters(HostError)
        case audit(Auditor.Failure)
        /// The wait itself (nanosleep refused it: not an interruption, which resumes).
        case sleep(SystemCallError)

        public var description: String {
            switch self {
            case let .counters(error): error.description
            case let .audit(error): error.description
            case let .sleep(error): error.description
            }
        }
    }

    public init(root: HostRoot, seconds: Double,
                sleep: @escaping Sleeper = { (seconds: Double) throws(SystemCallError) in try SystemClock.sleep(seconds) },
                read: @escaping CounterReader = { (root: HostRoot, nodes: [Int]) throws(HostError) in
                    try CounterReading.read(root, nodes: nodes)
                },
                readIsolation: @escaping IsolationReader = { (root: HostRoot, threads: Bool) throws(HostError) in
                    try IsolationCounters.read(root, threads: threads)
                }) {
        self.root = root
        self.seconds = seconds
        self.sleep = sleep
        self.read = read
        self.readIsolation = readIsolation
    }

    /// The audit (`audit`, run once, mid-window) with the window's findings added. The
    /// counters are read on the nodes the policy protects (WindowChecks.protectedNodes).
    /// Without the audit's host state no interrupt is known as a declared device's and no
    /// workload's context switches are judged: the CLI uses `certify(policy:today:auditing:)`.
    public func certify(policy: Policy, today: Day,
                        audit: () throws(Auditor.Failure) -> AuditReport) throws(Failure) -> AuditReport {
        try window(policy: policy, today: today) { () throws(Auditor.Failure) in (try audit(), nil) }
    }

    /// The same, judging the window with the host state the audit read (the devices' IRQs,
    /// the protected workloads' processes, the isolated CPUs).
    public func certify(policy: Policy, today: Day,
                        auditing: () throws(Auditor.Failure) -> Audit) throws(Failure) -> AuditReport {
        try window(policy: policy, today: today) { () throws(Auditor.Failure) in
            let audit = try auditing()
            return (audit.report, audit.state)
        }
    }

    private func window(policy: Policy, today: Day,
                        audit: () throws(Auditor.Failure) -> (AuditReport, HostState?)) throws(Failure) -> AuditReport {
        let nodes = WindowChecks.protectedNodes(policy)
        let isolation = WindowIsolationChecks.applies(policy)
        let threads = WindowIsolationChecks.needsThreads(policy)
        // The same counters at both ends of the window: numastat/vmstat, and /proc/interrupts
        // with the threads' switches when the policy isolates or reserves CPUs.
        func counters() throws(Failure) -> (CounterReading, IsolationCounters?) {
            do {
                return (try read(root, nodes), isolation ? try readIsolation(root, threads) : nil)
            } catch { throw .counters(error) }
        }
        let (before, isolatedBefore) = try counters()
        do { try sleep(seconds) } catch { throw .sleep(error) }
        var report: AuditReport
        let state: HostState?
        do { (report, state) = try audit() } catch { throw .audit(error) }
        let (after, isolatedAfter) = try counters()
        var window = WindowChecks.judge(before: before, after: after, nodes: nodes, seconds: seconds)
        if let isolatedBefore, let isolatedAfter {
            window += WindowIsolationChecks.judge(policy: policy, state: state, before: isolatedBefore, after: isolatedAfter, seconds: seconds)
        }
        report.findings += Waivers.apply(policy.waivers, to: window, today: today)
        return report
    }
}
