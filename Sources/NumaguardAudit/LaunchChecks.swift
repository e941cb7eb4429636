#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// The records `numaguard run --record DIR` leaves, read back so an audit can tell a workload
/// process launched by numaguard with a known placement from one that merely matches.
///
/// A record directory may be shared (run as several users writes into one), so a record is
/// believed only from someone entitled to say how the process was launched: root, the user
/// auditing, or the owner of the process it describes (numaguard run writes it with the
/// wrapper's privileges, before any `--user` switch). Anything else in the directory (another
/// user's file, a link, a FIFO) is ignored and said so, never counted as incomplete: junk that
/// any local user can drop there must not fail a pre-market certification.
public struct LaunchRecords: Sendable {
    public struct Entry: Sendable {
        public var record: LaunchRecord
        /// The file's owner, judged against the process the record describes.
        public var owner: Int
    }

    public var directory: String
    public var entries: [Entry]
    /// Files from trusted owners that are not readable records, named with the reason.
    public var problems: [String]
    /// Files that were not considered at all, named with the reason.
    public var ignored: [String]

    public var records: [LaunchRecord] { entries.map(\.record) }

    public static func read(directory: String) throws(HostError) -> LaunchRecords {
        let root = HostRoot(path: directory)
        let auditor = Int(geteuid())
        var entries: [Entry] = []
        var problems: [String] = []
        var ignored: [String] = []
        let decoder = JSONDecoder()
        for name in try root.list("").sorted() where name.hasSuffix(".json") {
            let path = "\(directory)/\(name)"
            var info = stat()
            do {
                try SystemCall.check("lstat", path) { lstat(path, &info) }
            } catch {
                problems.append("\(path): \(error.errno)")
                continue
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                ignored.append("\(path): not a regular file; ignored")
                continue
            }
            let owner = Int(info.st_uid)
            do {
                let record = try decoder.decode(LaunchRecord.self, from: Data(try root.readBytes(name)))
                // A record of another layout is not read as this one (its fields may mean other things).
                guard record.formatVersion == LaunchRecord.formatVersion else {
                    let reason = "format_version \(record.formatVersion) is not one this numaguard reads (it reads \(LaunchRecord.formatVersion))"
                    if owner == 0 || owner == auditor { problems.append("\(path): \(reason)") } else { ignored.append("\(path): \(reason); ignored") }
                    continue
                }
                entries.append(Entry(record: record, owner: owner))
            } catch {
                if owner == 0 || owner == auditor {
                    problems.append("\(path): \(error)")
                } else {
                    ignored.append("\(path): owned by uid \(owner), not a launch record; ignored")
                }
            }
        }
        return LaunchRecords(directory: directory, entries: entries, problems: problems, ignored: ignored)
    }

    /// The record of this very process: same pid, start time and boot (pids and start
    /// times repeat across reboots), written by root, the auditor or the process's owner.
    func record(for identity: ProcessIdentity, owner: Int?, bootID: String?) -> LaunchRecord? {
        let auditor = Int(geteuid())
        return entries.first { entry in
            let record = entry.record
            return record.pid == identity.pid && record.startTime == identity.startTime && (bootID == nil || record.bootID == bootID)
                && (entry.owner == 0 || entry.owner == auditor || entry.owner == owner)
        }?.record
    }
}

enum LaunchChecks {
    /// One finding per workload process: launched by numaguard run under this policy and
    /// workload, or not. The placement itself is judged by the other workload checks.
    static func check(_ workload: Workload, _ processes: [WorkloadProcess], records: LaunchRecords,
                      bootID: String?, policy: LoadedPolicy) -> [Finding] {
        let check = CheckID.workload(workload.name, .launcher)
        let restart = "restart through numaguard run --record \(records.directory) --policy \(policy.file) --workload \(workload.name)"
        return processes.map { process in
            let subject = "PID \(process.snapshot.pid) (\(process.snapshot.comm))"
            let expected = "launched by numaguard run for workload \(workload.name) under policy digest \(policy.digest.prefix(12))"
            guard let record = records.record(for: process.snapshot.identity, owner: process.snapshot.uid, bootID: bootID) else {
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
