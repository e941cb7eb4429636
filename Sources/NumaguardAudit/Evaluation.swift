import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import NumaguardSnapshot

/// The audit's judgement: a policy against a `HostState`, findings out. Pure: it reads
/// nothing, so every check is testable over a HostState built by hand as well as over
/// recorded trees. Waivers are applied after it, once (`Auditor`).
public enum Evaluation {
    /// A snapshot to compare the host's with (`audit --baseline`), and the file it came from.
    public struct Baseline: Sendable {
        public var snapshot: Snapshot
        public var file: String

        public init(snapshot: Snapshot, file: String) {
            self.snapshot = snapshot
            self.file = file
        }
    }

    /// Findings in a stable order: kernel, topology, huge pages, forbidden processes, claims,
    /// devices, each workload's checks (its device references first), reservations, headroom,
    /// what could not be read, then drift.
    public static func findings(_ loaded: LoadedPolicy, _ state: HostState, baseline: Baseline? = nil, newFile: String = "") -> [Finding] {
        let resolved = DeviceResolution.resolve(loaded.policy, state.deviceNodes)
        let policy = resolved.policy
        var findings = HostChecks.kernel(policy.host.kernel, state.kernel)
        if let expected = policy.host.topology { findings += HostChecks.topology(expected, state.topology) }
        findings += HostChecks.hugePages(policy.host.hugePages, state.topology)
        if !policy.host.forbidProcesses.isEmpty {
            findings += HostChecks.forbidden(policy.host.forbidProcesses, state.processes.map { ($0.pid, $0.comm) })
        }
        findings += claims(state)
        findings += DeviceChecks.check(policy.devices, state.devices, topology: state.topology)

        var protectedResident: [Int: Int] = [:]
        for workload in policy.workloads {
            findings += resolved.findings[workload.name] ?? []
            let members = state.members[workload.name] ?? []
            let groups = state.cgroupMemory.groups(of: workload.name)
            findings += WorkloadChecks.check(workload, members, topology: state.topology, policyFile: loaded.file, cgroups: groups)
            if let records = state.launchRecords {
                findings += LaunchChecks.check(workload, members, records: records, bootID: state.names.bootID, policy: loaded)
            }
            if workload.protected {
                for member in members where !state.cgroupMemory.accounted.contains(member.snapshot.pid) {
                    guard let tally = member.snapshot.memory else { continue }
                    for node in tally.nodes { protectedResident[node] = KernelArithmetic.sum(protectedResident[node] ?? 0, tally.bytes(.anonymous, on: node)) }
                }
                for group in groups {
                    for (node, bytes) in group.anon.nodes { protectedResident[node] = KernelArithmetic.sum(protectedResident[node] ?? 0, bytes) }
                }
            }
        }
        findings += IsolationChecks.findings(policy, state) + CPUReservationChecks.findings(policy, state)
        if !policy.reservations.isEmpty {
            findings += NodeChecks.reservations(policy.reservations, processes: state.processes.map { ($0.pid, $0.comm) },
                                                owner: state.owner, tallies: state.tallies, cgroups: state.cgroupMemory.groups)
        }
        findings += NodeChecks.headroom(policy.host.headroom, topology: state.topology, protectedResident: protectedResident)
        findings += state.problems.unread
        if let baseline, let now = state.snapshot {
            findings += Drift.findings(SnapshotComparison.diff(old: baseline.snapshot, oldFile: baseline.file, new: now, newFile: newFile))
        }
        return findings
    }

    /// A process two workloads claim is a finding of its own (the first workload's checks apply).
    static func claims(_ state: HostState) -> [Finding] {
        state.claimants.keys.sorted().compactMap { pid in
            guard let names = state.claimants[pid], names.count > 1, let first = names.first else { return nil }
            let comm = state.processes.first { $0.pid == pid }?.comm ?? state.snapshots[pid]?.comm ?? "?"
            return Finding(check: .workload(first, .claim), severity: .critical, outcome: .fail,
                           subject: "PID \(pid) (\(comm))", pid: pid,
                           expected: "claimed by one workload", actual: "matched by \(names.joined(separator: ", "))",
                           remediation: "make the workloads' match rules exclusive")
        }
    }
}
