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

/// An audit: the report, and the host state it judged (what `plan` plans from, so the host
/// is read once).
public struct Audit: Sendable {
    public var report: AuditReport
    public var state: HostState
    /// The policy as judged: device references resolved to this host's nodes, workloads
    /// whose references did not resolve without placement (`DeviceResolution`). What a
    /// planner must plan from, so it never aims at a set the audit did not judge.
    public var policy: Policy
}

/// Reads the host state a policy needs, evaluates it, applies the waivers once.
public enum Auditor {
    public struct Failure: Error, CustomStringConvertible {
        public var host: HostError
        public var description: String { host.description }
    }

    /// `baseline`: a snapshot to compare the host with (drift findings beside the policy's);
    /// the host's own snapshot is read with the same facts the checks judge, stamped `toolVersion`.
    public static func audit(root: HostRoot, policy loaded: LoadedPolicy, today: Day, failOn: Severity = .warning,
                             launchRecords: LaunchRecords? = nil, baseline: Evaluation.Baseline? = nil,
                             toolVersion: String? = nil) throws(Failure) -> Audit {
        let state = try HostStateReader.read(root: root, policy: loaded, launchRecords: launchRecords,
                                             snapshot: baseline.map { toolVersion ?? $0.snapshot.toolVersion })
        let findings = Evaluation.findings(loaded, state, baseline: baseline, newFile: root.path)
        let identity = HostIdentity(
            hostname: state.names.hostname, machineID: state.names.machineID, bootID: state.names.bootID,
            kernelRelease: state.kernel.release, kernelCommandLine: state.kernel.commandLine)
        var report = AuditReport(
            policyFile: loaded.file, policyDigest: loaded.digest, host: identity,
            findings: Waivers.apply(loaded.policy.waivers, to: findings, today: today),
            gone: state.problems.gone, unreadable: state.problems.unreadable, failOn: failOn)
        report.notes = state.problems.notes
        report.numaMapsReads = state.problems.numaMapsReads
        return Audit(report: report, state: state, policy: DeviceResolution.resolve(loaded.policy, state.deviceNodes).policy)
    }

    /// The report alone.
    public static func run(root: HostRoot, policy loaded: LoadedPolicy, today: Day, failOn: Severity = .warning,
                           launchRecords: LaunchRecords? = nil) throws(Failure) -> AuditReport {
        try audit(root: root, policy: loaded, today: today, failOn: failOn, launchRecords: launchRecords).report
    }
}
