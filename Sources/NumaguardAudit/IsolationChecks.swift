import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// `host.isolation.*` and `host.irqbalance.*`: what the kernel was booted with to keep CPUs to
/// themselves, and whether irqbalance keeps its hands off them. Pure: state in, findings out.
enum IsolationChecks {
    /// Every CPU of the policy's CPU reservations.
    static func reservedCPUs(_ policy: Policy) -> IDSet { policy.cpuReservations.reduce(IDSet()) { $0.union($1.cpus) } }

    static func findings(_ policy: Policy, _ state: HostState) -> [Finding] {
        guard let isolation = state.isolation else { return [] }
        let reserved = reservedCPUs(policy)
        var findings: [Finding] = []
        if let wanted = policy.host.isolation {
            findings += self.isolation(wanted, isolation, online: state.topology.onlineCPUs, reserved: reserved)
        }
        if let wanted = policy.host.irqbalance {
            let required = isolation.isolated.union(policy.host.isolation?.isolated ?? IDSet()).union(reserved)
            findings += irqbalance(wanted, isolation, required: required)
        }
        return findings
    }

    static func isolation(_ policy: IsolationPolicy, _ state: IsolationState, online: IDSet, reserved: IDSet) -> [Finding] {
        var findings: [Finding] = []
        let isolcpus = state.isolcpus
        if let wanted = policy.isolated {
            // isolated lists only isolcpus' domain flavour: say so when the flags explain an empty file.
            var actual = state.isolated.isEmpty ? "none" : state.isolated.listString
            if let isolcpus {
                if let problem = isolcpus.problem {
                    actual += " (\(isolcpus.text): \(problem))"
                } else if !isolcpus.flags.contains(.domain) {
                    actual += " (\(isolcpus.text) has no domain flag)"
                }
            }
            findings.append(.judge(
                state.isolated == wanted, .isolation(.isolated), .critical,
                expected: "isolated CPUs \(wanted.listString)", actual: actual,
                remediation: "boot with isolcpus=domain,managed_irq,\(wanted.listString) on the kernel command line"))
        }
        if let wanted = policy.nohzFull {
            findings.append(.judge(
                state.nohzFull == wanted, .isolation(.nohzFull), .critical,
                expected: "nohz_full CPUs \(wanted.listString)", actual: state.nohzFull.isEmpty ? "none" : state.nohzFull.listString,
                remediation: "boot with nohz_full=\(wanted.listString) on the kernel command line"))
        }
        if let wanted = policy.managedIRQ {
            let covered = policy.isolated ?? state.isolated
            let flagged = isolcpus?.flags.contains(.managedIRQ) == true && isolcpus?.cpus != nil
            let actual: String
            if let isolcpus {
                actual = isolcpus.text + (isolcpus.problem.map { ": \($0)" } ?? "")
            } else {
                actual = "no isolcpus= on the kernel command line"
            }
            if wanted {
                let holds = flagged && covered.isSubset(of: isolcpus?.cpus ?? IDSet())
                findings.append(.judge(
                    holds, .isolation(.managedIRQ), .critical,
                    expected: "isolcpus= carries managed_irq" + (covered.isEmpty ? "" : " covering CPUs \(covered.listString)"),
                    actual: actual,
                    remediation: "boot with isolcpus=managed_irq,domain,\(covered.isEmpty ? "LIST" : covered.listString): the only lever on "
                        + "kernel-managed IRQs (nvme, virtio-blk queues), which user space cannot move"))
            } else {
                findings.append(.judge(
                    !flagged, .isolation(.managedIRQ), .critical, expected: "isolcpus= without managed_irq", actual: actual,
                    remediation: "remove managed_irq from isolcpus= on the kernel command line"))
            }
        }
        if let rule = policy.workqueue, state.workqueueProblem == nil {
            let allowed: IDSet
            let expected: String
            switch rule {
            case .housekeeping:
                allowed = online.subtracting(state.isolated).subtracting(policy.isolated ?? IDSet()).subtracting(reserved)
                expected = "unbound workqueue cpumask within the housekeeping CPUs \(allowed.isEmpty ? "(none)" : allowed.listString)"
            case let .within(cpus):
                allowed = cpus
                expected = "unbound workqueue cpumask within CPUs \(cpus.listString)"
            }
            let mask = state.workqueueCPUs
            findings.append(.judge(
                mask.map { !$0.isEmpty && $0.isSubset(of: allowed) } ?? false, .isolation(.workqueue), .warning, expected: expected,
                actual: mask.map { "\($0.kernelMask) (\($0.isEmpty ? "none" : $0.listString))" }
                    ?? "no /sys/devices/virtual/workqueue/cpumask in this kernel",
                remediation: allowed.isEmpty ? "no housekeeping CPU is left: isolate or reserve fewer CPUs"
                    : "echo \(allowed.kernelMask) > /sys/devices/virtual/workqueue/cpumask (or boot with workqueue.unbound_cpus="
                    + "\(allowed.listString) on 6.6+); numaguard does not write it"))
        }
        return findings
    }

