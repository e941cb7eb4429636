import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// The records `numaguard run --record DIR` leaves, read back so an audit can tell a workload
/// process launched by numaguard with a known placement from one that merely matches.
public struct LaunchRecords: Sendable {
    public var directory: String
    public var records: [LaunchRecord]
    /// Files in the directory that are not readable records, named with the reason.
    public var problems: [String]

    public static func read(directory: String) throws(HostError) -> LaunchRecords {
        let root = HostRoot(path: directory)
        var records: [LaunchRecord] = []
        var problems: [String] = []
        let decoder = JSONDecoder()
        for name in try root.list("").sorted() where name.hasSuffix(".json") {
            do {
                let record = try decoder.decode(LaunchRecord.self, from: Data(try root.readBytes(name)))
                records.append(record)
            } catch {
                problems.append("\(directory)/\(name): \(error)")
            }
        }
        return LaunchRecords(directory: directory, records: records, problems: problems)
    }

    /// The record of this very process: same pid, start time and boot (pids and start
    /// times repeat across reboots).
    func record(for identity: ProcessIdentity, bootID: String?) -> LaunchRecord? {
        records.first { $0.pid == identity.pid && $0.startTime == identity.startTime && (bootID == nil || $0.bootID == bootID) }
    }
}

enum LaunchChecks {
    /// One finding per workload process: launched by numaguard run under this policy and
    /// workload, or not. The placement itself is judged by the other workload checks.
    static func check(_ workload: Workload, _ processes: [WorkloadProcess], records: LaunchRecords,
                      bootID: String?, policy: LoadedPolicy) -> [Finding] {
        let check = "workload.\(workload.name).launcher"
        let restart = "restart through numaguard run --record \(records.directory) --policy \(policy.file) --workload \(workload.name)"
        return processes.map { process in
            let subject = "PID \(process.snapshot.pid) (\(process.snapshot.comm))"
            let expected = "launched by numaguard run for workload \(workload.name) under policy digest \(policy.digest.prefix(12))"
            guard let record = records.record(for: process.snapshot.identity, bootID: bootID) else {
                return Finding(check: check, severity: .warning, outcome: .fail, subject: subject, pid: process.snapshot.pid,
                               expected: expected, actual: "no launch record in \(records.directory)", remediation: restart)
            }
            let placement = "cpus \(record.cpus?.listString ?? "inherited"), memory \(record.memoryPolicy), at \(record.launchedAt)"
            let sameWorkload = record.workload == workload.name && record.policyDigest == policy.digest
            let actual = sameWorkload
                ? "launched by numaguard run: \(placement)"
                : "launched by numaguard run from \(record.source) (policy digest \(record.policyDigest.map { String($0.prefix(12)) } ?? "none")): \(placement)"
            return Finding.judge(sameWorkload, check, .warning, subject: subject, pid: process.snapshot.pid,
                                 expected: expected, actual: actual, remediation: restart)
        }
    }
}
