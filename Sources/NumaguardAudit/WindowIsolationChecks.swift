import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// certify's window on isolated and reserved CPUs: which interrupt sources fired there between
/// the two readings of /proc/interrupts (`cpus.LIST.window.interrupts` per CPU reservation,
/// `host.isolation.window.interrupts` for the isolated CPUs), and how often the protected
/// workloads' threads were switched out against their will (`workload.NAME.window.
/// nonvoluntary_switches`). An audit sees where things are allowed to run; only a window sees
/// what actually fired. Pure: the readings and the audit's host state come in.
public enum WindowIsolationChecks {
    /// How many sources a finding names per CPU, and how many CPUs, before it only counts.
    static let named = 5

    /// The window reads /proc/interrupts only for a policy that isolates or reserves CPUs.
    public static func applies(_ policy: Policy) -> Bool { policy.host.isolation != nil || !policy.cpuReservations.isEmpty }

    /// ... and every thread's status only when a protected workload may run there.
    public static func needsThreads(_ policy: Policy) -> Bool { applies(policy) && policy.workloads.contains(where: \.protected) }

    /// `state`: the audit's host state (devices, members, isolated CPUs); nil when the caller
    /// had only the report: then no IRQ is known as a declared device's and no workload's
    /// threads can be told apart.
    public static func judge(policy: Policy, state: HostState?, before: IsolationCounters, after: IsolationCounters,
                             seconds: Double) -> [Finding] {
        let window = InterruptWindow(before: before.interrupts, after: after.interrupts, seconds: seconds)
        let devices = state?.devices.devices ?? []
        var owner: [Int: String] = [:]
        for rule in policy.devices {
            for matched in DeviceChecks.matched(rule.match, devices) {
                for vector in matched.irqs where owner[vector.irq] == nil { owner[vector.irq] = rule.name }
            }
        }
        var findings: [Finding] = []
        for reservation in policy.cpuReservations {
            let allowed = CPUReservationChecks.allowedIRQs(reservation, policy.devices, devices)
            let except = reservation.irqDevices.isEmpty ? "" : " except \(reservation.irqDevices.joined(separator: ", "))'s"
            findings.append(interrupts(.windowInterrupts(cpus: reservation.cpus), cpus: reservation.cpus, window, allowed: allowed,
                                       owner: owner, seconds: seconds, except: except, subject: CPUReservationChecks.subject(reservation)))
        }
        let isolated = isolatedCPUs(policy, state)
        if policy.host.isolation != nil, !isolated.isEmpty {
            // A device whose `irqs:` names an isolated CPU, or a reservation there naming it, is declared there.
            var allowed: Set<Int> = []
            var declared: [String] = []
            for rule in policy.devices {
                guard let placement = rule.irqs, !placementCPUs(placement, state).intersection(isolated).isEmpty else { continue }
                declared.append(rule.name)
                allowed.formUnion(DeviceChecks.matched(rule.match, devices).flatMap { $0.irqs.map(\.irq) })
            }
            for reservation in policy.cpuReservations where !reservation.cpus.intersection(isolated).isEmpty {
                allowed.formUnion(CPUReservationChecks.allowedIRQs(reservation, policy.devices, devices))
                declared += reservation.irqDevices.filter { !declared.contains($0) }
            }
            let except = declared.isEmpty ? "" : " except \(declared.joined(separator: ", "))'s"
            findings.append(interrupts(.windowIsolatedInterrupts, cpus: isolated, window, allowed: allowed, owner: owner,
                                       seconds: seconds, except: except, subject: "isolated CPUs \(isolated.listString)"))
        }
        if let state, let earlier = before.threads, let later = after.threads {
            let hot = policy.cpuReservations.reduce(isolated) { $0.union($1.cpus) }
            for workload in policy.workloads where workload.protected {
                findings.append(switches(workload.name, state.members[workload.name] ?? [], earlier, later, hot: hot, seconds: seconds))
            }
        }
        return findings
    }

    /// The isolated CPUs judged: those the policy declares (isolated ∪ nohz_full), else those
    /// the host has.
    static func isolatedCPUs(_ policy: Policy, _ state: HostState?) -> IDSet {
        guard let isolation = policy.host.isolation else { return IDSet() }
        let declared = (isolation.isolated ?? IDSet()).union(isolation.nohzFull ?? IDSet())
        guard declared.isEmpty, let topology = state?.topology else { return declared }
        return topology.isolatedCPUs.union(topology.nohzFullCPUs)
    }