    /// irqbalance's own rule (cputree.c): `IRQBALANCE_BANNED_CPUS` or `_CPULIST` set and
    /// non-empty replaces its detection; otherwise it bans the isolated and nohz_full CPUs.
    /// `--banirq` exempts one IRQ and leaves the detection on; a policy script can ban anything.
    static func irqbalance(_ policy: IRQBalancePolicy, _ state: IsolationState, required: IDSet) -> [Finding] {
        let running = state.irqbalance.map { "PID \($0.pid)" }.joined(separator: ", ")
        let ignored = state.ignoredIRQBalance.map { "PID \($0.pid) (uid \($0.uid.map(String.init) ?? "?"))" }
        let ignoredNote = ignored.isEmpty ? "" : "; ignored, not root's: \(ignored.joined(separator: ", "))"
        var findings = [Finding.judge(
            state.irqbalance.isEmpty != policy.running, .irqbalance(.running), .critical,
            expected: policy.running ? "irqbalance running (as root)" : "no irqbalance running",
            actual: (running.isEmpty ? "not running" : "running: \(running)") + ignoredNote,
            remediation: policy.running ? "start irqbalance as root (systemctl enable --now irqbalance)"
                : "stop and disable irqbalance (systemctl disable --now irqbalance): it rewrites IRQ affinities every 10 s")]
        guard policy.running else { return findings }
        let detected = state.isolated.union(state.nohzFull)
        for process in state.irqbalance {
            // Unreadable environment: one incomplete finding already (HostStateIsolation).
            guard let environment = process.environment else { continue }
            let banned: IDSet?
            var actual: String
            switch environment.banned {
            case let set?:
                banned = set.cpus
                actual = "\(set.variable)=\(set.value.prefix(256)) set: its isolcpus/nohz_full detection is off"
                if set.cpus == nil { actual += "; the value does not parse" }
            case nil:
                banned = detected
                actual = "no IRQBALANCE_BANNED_* set: it bans the isolated and nohz_full CPUs (\(detected.isEmpty ? "none" : detected.listString))"
            }
            let missing = required.subtracting(banned ?? IDSet())
            if banned != nil { actual += missing.isEmpty ? "; bans \(required.isEmpty ? "all required" : required.listString)" : "; \(missing.listString) not banned" }
            if let arguments = process.arguments {
                if let script = arguments.policyScript { actual += "; a policy script (\(script.prefix(256))) may ban more; not judged" }
                if arguments.oneshot { actual += "; --oneshot: it balanced once" }
            }
            let fix = banned.map { $0.union(required) } ?? required
            findings.append(.judge(
                banned != nil && missing.isEmpty, .irqbalance(.bannedCPUs), .critical, subject: "irqbalance (PID \(process.pid))", pid: process.pid,
                expected: "irqbalance bans CPUs ⊇ \(required.isEmpty ? "none" : required.listString) (isolated ∪ reserved)",
                actual: actual,
                remediation: "set IRQBALANCE_BANNED_CPULIST=\(fix.isEmpty ? "LIST" : fix.listString) (or unset it so isolated and nohz_full CPUs "
                    + "are banned) and restart irqbalance"))
        }
        return findings
    }
}
