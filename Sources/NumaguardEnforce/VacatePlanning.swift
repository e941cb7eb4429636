import NumaguardAudit
import NumaguardCore
import NumaguardHost

extension Planning {
    /// `cpus.LIST.reserve.threads`: one vacate_cpus per process with a user thread allowed on
    /// the reserved CPUs, from the thread scan the audit judged. Never a kernel thread, never a
    /// member of the reserving workloads, never numaguard itself; a protected process is refused
    /// (only a restart through numaguard run places it).
    mutating func addVacate(_ finding: Finding, cpus reserved: IDSet) {
        guard let reservation = policy.cpuReservations.first(where: { $0.cpus == reserved }), let scan = state.threads else {
            return leave(finding, finding.remediation)
        }
        var byProcess: [Int: [TaskPlacement]] = [:]
        for thread in scan.threads where !thread.kernel && !(thread.allowed ?? IDSet()).intersection(reserved).isEmpty {
            byProcess[thread.pid, default: []].append(thread)
        }
        for pid in byProcess.keys.sorted() where pid != options.selfPID {
            let names = state.claimants[pid] ?? state.owner[pid].map { [$0] } ?? []
            if names.contains(where: reservation.workloads.contains) { continue }
            guard let threads = byProcess[pid], let target = reservationTarget(pid, names: names) else {
                leave(finding, "PID \(pid): its main thread was not read, so it cannot be told apart from a later process with its PID; "
                      + "audit again")
                continue
            }
            if target.protected {
                refuse(target, finding)
                continue
            }
            let masks = Set(threads.compactMap { $0.allowed?.listString })
            var entry = processes[pid] ?? ProcessActions(target: target)
            if entry.vacate == nil {
                entry.vacate = Action(
                    kind: .vacateCPUs, checks: [finding.check], subject: target.label, process: target, cpus: reserved,
                    before: "\(threads.count) thread\(threads.count == 1 ? "" : "s") allowed CPUs " + masks.sorted().joined(separator: " / "),
                    after: "no thread allowed on CPUs \(reserved.listString) (each keeps its other CPUs)",
                    requires: [Self.affinityRequirement])
            }
            processes[pid] = entry
        }
    }

    /// The process as the thread scan read it (its main thread's start time is its identity),
    /// protected when any protected workload claims it, as `target` decides.
    func reservationTarget(_ pid: Int, names: [String]) -> ProcessTarget? {
        if let known = target(pid) { return known }
        guard let main = state.threads?.threads.first(where: { $0.pid == pid && $0.tid == pid }) else { return nil }
        let guardian = policy.workloads.first { $0.protected && names.contains($0.name) }
        return ProcessTarget(pid: pid, startTime: main.startTime, comm: main.processComm, uid: main.uid,
                             workload: guardian?.name ?? state.owner[pid], protected: guardian != nil)
    }
}
