import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// The reads behind `host.isolation`, `host.irqbalance` and CPU reservations, made only when
/// the policy has one of them: the isolation files and irqbalance's own environment for the
/// first two; every IRQ's affinity and every thread's stat and status for a CPU reservation.
/// Nothing here reads numa_maps or a protected process's command line or environment.
extension HostStateReader {
    static func readIsolation(_ processes: [CandidateProcess], _ policy: Policy, root: HostRoot, into state: inout HostState) {
        let reservations = policy.cpuReservations
        guard policy.host.isolation != nil || policy.host.irqbalance != nil || !reservations.isEmpty else { return }
        let guardians = Set(policy.workloads.filter(\.protected).map(\.name))
        let protected = Set(state.claimants.filter { $0.value.contains(where: guardians.contains) }.keys)
        do {
            let isolation = try IsolationReader.read(
                root, isolated: state.topology.isolatedCPUs, nohzFull: state.topology.nohzFullCPUs, commandLine: state.kernel.commandLine,
                processes: policy.host.irqbalance == nil ? [] : processes.map { ($0.pid, $0.comm) }, skip: protected)
            if let problem = isolation.workqueueProblem {
                state.problems.unreadable(problem, check: .isolation(.workqueue), subject: "workqueue cpumask", actual: problem,
                                          remediation: "run numaguard as root; see the error")
            }
            for problem in isolation.irqbalanceProblems {
                state.problems.unreadable(problem, check: .irqbalance(.bannedCPUs), subject: "irqbalance", actual: problem,
                                          remediation: "run numaguard as root (irqbalance's environment needs root or CAP_SYS_PTRACE)")
            }
            state.isolation = isolation
        } catch {
            state.problems.unreadable(error.description, check: .isolation(.isolated), subject: "isolation", actual: error.description,
                                      remediation: "see the error")
        }
        guard let first = reservations.first else { return }
        // Unreadable threads or IRQs may sit on any reserved CPU: reported once, under the first.
        let read = CheckID.cpuReservation(cpus: first.cpus, .read)
        do {
            let scan = try IRQScanReader.read(root)
            for failure in scan.failures {
                state.problems.unreadable("IRQ \(failure.irq): \(failure.reason)", check: read, subject: "IRQ \(failure.irq)",
                                          actual: failure.reason, remediation: "run numaguard as root; see the error")
            }
            if scan.beyondLimit > 0 {
                let text = "proc/irq lists \(scan.beyondLimit) IRQs beyond the \(IRQScanReader.maximumIRQs) numaguard reads"
                state.problems.unreadable(text, check: read, subject: "proc/irq", actual: text, remediation: "none: no real host has that many")
            }
            state.irqScan = scan
        } catch {
            state.problems.unreadable(error.description, check: read, subject: "proc/irq", actual: error.description, remediation: "see the error")
        }
        do {
            let threads = try ThreadPlacementReader.read(root, pids: processes.map(\.pid))
            for line in threads.unreadable {
                state.problems.unreadable(line, check: read, subject: String(line.prefix { $0 != ":" }), actual: line,
                                          remediation: "run numaguard as root; see the error")
            }
            state.threads = threads
        } catch {
            state.problems.unreadable(error.description, check: read, subject: "threads", actual: error.description, remediation: "see the error")
        }
    }
}
