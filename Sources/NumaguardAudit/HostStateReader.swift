#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import NumaguardSnapshot

/// Reads the `HostState` one policy needs, and nothing a check does not: match rules read
/// only the files they test (comm and command lines prefetched on all cores when a rule or
/// the forbidden list needs them), numa_maps only for workloads with memory checks (once per
/// process) and, with a reservation, for every other process, cgroup figures for protected
/// and `scan: false` workloads, the snapshot only for a baseline.
public enum HostStateReader {
    /// `snapshot`: the tool version to stamp a snapshot of the host with, when one is to be
    /// compared with a baseline; its kernel and topology are the ones the checks judge.
    public static func read(root: HostRoot, policy loaded: LoadedPolicy, launchRecords: LaunchRecords? = nil,
                            snapshot toolVersion: String? = nil) throws(Auditor.Failure) -> HostState {
        let policy = loaded.policy
        let facts: HostFacts
        do { facts = try HostFacts.read(root) } catch { throw Auditor.Failure(host: error) }
        var state = HostState(kernel: facts.kernel, topology: facts.topology, names: HostNames.read(root))
        if let toolVersion {
            do {
                state.snapshot = try SnapshotReader.read(root, facts: facts, names: state.names, toolVersion: toolVersion, takenAt: "at this audit")
            } catch {
                throw Auditor.Failure(host: error)
            }
        }
        state.launchRecords = launchRecords
        state.problems.notes += launchRecords?.ignored ?? []
        for problem in launchRecords?.problems ?? [] {
            state.problems.unreadable(problem, check: .launchRecordsRead, subject: problem, expected: "every launch record readable",
                                      actual: problem, remediation: "fix or remove the record; numaguard run --record writes them")
        }

        let reader = ProcessReader(root: root)
        let pids: [Int]
        do { pids = try reader.pids() } catch { throw Auditor.Failure(host: error) }
        // On the live host the auditing process is not part of what is audited: its own
        // numa_maps and buffers would count as foreign memory on a reserved node (the front
        // execs the tool in place, so one PID covers both). capture leaves it out the same way.
        let own = root.isLive ? Int(getpid()) : nil
        let processes = pids.filter { $0 != own }.map { CandidateProcess(pid: $0, reader: reader) }
        let matches = policy.workloads.map(\.match)
        if !policy.host.forbidProcesses.isEmpty || matches.contains(where: { $0.comm != nil }) {
            Prefetch.seed(processes, "comm", root: root)
        }
        if matches.contains(where: { $0.cmdline != nil }) { Prefetch.seed(processes, "cmdline", root: root) }
        if !policy.host.forbidProcesses.isEmpty || !policy.reservations.isEmpty {
            state.processes = processes.map { HostState.ProcessName(pid: $0.pid, comm: $0.comm) }
        }

        let claimed = claim(processes, policy.workloads, root: root, into: &state)
        readMembers(claimed, policy, reader: reader, root: root, into: &state)
        readCgroups(policy, root: root, into: &state)
        if !policy.reservations.isEmpty {
            readForeign(processes, policy, reader: reader, into: &state)
        }
        readDevices(policy, root: root, into: &state)
        readIsolation(processes, policy, root: root, into: &state)
        return state
    }

    /// Claims processes for workloads (every workload whose match holds, the first owning it).
    /// A rule that cannot be judged (an unreadable exe link) is an incomplete read, never
    /// "not matched".
    static func claim(_ processes: [CandidateProcess], _ workloads: [Workload], root: HostRoot,
                      into state: inout HostState) -> [String: [CandidateProcess]] {
        let matcher = ProcessMatcher(root: root)
        var claimed: [String: [CandidateProcess]] = [:]
        for process in processes {
            let (claims, undecided) = matcher.verdicts(workloads, process)
            for (workload, reason) in undecided {
                let subject = "PID \(process.pid) (\(process.comm))"
                state.problems.unreadable("\(subject): \(reason)", check: .workload(workload.name, .read), subject: subject, pid: process.pid,
                                          actual: reason, remediation: "run numaguard as root or with CAP_SYS_PTRACE")
            }
            guard let first = claims.first else { continue }
            state.owner[process.pid] = first.name
            state.claimants[process.pid] = claims.map(\.name)
            claimed[first.name, default: []].append(process)
            // The claim check needs the comm of a process two workloads claim.
            if claims.count > 1, !state.processes.contains(where: { $0.pid == process.pid }) {
                state.processes.append(HostState.ProcessName(pid: process.pid, comm: process.comm))
            }
        }
        state.processes.sort { $0.pid < $1.pid }
        return claimed
    }

