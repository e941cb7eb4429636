#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// Who the report is about, so a filed certification names its host unambiguously.
public struct HostIdentity: Equatable, Sendable, Encodable {
    public var hostname: String?
    public var machineID: String?
    public var bootID: String?
    public var kernelRelease: String
    public var kernelCommandLine: String

    enum CodingKeys: String, CodingKey {
        case hostname, machineID = "machine_id", bootID = "boot_id", kernelRelease = "kernel_release", kernelCommandLine = "kernel_cmdline"
    }
}

public struct AuditReport: Sendable, Encodable {
    public var policyFile: String
    public var policyDigest: String
    public var host: HostIdentity
    public var findings: [Finding]
    /// Processes that exited while being read: not an error, just gone.
    public var gone: [String]
    /// What could not be read, and the privilege that would fix it.
    public var unreadable: [String]
    /// What was deliberately not considered (another user's file in a shared launch-record
    /// directory): said, never counted.
    public var notes: [String] = []
    public var failOn: Severity
    /// What the checks were computed from: the enforcer plans from these values rather than
    /// reading the host a second time. Not part of the report's JSON.
    public var observed = Observed()

    public struct Observed: Sendable {
        public var kernel: KernelState?
        public var topology: Topology?
        /// Every process read in full (workload members with threads; with a reservation,
        /// every other process without), keyed by PID.
        public var processes: [Int: ProcessSnapshot] = [:]
        /// The workload that claimed each PID (the first whose match holds: its checks apply).
        public var owner: [Int: String] = [:]
        /// Every workload whose match holds for each PID, in policy order. A process any
        /// protected workload matches is protected, whichever workload is listed first.
        public var claimants: [Int: [String]] = [:]
        public init() {}
    }

    enum CodingKeys: String, CodingKey {
        case policyFile = "policy_file", policyDigest = "policy_digest", host, findings, gone, unreadable, notes, failOn = "fail_on", summary
    }

    public struct Summary: Equatable, Sendable, Encodable {
        public var checks = 0
        public var passed = 0
        public var failed = 0
        public var waived = 0
        public var incomplete = 0
    }

    public var summary: Summary {
        var summary = Summary()
        for finding in findings {
            summary.checks += 1
            switch finding.outcome {
            case .pass: summary.passed += 1
            case .fail: summary.failed += 1
            case .waived: summary.waived += 1
            case .incomplete: summary.incomplete += 1
            }
        }
        return summary
    }

    /// 1 when a failure at or above `failOn` remains, else 3 when anything could not be
    /// judged, else 0 (DESIGN.md's audit exit codes).
    public var status: ExitStatus {
        if findings.contains(where: { $0.outcome == .fail && $0.severity >= failOn }) { return .violations }
        if !unreadable.isEmpty || findings.contains(where: { $0.outcome == .incomplete }) { return .incomplete }
        return .success
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(policyFile, forKey: .policyFile)
        try container.encode(policyDigest, forKey: .policyDigest)
        try container.encode(host, forKey: .host)
        try container.encode(summary, forKey: .summary)
        try container.encode(failOn, forKey: .failOn)
        try container.encode(findings, forKey: .findings)
        try container.encode(gone, forKey: .gone)
        try container.encode(unreadable, forKey: .unreadable)
        if !notes.isEmpty { try container.encode(notes, forKey: .notes) }
    }
}

public enum Auditor {
    public struct Failure: Error, CustomStringConvertible {
        public var host: HostError
        public var description: String { host.description }
    }

