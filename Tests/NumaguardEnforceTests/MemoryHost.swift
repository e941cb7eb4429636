import NumaguardCore
import NumaguardEnforce
import NumaguardHost

/// A host held in memory for the apply loop's unit tests: knobs, processes with start
/// times, threads with affinities, pages per node. It behaves as the kernel does for what
/// the loop relies on (an affinity reads back as set, migrated pages leave their node,
/// pinned pages stay); the VM tests prove the same loop against the real kernel.
final class MemoryHost: Actuator {
    struct Process {
        var startTime: UInt64
        var threads: [Int: IDSet]
        var pages: [Int: Int]
        /// Bytes migrate_pages cannot move (pinned), per node.
        var pinned: [Int: Int] = [:]
    }

    var knobs: [String: String] = [:]
    /// What the kernel keeps when a number knob is written (huge pages it could allocate).
    var ceilings: [String: Int] = [:]
    var processes: [Int: Process] = [:]
    var files: [String: String] = [:]
    var calls: [String] = []
    /// identity(of:) fails with these (a read error that is not an exit).
    var identityErrors: [Int: ActuationError] = [:]
    /// Called with the call's description right before each change is made (a knob or file
    /// written, an affinity set, pages migrated): tests look at the journal from in here.
    var beforeChange: ((String) -> Void)?
    /// IRQs: the handler names (sys/kernel/irq/N/actions) and where the chip handles each.
    var irqActions: [Int: String] = [:]
    var effective: [Int: IDSet] = [:]
    /// A write of these IRQs' affinity fails with the errno (EIO on 6.1, EPERM on 6.12: managed).
    var unwritable: [Int: Errno] = [:]
    /// The chip moves these IRQs only at their next interrupt, which never comes here.
    var lagging: Set<Int> = []
    var boot: String? = "boot-1"
    /// The effective CPUs of each process's cpuset; `isolated`: /sys/devices/system/cpu/isolated.
    var cpusets: [Int: IDSet] = [:]
    var isolated = IDSet()
    var pauses = 0

    func read(_ knob: Knob) throws(ActuationError) -> String? {
        knob.kind == .irqAffinity ? knobs[knob.path].map(knob.value(of:)) : knobs[knob.path]
    }

    func write(_ knob: Knob, _ value: String) throws(ActuationError) {
        beforeChange?("write \(knob.name)=\(value)")
        calls.append("write \(knob.name)=\(value)")
        guard knobs[knob.path] != nil else { throw ActuationError("open(/\(knob.path)): No such file or directory", errno: .noEntry) }
        if knob.kind == .irqAffinity, let irq = Int(knob.name.split(separator: ".")[1]) {
            if let errno = unwritable[irq] { throw ActuationError("write(/\(knob.path)): \(errno)", errno: errno) }
            if !lagging.contains(irq), let first = Knob.cpuList(value).flatMap({ try? IDListParser.parse($0) })?.members.first {
                effective[irq] = IDSet([first])
            }
        }
        if let ceiling = ceilings[knob.path], let number = Int(value), number > ceiling {
            knobs[knob.path] = "\(ceiling)"
        } else {
            knobs[knob.path] = value
        }
    }

    func identity(of pid: Int) throws(ActuationError) -> ProcessIdentity? {
        if let error = identityErrors[pid] { throw error }
        return processes[pid].map { ProcessIdentity(pid: pid, startTime: $0.startTime) }
    }

    func threads(of pid: Int) throws(ActuationError) -> [Int] {
        guard let process = processes[pid] else { throw ActuationError("no PID \(pid)", errno: .noEntry) }
        return process.threads.keys.sorted()
    }

    func affinity(of tid: Int) throws(ActuationError) -> IDSet {
        for process in processes.values { if let cpus = process.threads[tid] { return cpus } }
        throw ActuationError("sched_getaffinity(thread \(tid)): No such process", errno: .noProcess)
    }

    func setAffinity(of tid: Int, to cpus: IDSet) throws(ActuationError) {
        beforeChange?("affinity \(tid)=\(cpus.listString)")
        calls.append("affinity \(tid)=\(cpus.listString)")
        // By key: holding a copy of the process while writing to it would copy its threads each time.
        for pid in processes.keys where processes[pid]?.threads[tid] != nil {
            processes[pid]?.threads[tid] = cpus
            return
        }
        throw ActuationError("sched_setaffinity(thread \(tid)): No such process", errno: .noProcess)
    }

    func anonymousBytes(of process: ProcessIdentity) throws(ActuationError) -> [Int: Int] {
        guard let found = processes[process.pid], found.startTime == process.startTime else {
            throw ActuationError("PID \(process.pid) was replaced")
        }
        return found.pages
    }

    func migratePages(of pid: Int, from: IDSet, to: IDSet, onlyUnshared: Bool) throws(ActuationError) -> Int {
        beforeChange?("migrate \(pid)")
        calls.append("migrate \(pid) \(from.listString)->\(to.listString)" + (onlyUnshared ? " unshared" : ""))
        guard var process = processes[pid], let destination = to.members.first else { throw ActuationError("no PID", errno: .noProcess) }
        var notMoved = 0
        for node in from {
            let pinned = process.pinned[node] ?? 0
            let movable = (process.pages[node] ?? 0) - pinned
            process.pages[node] = pinned
            process.pages[destination, default: 0] += movable
            notMoved += pinned / 4096
        }
        processes[pid] = process
        return notMoved
    }

    func readFile(_ path: String) throws(ActuationError) -> String? { files[path] }

    func replaceFile(_ path: String, with contents: String?) throws(ActuationError) {
        beforeChange?("file \(path)")
        calls.append("file \(path)")
        files[path] = contents
    }

    func irqActions(_ irq: Int) throws(ActuationError) -> String? { irqActions[irq] }
    func effectiveAffinity(irq: Int) throws(ActuationError) -> IDSet? { effective[irq] }
    func bootID() -> String? { boot }
    func pause(_ seconds: Double) { pauses += 1 }
    func cpusetCPUs(of pid: Int) throws(ActuationError) -> IDSet? { cpusets[pid] }
    func isolatedCPUs() throws(ActuationError) -> IDSet { isolated }
}