    static func placementCPUs(_ placement: IRQPlacement, _ state: HostState?) -> IDSet {
        switch placement.target {
        case let .cpus(cpus): return cpus
        case let .nodes(nodes):
            return (state?.topology.nodes ?? []).filter { nodes.contains($0.id) }.reduce(IDSet()) { $0.union($1.cpus) }
        }
    }

    // MARK: interrupts

    static func interrupts(_ check: CheckID, cpus: IDSet, _ window: InterruptWindow, allowed: Set<Int>, owner: [Int: String],
                           seconds: Double, except: String, subject: String) -> Finding {
        let span = "during the \(seconds.formatted1)s window"
        // A reset counts what the new handler took since it started, inside the window.
        let fired = window.on(cpus) + window.resets.filter { cpus.contains($0.cpu) }
        let resetKeys = Set(window.resets.map { "\($0.source) \($0.cpu)" })
        var undeclared: [InterruptDelta] = []
        var declared: [InterruptDelta] = []
        var ipis: [String: UInt64] = [:]
        var namedOrder: [String] = []
        for delta in fired {
            switch delta.source {
            case let .irq(number):
                if allowed.contains(number) { declared.append(delta) } else { undeclared.append(delta) }
            case let .named(name):
                if ipis[name] == nil { namedOrder.append(name) }
                ipis[name, default: 0] += UInt64(delta.count)
            }
        }
        func label(_ delta: InterruptDelta) -> String {
            guard case let .irq(number) = delta.source else { return delta.source.description }
            let row = InterruptRow(source: delta.source, counts: [], detail: delta.detail)
            let name = row.actions.map { DeviceChecks.untrusted($0) } ?? "IRQ \(number)"
            let device = owner[number].map { " (\($0))" } ?? ""
            let reset = resetKeys.contains("\(delta.source) \(delta.cpu)") ? ", counter reset: counted from zero" : ""
            return "\(name)\(device) ×\(delta.count) (\(rate(UInt64(delta.count), seconds))/s\(reset))"
        }
        func perCPU(_ deltas: [InterruptDelta]) -> String {
            let byCPU = Dictionary(grouping: deltas, by: \.cpu)
            let listed = byCPU.keys.sorted().prefix(named).map { cpu -> String in
                let sources = (byCPU[cpu] ?? []).sorted { $0.count > $1.count }
                let shown = sources.prefix(named).map(label).joined(separator: ", ")
                return "CPU \(cpu): \(shown)" + (sources.count > named ? ", and \(sources.count - named) more" : "")
            }
            return listed.joined(separator: "; ") + (byCPU.count > named ? "; and \(byCPU.count - named) more CPUs" : "")
        }
        var parts: [String] = [undeclared.isEmpty ? "no device interrupt" : perCPU(undeclared)]
        if !declared.isEmpty { parts.append("declared: " + perCPU(declared)) }
        if !namedOrder.isEmpty {
            let sorted = namedOrder.sorted { (ipis[$0] ?? 0, $1) > (ipis[$1] ?? 0, $0) }
            parts.append("timers and IPIs (info, not judged; LOC near HZ per second is normal on a CPU without nohz_full): "
                         + sorted.prefix(3 * named).map { "\(DeviceChecks.untrusted($0)) ×\(ipis[$0] ?? 0)" }.joined(separator: ", "))
        }
        let went = window.wentOffline.intersection(cpus)
        let came = window.cameOnline.intersection(cpus)
        if !went.isEmpty { parts.append("\(DeviceChecks.cpuText(went)) went offline during the window: not compared") }
        if !came.isEmpty { parts.append("\(DeviceChecks.cpuText(came)) came online during the window: not compared") }
        let outcome: Outcome = !undeclared.isEmpty ? .fail : (went.isEmpty && came.isEmpty ? .pass : .incomplete)
        let cpuList = cpus.listString
        return Finding(
            check: check, severity: .critical, outcome: outcome, subject: subject,
            expected: "no device interrupt on CPUs \(cpuList)\(except) \(span)", actual: parts.joined(separator: "; "),
            remediation: outcome == .pass ? "" : outcome == .incomplete
                ? "certify again with every CPU online for the whole window"
                : "move those IRQs off CPUs \(cpuList) (numaguard plan / apply write smp_affinity_list); kernel-managed "
                    + "queue vectors follow isolcpus=managed_irq,\(cpuList) at boot; or declare the device in the reservation's irqs:")
    }

