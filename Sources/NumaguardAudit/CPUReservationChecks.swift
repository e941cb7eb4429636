import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// `cpus.LIST.reserve.*`: CPUs kept for named workloads. No user thread outside them may be
/// allowed there (`threads`) or have last run there (`last_cpu`); kernel threads are reported
/// apart (`kernel_threads`); no device interrupt may target them unless its device is named
/// in `irqs:` (`irqs`); the unbound workqueues stay off them (`workqueue`). Pure.
enum CPUReservationChecks {
    /// How many processes a finding names before it only counts.
    static let named = 5

    static func findings(_ policy: Policy, _ state: HostState) -> [Finding] {
        policy.cpuReservations.flatMap { reservation in
            check(reservation, state, allowedIRQs: allowedIRQs(reservation, policy.devices, state.devices.devices))
        }
    }

    /// The IRQs of the devices a reservation names in `irqs:` (the loader made sure each is a
    /// declared device; the audit read them because the policy has `devices:`): those may
    /// target its CPUs.
    static func allowedIRQs(_ reservation: CPUReservation, _ rules: [DeviceRule], _ devices: [HostDevice]) -> Set<Int> {
        guard !reservation.irqDevices.isEmpty else { return [] }
        let named = rules.filter { reservation.irqDevices.contains($0.name) }
        return Set(named.flatMap { DeviceChecks.matched($0.match, devices).flatMap { $0.irqs.map(\.irq) } })
    }

    static func check(_ reservation: CPUReservation, _ state: HostState, allowedIRQs: Set<Int>) -> [Finding] {
        var findings: [Finding] = []
        if let threads = state.threads?.threads {
            let member = { (pid: Int) -> Bool in
                (state.claimants[pid] ?? state.owner[pid].map { [$0] } ?? []).contains(where: reservation.workloads.contains)
            }
            let foreign = threads.filter { !$0.kernel && !member($0.pid) }
            findings.append(self.threads(reservation, foreign))
            findings.append(lastCPU(reservation, foreign))
            findings.append(kernelThreads(reservation, threads.filter(\.kernel)))
        }
        if let scan = state.irqScan { findings += irqs(reservation, scan.irqs, allowed: allowedIRQs) }
        if let isolation = state.isolation, isolation.workqueueProblem == nil, let mask = isolation.workqueueCPUs {
            let shared = mask.intersection(reservation.cpus)
            let housekeeping = state.topology.onlineCPUs.subtracting(reservation.cpus).subtracting(isolation.isolated)
            findings.append(.judge(
                shared.isEmpty, .cpuReservation(cpus: reservation.cpus, .workqueue), .warning, subject: subject(reservation),
                expected: "unbound workqueue cpumask outside \(reservation.cpus.listString)",
                actual: "\(mask.kernelMask) (\(mask.listString))",
                remediation: "echo \(housekeeping.kernelMask) > /sys/devices/virtual/workqueue/cpumask (manual: numaguard does not write it)"))
        }
        return findings
    }

    static func subject(_ reservation: CPUReservation) -> String { "CPUs \(reservation.cpus.listString)" }

    /// "IRQ 45 (virtio1-input.0)": what an `irqs` finding names, and how the planner finds it again.
    static func irqSubject(_ irq: IRQAffinity) -> String {
        "IRQ \(irq.irq)" + (irq.actions.map { " (\(DeviceChecks.untrusted($0)))" } ?? "")
    }

    /// "N threads in M processes: PID 1 (systemd) 0-31, ...": the first `named` processes, those
    /// with a thread `first` picks out ahead (confined to the reserved CPUs: the scheduler cannot
    /// move those away), then by PID.
    static func summary(_ threads: [TaskPlacement], first: (TaskPlacement) -> Bool = { _ in false },
                        _ describe: ([TaskPlacement]) -> String) -> (text: String, pid: Int?) {
        guard !threads.isEmpty else { return ("none", nil) }
        var byProcess: [Int: [TaskPlacement]] = [:]
        for thread in threads { byProcess[thread.pid, default: []].append(thread) }
        let ahead = Set(threads.filter(first).map(\.pid))
        let pids = byProcess.keys.sorted { (ahead.contains($0) ? 0 : 1, $0) < (ahead.contains($1) ? 0 : 1, $1) }
        let listed = pids.prefix(named).map { pid -> String in
            let members = byProcess[pid] ?? []
            let comm = DeviceChecks.untrusted(members.first?.processComm ?? "?")
            let count = members.count == 1 ? "" : ", \(members.count) threads"
            return "PID \(pid) (\(comm)\(count)) \(describe(members))"
        }
        let more = pids.count > named ? ", …" : ""
        let text = "\(threads.count) thread\(threads.count == 1 ? "" : "s") in \(pids.count) process\(pids.count == 1 ? "" : "es"): "
            + listed.joined(separator: ", ") + more
        return (text, pids.count == 1 ? pids.first : nil)
    }

    static func threads(_ reservation: CPUReservation, _ foreign: [TaskPlacement]) -> Finding {
        let cpus = reservation.cpus
        let offending = foreign.filter { !($0.allowed ?? IDSet()).intersection(cpus).isEmpty }
        let (actual, pid) = summary(offending, first: { ($0.allowed ?? IDSet()).isSubset(of: cpus) }) { members in
            members.reduce(IDSet()) { $0.union($1.allowed ?? IDSet()) }.listString
        }
        return .judge(
            offending.isEmpty, .cpuReservation(cpus: cpus, .threads), .critical, subject: subject(reservation), pid: pid,
            expected: "no user thread outside \(reservation.workloads.joined(separator: ", ")) allowed on CPUs \(cpus.listString)",
            actual: actual,
            remediation: "numaguard apply (moves unprotected threads off CPUs \(cpus.listString)); boot with "
                + "isolcpus=domain,managed_irq,\(cpus.listString) so new processes start outside")
    }