    /// Each workload's processes in full: threads, cpuset, and numa_maps once when its memory
    /// checks need it. No command line: matching read it already if a rule asked (it takes
    /// the process's mmap lock).
    static func readMembers(_ claimed: [String: [CandidateProcess]], _ policy: Policy, reader: ProcessReader, root: HostRoot,
                            into state: inout HostState) {
        // Read (one mountinfo) only when a process's cpuset is not where convention puts it.
        var hierarchy: CgroupHierarchy?
        for workload in policy.workloads {
            var members: [WorkloadProcess] = []
            let scan = workload.memory?.scan ?? false
            for process in claimed[workload.name] ?? [] {
                do {
                    let full = try reader.read(pid: process.pid, memory: scan, numaEnabled: state.topology.numaEnabled, commandLine: false)
                    record(full, policy, into: &state)
                    members.append(WorkloadProcess(snapshot: full, cpuset: CgroupCpuset.read(root, cgroups: full.cgroups, hierarchy: &hierarchy)))
                } catch {
                    note(error, check: .workload(workload.name, .read), pid: process.pid, comm: process.comm, into: &state)
                }
            }
            state.members[workload.name] = members
        }
    }

    /// Protected workloads and those that opted out of numa_maps reads: per-node memory from
    /// their dedicated cgroups, at no cost to them.
    static func readCgroups(_ policy: Policy, root: HostRoot, into state: inout HostState) {
        let byCgroup = policy.workloads.filter { $0.protected || $0.memory?.scan == false }
        let claims = byCgroup.flatMap { workload in
            (state.members[workload.name] ?? []).map { DedicatedCgroups.Claim(pid: $0.snapshot.pid, workload: workload.name, cgroups: $0.snapshot.cgroups) }
        }
        guard !claims.isEmpty else { return }
        let comms = Dictionary(claims.compactMap { claim in state.snapshots[claim.pid].map { (claim.pid, $0.comm) } },
                               uniquingKeysWith: { first, _ in first })
        let memory = CgroupMemory.read(CgroupHierarchy.read(root), claims: claims, comms: comms)
        for (pid, message) in memory.unreadable {
            state.problems.unreadable("PID \(pid): \(message)", check: .workload(state.owner[pid] ?? "?", .cgroupRead),
                                      subject: "PID \(pid) (\(comms[pid] ?? "?"))", pid: pid, actual: message,
                                      remediation: "run numaguard as root; see the error")
        }
        // What is lost where no cgroup speaks for a process that opted out of numa_maps.
        for workload in policy.workloads where workload.memory?.scan == false {
            for member in state.members[workload.name] ?? [] {
                guard let reason = memory.refused[member.snapshot.pid] else { continue }
                state.problems.notes.append("PID \(member.snapshot.pid) (\(member.snapshot.comm)) of workload \(workload.name): \(reason); "
                                            + "with memory.scan: false its memory.remote is not judged and its memory is not counted in reservations")
            }
        }
        state.cgroupMemory = memory
    }

    /// Foreign memory on a reserved node can be anyone's: every process not read yet, except
    /// those whose workload opted out of numa_maps reads and those a dedicated cgroup accounts for.
    static func readForeign(_ processes: [CandidateProcess], _ policy: Policy, reader: ProcessReader, into state: inout HostState) {
        let optedOut = Set(policy.workloads.filter { $0.memory?.scan == false }.map(\.name))
        for process in processes where state.snapshots[process.pid]?.memory == nil && !optedOut.contains(state.owner[process.pid] ?? "")
            && !state.cgroupMemory.accounted.contains(process.pid) {
            // A member read without memory (no memory checks) is read again, with it.
            do {
                let full = try reader.read(pid: process.pid, memory: true, threads: false, numaEnabled: state.topology.numaEnabled, commandLine: false)
                record(full, policy, into: &state)
            } catch {
                note(error, check: .reservationsRead, pid: process.pid, comm: process.comm, into: &state)
            }
        }
    }

    /// Keeps a full read; a protected process's numa_maps read is timed for the report,
    /// whichever check asked for it.
    static func record(_ full: ProcessSnapshot, _ policy: Policy, into state: inout HostState) {
        if let existing = state.snapshots[full.pid], full.threads.isEmpty, !existing.threads.isEmpty {
            var merged = existing
            merged.memory = full.memory
            merged.numaMapsSeconds = full.numaMapsSeconds
            state.snapshots[full.pid] = merged
        } else {
            state.snapshots[full.pid] = full
        }
        let guardians = Set(policy.workloads.filter(\.protected).map(\.name))
        guard let seconds = full.numaMapsSeconds, let tally = full.memory,
              let guardian = state.claimants[full.pid]?.first(where: guardians.contains) else { return }
        state.problems.numaMapsReads.append(NumaMapsRead(pid: full.pid, comm: full.comm, workload: guardian, mappings: tally.mappings, seconds: seconds))
    }

    static func note(_ error: ProcessReadError, check: CheckID, pid: Int, comm: String, into state: inout HostState) {
        switch error {
        case .noSuchProcess, .vanished, .zombie: state.problems.gone.append(error.description)
        case .permissionDenied, .host:
            let privileged: Bool
            if case .permissionDenied = error { privileged = true } else { privileged = false }
            state.problems.unreadable(error.description, check: check, subject: "PID \(pid) (\(comm))", pid: pid, actual: error.description,
                                      remediation: privileged ? "run numaguard as root or with CAP_SYS_PTRACE" : "see the error; the read may succeed on a retry")
        }
    }
}