    static func rate(_ count: UInt64, _ seconds: Double) -> String {
        guard seconds > 0 else { return "?" }
        let perSecond = Double(count) / seconds
        return perSecond >= 10 ? "\(Int(perSecond.rounded()))" : perSecond.formatted1
    }

    // MARK: context switches

    /// A workload's threads seen in both readings (same PID, TID and start time), with their
    /// growth of `nonvoluntary_ctxt_switches`. Warning when a thread on an isolated or reserved
    /// CPU (it last ran there, or may run nowhere else) was switched out; info otherwise.
    static func switches(_ name: String, _ members: [WorkloadProcess], _ before: ThreadScan, _ after: ThreadScan,
                         hot: IDSet, seconds: Double) -> Finding {
        let identities = Dictionary(members.map { ($0.snapshot.identity.pid, $0.snapshot.identity.startTime) }, uniquingKeysWith: { a, _ in a })
        struct Key: Hashable { var pid, tid: Int; var start: UInt64 }
        var earlier: [Key: Int] = [:]
        for thread in before.threads where identities[thread.pid] != nil {
            if let count = thread.nonvoluntary { earlier[Key(pid: thread.pid, tid: thread.tid, start: thread.startTime)] = count }
        }
        // The process is the one the audit claimed when its main thread started when it did.
        var same: Set<Int> = []
        for thread in after.threads where thread.tid == thread.pid && identities[thread.pid] == thread.startTime { same.insert(thread.pid) }
        var hotGrowth: [(TaskPlacement, Int)] = []
        var elsewhere = 0
        var elsewhereThreads = 0
        var onHot = 0
        var compared = 0
        for thread in after.threads where same.contains(thread.pid) {
            guard let old = earlier[Key(pid: thread.pid, tid: thread.tid, start: thread.startTime)],
                  let new = thread.nonvoluntary, new >= old else { continue }
            compared += 1
            let there = hot.contains(thread.lastCPU) || (thread.allowed.map { !$0.isEmpty && $0.isSubset(of: hot) } ?? false)
            if there {
                onHot += 1
                if new > old { hotGrowth.append((thread, new - old)) }
            } else if new > old {
                elsewhere += new - old
                elsewhereThreads += 1
            }
        }
        let span = "during the \(seconds.formatted1)s window"
        hotGrowth.sort { ($0.1, $1.0.tid) > ($1.1, $0.0.tid) }
        var parts: [String] = []
        if compared == 0 {
            parts.append(members.isEmpty ? "no process of \(name) running" : "no thread of \(name) seen in both readings")
        } else {
            let listed = hotGrowth.prefix(named).map { thread, grown in
                "PID \(thread.pid) (\(DeviceChecks.untrusted(thread.processComm))) thread \(thread.tid) on CPU \(thread.lastCPU): "
                    + "+\(grown) (\(rate(UInt64(grown), seconds))/s)"
            }
            parts.append(onHot == 0 ? "no thread on isolated or reserved CPUs"
                         : hotGrowth.isEmpty ? "\(onHot) thread\(onHot == 1 ? "" : "s") on isolated or reserved CPUs: +0"
                         : listed.joined(separator: ", ") + (hotGrowth.count > named ? ", and \(hotGrowth.count - named) more threads" : ""))
            parts.append("elsewhere: +\(elsewhere) in \(elsewhereThreads) thread\(elsewhereThreads == 1 ? "" : "s")")
        }
        return .judge(
            hotGrowth.isEmpty, .workload(name, .windowSwitches), onHot > 0 ? .warning : .info, subject: "workload \(name)",
            pid: hotGrowth.count == 1 ? hotGrowth.first?.0.pid : nil,
            expected: "no involuntary context switch of \(name)'s threads on isolated or reserved CPUs"
                + (hot.isEmpty ? "" : " (\(hot.listString))") + " \(span)",
            actual: parts.joined(separator: "; "),
            remediation: "something else ran on those CPUs: see the cpus.*.reserve.threads and kernel_threads findings and the "
                + "window's interrupts; move it away (numaguard apply), boot with nohz_full= and rcu_nocbs= for these CPUs")
    }
}