    public static func run(root: HostRoot, policy loaded: LoadedPolicy, today: Day, failOn: Severity = .warning,
                           launchRecords: LaunchRecords? = nil) throws(Failure) -> AuditReport {
        let policy = loaded.policy
        let facts: HostFacts
        do { facts = try HostFacts.read(root) } catch { throw Failure(host: error) }
        let (topology, kernel) = (facts.topology, facts.kernel)
        let reader = ProcessReader(root: root)
        var gone: [String] = []
        var unreadable: [String] = []
        var notes: [String] = []
        // Every unreadable item is also exactly one incomplete finding, so the text summary,
        // JSON, JUnit `errors` and the Prometheus `outcome="incomplete"` count the same thing.
        var unread: [Finding] = []
        func note(_ error: ProcessReadError, check: String, process: CandidateProcess) {
            switch error {
            case .noSuchProcess, .vanished, .zombie: gone.append(error.description)
            case .permissionDenied, .host:
                unreadable.append(error.description)
                let privileged: Bool
                if case .permissionDenied = error { privileged = true } else { privileged = false }
                unread.append(Finding(
                    check: check, severity: .critical, outcome: .incomplete,
                    subject: "PID \(process.pid) (\(process.comm))", pid: process.pid,
                    expected: "readable", actual: error.description,
                    remediation: privileged ? "run numaguard as root or with CAP_SYS_PTRACE" : "see the error; the read may succeed on a retry"))
            }
        }

        let names = HostNames.read(root)
        let bootID = names.bootID
        notes += launchRecords?.ignored ?? []
        for problem in launchRecords?.problems ?? [] {
            unreadable.append(problem)
            unread.append(Finding(check: "launch_records.read", severity: .critical, outcome: .incomplete, subject: problem,
                                  expected: "every launch record readable", actual: problem,
                                  remediation: "fix or remove the record; numaguard run --record writes them"))
        }

        // Every process by PID; match rules read only what they test.
        let pids: [Int]
        do { pids = try reader.pids() } catch { throw Failure(host: error) }
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

        var findings = HostChecks.kernel(policy.host.kernel, kernel)
        if let expected = policy.host.topology { findings += HostChecks.topology(expected, topology) }
        findings += HostChecks.hugePages(policy.host.hugePages, topology)
        if !policy.host.forbidProcesses.isEmpty {
            findings += HostChecks.forbidden(policy.host.forbidProcesses, processes.map { ($0.pid, $0.comm) })
        }

        // Claim processes for workloads; a process two workloads claim is a finding of its own.
        let matcher = ProcessMatcher(root: root)
        var claimed: [String: [CandidateProcess]] = [:]
        var owner: [Int: String] = [:]
        var claimants: [Int: [String]] = [:]
        for process in processes {
            let claims = policy.workloads.filter { matcher.matches($0.match, process) }
            guard let first = claims.first else { continue }
            owner[process.pid] = first.name
            claimants[process.pid] = claims.map(\.name)
            claimed[first.name, default: []].append(process)
            if claims.count > 1 {
                findings.append(Finding(
                    check: "workload.\(first.name).claim", severity: .critical, outcome: .fail,
                    subject: "PID \(process.pid) (\(process.comm))", pid: process.pid,
                    expected: "claimed by one workload", actual: "matched by \(claims.map(\.name).joined(separator: ", "))",
                    remediation: "make the workloads' match rules exclusive"))
            }
        }

        // Full reads (threads, and numa_maps once) only for what a check needs.
        var tallies: [Int: MemoryTally] = [:]
        var observed = AuditReport.Observed()
        observed.kernel = kernel
        observed.topology = topology
        observed.owner = owner
        observed.claimants = claimants
        var protectedResident: [Int: Int] = [:]
        // Read (one mountinfo) only when a process's cpuset is not where convention puts it.
        var cgroupHierarchy: CgroupHierarchy?
        for workload in policy.workloads {
            var members: [WorkloadProcess] = []
            let scan = workload.memory?.scan ?? false
            for process in claimed[workload.name] ?? [] {
                do {
                    let full = try reader.read(pid: process.pid, memory: scan, numaEnabled: topology.numaEnabled)
                    if let tally = full.memory { tallies[full.pid] = tally }
                    observed.processes[full.pid] = full
                    if workload.protected, let tally = full.memory {
                        for node in tally.nodes { protectedResident[node] = KernelArithmetic.sum(protectedResident[node] ?? 0, tally.bytes(.anonymous, on: node)) }
                    }
                    let cpuset = CgroupCpuset.read(root, cgroups: full.cgroups, hierarchy: &cgroupHierarchy)
                    members.append(WorkloadProcess(snapshot: full, cpuset: cpuset))
                } catch {
                    note(error, check: "workload.\(workload.name).read", process: process)
                }
            }
            findings += WorkloadChecks.check(workload, members, topology: topology, policyFile: loaded.file)
            if let launchRecords {
                findings += LaunchChecks.check(workload, members, records: launchRecords, bootID: bootID, policy: loaded)
            }
        }

        if !policy.reservations.isEmpty {
            // Foreign memory on a reserved node can be anyone's: read every process not read yet,
            // except those whose workload opted out of numa_maps reads.
            let optedOut = Set(policy.workloads.filter { $0.memory?.scan == false }.map(\.name))
            for process in processes where tallies[process.pid] == nil && !optedOut.contains(owner[process.pid] ?? "") {
                do {
                    let full = try reader.read(pid: process.pid, memory: true, threads: false, numaEnabled: topology.numaEnabled)
                    if let tally = full.memory { tallies[full.pid] = tally }
                    observed.processes[full.pid] = full
                } catch {
                    note(error, check: "reservations.read", process: process)
                }
            }
            findings += NodeChecks.reservations(policy.reservations, processes: processes.map { ($0.pid, $0.comm) },
                                                owner: owner, tallies: tallies)
        }
        findings += NodeChecks.headroom(policy.host.headroom, topology: topology, protectedResident: protectedResident)
        findings += unread

        let identity = HostIdentity(
            hostname: names.hostname, machineID: names.machineID, bootID: names.bootID,
            kernelRelease: kernel.release, kernelCommandLine: kernel.commandLine)
        var report = AuditReport(
            policyFile: loaded.file, policyDigest: loaded.digest, host: identity,
            findings: Waivers.apply(policy.waivers, to: findings, today: today),
            gone: gone, unreadable: unreadable, failOn: failOn)
        report.notes = notes
        report.observed = observed
        return report
    }
}