    /// Threads that last ran on a reserved CPU but may no longer run there: a transient.
    static func lastCPU(_ reservation: CPUReservation, _ foreign: [TaskPlacement]) -> Finding {
        let cpus = reservation.cpus
        let offending = foreign.filter { cpus.contains($0.lastCPU) && ($0.allowed ?? IDSet()).intersection(cpus).isEmpty }
        let (actual, pid) = summary(offending) { members in
            "last on CPU " + IDSet(members.map(\.lastCPU)).listString
        }
        return .judge(
            offending.isEmpty, .cpuReservation(cpus: cpus, .lastCPU), .warning, subject: subject(reservation), pid: pid,
            expected: "no user thread outside \(reservation.workloads.joined(separator: ", ")) last ran on CPUs \(cpus.listString)",
            actual: actual,
            remediation: "transient: they ran there before their affinity changed; audit again to confirm")
    }

    /// Kernel threads allowed on the reserved CPUs, in three groups: bound to one CPU
    /// (ksoftirqd/N, migration/N, kworker/N:*, cpuhp/N: expected), interrupt threads (`irq/N-*`,
    /// PREEMPT_RT or threadirqs: the interrupt's work itself, named with its IRQ) and unbound ones.
    static func kernelThreads(_ reservation: CPUReservation, _ kernel: [TaskPlacement]) -> Finding {
        let cpus = reservation.cpus
        let there = kernel.filter { !($0.allowed ?? IDSet()).intersection(cpus).isEmpty }
        let interrupt = there.filter { $0.comm.hasPrefix("irq/") }
        let rest = there.filter { !$0.comm.hasPrefix("irq/") }
        let bound = rest.filter { $0.allowed?.count == 1 }
        let unbound = rest.filter { ($0.allowed?.count ?? 0) > 1 }
        func names(_ threads: [TaskPlacement], _ describe: (TaskPlacement) -> String) -> String {
            let listed = threads.prefix(named).map(describe).joined(separator: ", ")
            return "\(threads.count)" + (threads.isEmpty ? "" : " (\(listed)\(threads.count > named ? ", …" : ""))")
        }
        let irqThreads = names(interrupt) { thread in
            let number = thread.comm.dropFirst(4).prefix { $0.isASCII && $0.isNumber }
            return "\(DeviceChecks.untrusted(thread.comm)) (IRQ \(number)) \(thread.allowed?.listString ?? "?")"
        }
        let actual = "per-CPU bound (expected): " + names(bound) { DeviceChecks.untrusted($0.comm) }
            + "; unbound: " + names(unbound) { "\(DeviceChecks.untrusted($0.comm)) \($0.allowed?.listString ?? "?")" }
            + "; interrupt threads: " + irqThreads
        return .judge(
            unbound.isEmpty && interrupt.isEmpty, .cpuReservation(cpus: cpus, .kernelThreads), .info, subject: subject(reservation),
            expected: "only per-CPU bound kernel threads on CPUs \(cpus.listString)", actual: actual,
            remediation: "unbound kworkers follow the workqueue cpumask; interrupt threads follow their IRQ's affinity; "
                + "rcu threads move with rcu_nocbs=\(cpus.listString) at boot")
    }

    /// One finding per IRQ whose effective affinity (its requested one where the effective is
    /// unknown or empty: not started) touches the reserved CPUs, unless its device is named in
    /// `irqs:`; one pass when none does. IRQs without a handler cannot fire and are left out.
    static func irqs(_ reservation: CPUReservation, _ irqs: [IRQAffinity], allowed: Set<Int>) -> [Finding] {
        let cpus = reservation.cpus
        let check = CheckID.cpuReservation(cpus: cpus, .irqs)
        let except = reservation.irqDevices.isEmpty ? "" : " except \(reservation.irqDevices.joined(separator: ", "))'s"
        let expected = "no device interrupt targets CPUs \(cpus.listString)\(except)"
        var findings: [Finding] = []
        for irq in irqs where irq.actions != "" && !allowed.contains(irq.irq) {
            let effective = irq.effective.flatMap { $0.isEmpty ? nil : $0 }
            guard let used = effective ?? irq.requested, !used.intersection(cpus).isEmpty else { continue }
            let requested = irq.requested?.listString ?? "unknown"
            let actual: String
            switch irq.effective {
            case let set? where !set.isEmpty: actual = "effective CPU\(set.count == 1 ? "" : "s") \(set.listString) (requested \(requested))"
            case .some: actual = "requested \(requested) (not started: no effective CPU yet)"
            case nil: actual = "requested \(requested) (effective affinity unknown)"
            }
            findings.append(Finding(
                check: check, severity: .critical, outcome: .fail, subject: irqSubject(irq), expected: expected, actual: actual,
                remediation: "numaguard apply (writes smp_affinity_list of IRQ \(irq.irq) off CPUs \(cpus.listString)); a kernel-managed IRQ "
                    + "cannot be written: boot with isolcpus=managed_irq,\(cpus.listString)"))
        }
        if findings.isEmpty {
            findings.append(.pass(check, .critical, subject: subject(reservation), expected: expected, actual: "none"))
        }
        return findings
    }
}

