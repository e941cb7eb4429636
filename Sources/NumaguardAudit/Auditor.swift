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
    /// How long each protected process's numa_maps read took on the live host: the time its
    /// mmap lock was taken and retaken, so an operator sees what the audit cost it.
    public var numaMapsReads: [NumaMapsRead] = []
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
        case numaMapsReads = "numa_maps_reads"
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
        if !numaMapsReads.isEmpty { try container.encode(numaMapsReads, forKey: .numaMapsReads) }
    }
}

/// One protected process's numa_maps read, timed on the live host.
public struct NumaMapsRead: Equatable, Sendable, Encodable {
    public var pid: Int
    public var comm: String
    public var workload: String
    /// Mappings listed (one numa_maps line each).
    public var mappings: Int
    public var seconds: Double

    public var text: String {
        let milliseconds = (seconds * 10_000).rounded() / 10
        return "numa_maps of PID \(pid) (\(comm)) of protected workload \(workload): read in \(milliseconds) ms (\(mappings) mappings); "
            + "its mmap lock was held for up to that long, retaken for every ~4 KiB of output"
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
        func note(_ error: ProcessReadError, check: CheckID, process: CandidateProcess) {
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
            unread.append(Finding(check: .launchRecordsRead, severity: .critical, outcome: .incomplete, subject: problem,
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
            var claims: [Workload] = []
            for workload in policy.workloads {
                switch matcher.verdict(workload.match, process) {
                case .match: claims.append(workload)
                case .noMatch: break
                case let .unknown(reason):
                    // Not silently "not matched": the workload's checks are incomplete.
                    unreadable.append("PID \(process.pid) (\(process.comm)): \(reason)")
                    unread.append(Finding(check: .workload(workload.name, .read), severity: .critical, outcome: .incomplete,
                                          subject: "PID \(process.pid) (\(process.comm))", pid: process.pid,
                                          expected: "readable", actual: reason, remediation: "run numaguard as root or with CAP_SYS_PTRACE"))
                }
            }
            guard let first = claims.first else { continue }
            owner[process.pid] = first.name
            claimants[process.pid] = claims.map(\.name)
            claimed[first.name, default: []].append(process)
            if claims.count > 1 {
                findings.append(Finding(
                    check: .workload(first.name, .claim), severity: .critical, outcome: .fail,
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
        // Read (one mountinfo) only when a process's cpuset is not where convention puts it.
        var cgroupHierarchy: CgroupHierarchy?
        var membersOf: [String: [WorkloadProcess]] = [:]
        var numaMapsReads: [NumaMapsRead] = []
        let guardians = Set(policy.workloads.filter(\.protected).map(\.name))
        // A protected process's numa_maps read is timed for the report, whichever check asked.
        func timed(_ full: ProcessSnapshot) {
            guard let seconds = full.numaMapsSeconds, let tally = full.memory,
                  let guardian = claimants[full.pid]?.first(where: guardians.contains) else { return }
            numaMapsReads.append(NumaMapsRead(pid: full.pid, comm: full.comm, workload: guardian, mappings: tally.mappings, seconds: seconds))
        }
        for workload in policy.workloads {
            var members: [WorkloadProcess] = []
            let scan = workload.memory?.scan ?? false
            for process in claimed[workload.name] ?? [] {
                do {
                    // No cmdline: matching read it already if a rule asked (it takes the mmap lock).
                    let full = try reader.read(pid: process.pid, memory: scan, numaEnabled: topology.numaEnabled, commandLine: false)
                    if let tally = full.memory { tallies[full.pid] = tally }
                    timed(full)
                    observed.processes[full.pid] = full
                    let cpuset = CgroupCpuset.read(root, cgroups: full.cgroups, hierarchy: &cgroupHierarchy)
                    members.append(WorkloadProcess(snapshot: full, cpuset: cpuset))
                } catch {
                    note(error, check: .workload(workload.name, .read), process: process)
                }
            }
            membersOf[workload.name] = members
        }

        // Protected workloads and those that opted out of numa_maps reads: per-node memory from
        // their dedicated cgroups, at no cost to them.
        let byCgroup = policy.workloads.filter { $0.protected || $0.memory?.scan == false }
        let claims = byCgroup.flatMap { workload in
            (membersOf[workload.name] ?? []).map { DedicatedCgroups.Claim(pid: $0.snapshot.pid, workload: workload.name, cgroups: $0.snapshot.cgroups) }
        }
        var cgroupMemory = CgroupMemory()
        if !claims.isEmpty {
            let hierarchy = cgroupHierarchy ?? CgroupHierarchy.read(root)
            let comms = Dictionary(claims.compactMap { claim in observed.processes[claim.pid].map { (claim.pid, $0.comm) } }, uniquingKeysWith: { first, _ in first })
            cgroupMemory = CgroupMemory.read(hierarchy, claims: claims, comms: comms)
        }
        for (pid, message) in cgroupMemory.unreadable {
            unreadable.append("PID \(pid): \(message)")
            unread.append(Finding(check: .workload(owner[pid] ?? "?", .cgroupRead), severity: .critical, outcome: .incomplete,
                                  subject: "PID \(pid) (\(observed.processes[pid]?.comm ?? "?"))", pid: pid, expected: "readable", actual: message,
                                  remediation: "run numaguard as root; see the error"))
        }

        var protectedResident: [Int: Int] = [:]
        for workload in policy.workloads {
            let members = membersOf[workload.name] ?? []
            let groups = cgroupMemory.groups(of: workload.name)
            findings += WorkloadChecks.check(workload, members, topology: topology, policyFile: loaded.file, cgroups: groups)
            if let launchRecords {
                findings += LaunchChecks.check(workload, members, records: launchRecords, bootID: bootID, policy: loaded)
            }
            if workload.protected {
                for member in members where !cgroupMemory.accounted.contains(member.snapshot.pid) {
                    guard let tally = member.snapshot.memory else { continue }
                    for node in tally.nodes { protectedResident[node] = KernelArithmetic.sum(protectedResident[node] ?? 0, tally.bytes(.anonymous, on: node)) }
                }
                for group in groups {
                    for (node, bytes) in group.anon.nodes { protectedResident[node] = KernelArithmetic.sum(protectedResident[node] ?? 0, bytes) }
                }
            }
            // What was lost where no cgroup speaks for a process that opted out of numa_maps.
            if workload.memory?.scan == false {
                for member in members {
                    guard let reason = cgroupMemory.refused[member.snapshot.pid] else { continue }
                    notes.append("PID \(member.snapshot.pid) (\(member.snapshot.comm)) of workload \(workload.name): \(reason); with memory.scan: false "
                                 + "its memory.remote is not judged and its memory is not counted in reservations")
                }
            }
        }

        if !policy.reservations.isEmpty {
            // Foreign memory on a reserved node can be anyone's: read every process not read yet,
            // except those whose workload opted out of numa_maps reads (their dedicated cgroups
            // speak for them) and those a dedicated cgroup accounts for.
            let optedOut = Set(policy.workloads.filter { $0.memory?.scan == false }.map(\.name))
            for process in processes where tallies[process.pid] == nil && !optedOut.contains(owner[process.pid] ?? "")
                && !cgroupMemory.accounted.contains(process.pid) {
                do {
                    let full = try reader.read(pid: process.pid, memory: true, threads: false, numaEnabled: topology.numaEnabled, commandLine: false)
                    if let tally = full.memory { tallies[full.pid] = tally }
                    timed(full)
                    observed.processes[full.pid] = full
                } catch {
                    note(error, check: .reservationsRead, process: process)
                }
            }
            findings += NodeChecks.reservations(policy.reservations, processes: processes.map { ($0.pid, $0.comm) },
                                                owner: owner, tallies: tallies, cgroups: cgroupMemory.groups)
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
        report.numaMapsReads = numaMapsReads
        report.observed = observed
        return report
    }
}
