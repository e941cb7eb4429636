import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// One process claimed by a workload, read in full: threads, and memory unless the
/// workload opted out of numa_maps reads.
public struct WorkloadProcess: Sendable {
    public var snapshot: ProcessSnapshot
    /// The cpuset of its cgroup (v1 or v2), when one is mounted.
    public var cpuset: CgroupCpuset?

    public init(snapshot: ProcessSnapshot, cpuset: CgroupCpuset?) {
        self.snapshot = snapshot
        self.cpuset = cpuset
    }
    /// The effective CPUs and nodes of its cpuset, when readable.
    public var cpusetCPUs: IDSet? { cpuset?.cpus }
    public var cpusetMems: IDSet? { cpuset?.mems }
}

/// Checks of one workload's processes against its declaration: ground truth only
/// (status, every thread's affinity and last CPU, the policy of every mapping).
public enum WorkloadChecks {
    /// `cgroups`: the workload's dedicated cgroups; the processes they account for get their
    /// `memory.remote` judged once per cgroup from memory.numa_stat, not from numa_maps.
    static func check(_ workload: Workload, _ processes: [WorkloadProcess], topology: Topology, policyFile: String,
                      cgroups: [CgroupMemory.Group] = []) -> [Finding] {
        var findings: [Finding] = []
        let name = workload.name
        let restart = "restart through numaguard run --policy \(policyFile) --workload \(workload.name)"
            + (workload.protected ? " (protected: never changed live)" : "")
        if let running = workload.running {
            let pids = processes.map { "\($0.snapshot.pid)" }.joined(separator: ", ")
            findings.append(.judge(
                running.contains(processes.count), .workload(name, .running), .critical,
                expected: running.maximum.map { $0 == running.minimum ? "exactly \($0) process\($0 == 1 ? "" : "es")" : "\(running.minimum) to \($0) processes" }
                    ?? "at least \(running.minimum) process\(running.minimum == 1 ? "" : "es")",
                actual: "\(processes.count)" + (pids.isEmpty ? "" : " (PID \(pids))"),
                remediation: processes.count < running.minimum ? "start it through numaguard run --workload \(workload.name)"
                    : "stop the extra processes"))
        }
        let declaredCPUs = workload.declaredCPUs(on: topology)
        for process in processes {
            let snapshot = process.snapshot
            let subject = "PID \(snapshot.pid) (\(snapshot.comm))"
            let judge = SubjectJudge(workload: name, subject: subject, pid: snapshot.pid)
            if let cpus = declaredCPUs {
                let stray = snapshot.threads.filter { !($0.cpusAllowed ?? snapshot.cpusAllowed).isSubset(of: cpus) }
                let processOK = snapshot.cpusAllowed.isSubset(of: cpus) && !snapshot.cpusAllowed.isEmpty
                findings.append(judge(processOK && stray.isEmpty, .cpus, .critical,
                      expected: "every thread allowed only CPUs \(cpus.listString)",
                      actual: "Cpus_allowed_list \(snapshot.cpusAllowed.listString)"
                          + (stray.isEmpty ? "" : "; threads \(stray.prefix(8).map { "\($0.tid)" }.joined(separator: ", ")) allowed \(stray.first.map { ($0.cpusAllowed ?? snapshot.cpusAllowed).listString } ?? "")"),
                      remediation: workload.protected ? restart : "numaguard apply (sets every thread's affinity)"))
                let elsewhere = snapshot.threads.filter { !cpus.contains($0.lastCPU) }
                findings.append(judge(elsewhere.isEmpty, .lastCPU, .warning,
                      expected: "threads last ran on CPUs \(cpus.listString)",
                      actual: elsewhere.isEmpty ? "all \(snapshot.threads.count) threads" :
                          elsewhere.prefix(8).map { "thread \($0.tid) on CPU \($0.lastCPU)" }.joined(separator: ", "),
                      remediation: workload.protected ? restart : "numaguard apply (sets every thread's affinity)"))
                if let cpuset = process.cpuset, let effective = cpuset.cpus {
                    findings.append(judge(cpus.isSubset(of: effective), .cpusetCPUs, .critical,
                          expected: "cgroup \(cpuset.cpusFile) includes \(cpus.listString)", actual: effective.listString.orNone,
                          remediation: "widen the cgroup's cpuset (\(cpuset.path)) to include CPUs \(cpus.listString)"))
                }
            }
            guard let memory = workload.memory else { continue }
            if !memory.nodes.isEmpty {
                findings.append(judge(memory.nodes.isSubset(of: snapshot.memsAllowed), .memsAllowed, .critical,
                      expected: "Mems_allowed includes nodes \(memory.nodes.listString)", actual: snapshot.memsAllowed.listString,
                      remediation: "widen the cgroup's cpuset.mems to include nodes \(memory.nodes.listString)"))
                if let cpuset = process.cpuset, let effective = cpuset.mems {
                    findings.append(judge(memory.nodes.isSubset(of: effective), .cpusetMems, .critical,
                          expected: "cgroup \(cpuset.memsFile) includes \(memory.nodes.listString)", actual: effective.listString.orNone,
                          remediation: "widen the cgroup's cpuset (\(cpuset.path)) to include nodes \(memory.nodes.listString)"))
                }
            }
            guard memory.scan else { continue }
            guard let tally = snapshot.memory else { continue }
            let accounted = cgroups.contains { $0.processes.contains { $0.pid == snapshot.pid } }
            findings += memoryFindings(memory, tally, judge: judge, restart: restart, protected: workload.protected, remote: !accounted)
        }
        return findings + cgroupRemote(workload, cgroups, policyFile: policyFile)
    }

    static func memoryFindings(
        _ memory: MemoryPlacement, _ tally: MemoryTally, judge: SubjectJudge, restart: String, protected: Bool, remote judgeRemote: Bool = true
    ) -> [Finding] {
        var findings: [Finding] = []
        let expected = MemoryPolicy(mode: memory.mode, nodes: memory.nodes)
        let wrong = tally.policies.filter { $0.policy.mode != expected.mode || $0.policy.nodes != expected.nodes }
        findings.append(judge(wrong.isEmpty, .memoryPolicy, .critical, expected: expected.kernelSpelling + " on every mapping",
              actual: wrong.isEmpty ? "\(tally.mappings) mappings \(expected.kernelSpelling)"
                  : wrong.map { "\($0.policy.kernelSpelling) on \($0.mappings) mapping\($0.mappings == 1 ? "" : "s") (\(Bytes.text($0.bytes.saturatingSum)))" }
                  .joined(separator: "; "),
              remediation: restart))
        if !memory.allowInterleave {
            let interleaved = tally.policies.filter { $0.policy.mode.isInterleave }
            findings.append(judge(interleaved.isEmpty, .interleave, .critical,
                  expected: "no interleave (it is inherited through fork and exec)",
                  actual: interleaved.isEmpty ? "none" : interleaved.map { "\($0.policy.kernelSpelling) on \($0.mappings) mappings" }.joined(separator: "; "),
                  remediation: restart))
        }
        if judgeRemote && judgesRemote(memory) {
            let anonymous = Dictionary(uniqueKeysWithValues: tally.nodes.map { ($0, tally.bytes(.anonymous, on: $0)) })
            findings.append(remote(memory, anonymous: anonymous, judge: judge,
                                   remediation: protected ? restart : "numaguard apply (migrates pages to nodes \(memory.nodes.listString))"))
        }
        return findings
    }

    /// `memory.remote` applies to a binding or preferring placement on named nodes.
    static func judgesRemote(_ memory: MemoryPlacement) -> Bool {
        !memory.nodes.isEmpty && ![MemoryPolicy.Mode.interleave, .weightedInterleave].contains(memory.mode)
    }

    /// The share of anonymous memory off the declared nodes against `max_remote`, from one
    /// process's numa_maps or one dedicated cgroup's memory.numa_stat (`anonymous`: bytes by
    /// node). Page cache is placed by whoever faulted it first, so it is not counted.
    static func remote(_ memory: MemoryPlacement, anonymous: [Int: Int], judge: SubjectJudge, source: String = "",
                       remediation: String) -> Finding {
        let total = anonymous.values.saturatingSum
        let off = anonymous.filter { !memory.nodes.contains($0.key) && $0.value > 0 }.sorted { $0.key < $1.key }
        let share = total > 0 ? Double(off.lazy.map(\.value).saturatingSum) / Double(total) : 0
        let limit = memory.maxRemote ?? 0
        let where_ = off.map { "\(Bytes.text($0.value)) on node \($0.key)" }.joined(separator: ", ")
        return judge(share <= limit, .remote, .critical,
                     expected: "at most \(percent(limit)) of anonymous memory off nodes \(memory.nodes.listString)",
                     actual: "\(percent(share)) of \(Bytes.text(total))" + (where_.isEmpty ? "" : " (\(where_))") + source,
                     remediation: remediation)
    }

    /// `memory.remote` of each cgroup dedicated to the workload, from its memory.numa_stat:
    /// one finding per cgroup, naming its processes (their numa_maps is not what is judged).
    static func cgroupRemote(_ workload: Workload, _ groups: [CgroupMemory.Group], policyFile: String) -> [Finding] {
        guard let memory = workload.memory, judgesRemote(memory) else { return [] }
        return groups.map { group in
            let judge = SubjectJudge(workload: workload.name, subject: group.label, pid: nil)
            let anonymous = Dictionary(group.anon.nodes.map { ($0.node, $0.value) }, uniquingKeysWith: { first, _ in first })
            let pids = group.processes.map { String($0.pid) }.joined(separator: ", ")
            let off = IDSet(anonymous.filter { !memory.nodes.contains($0.key) && $0.value > 0 }.map(\.key))
            return remote(memory, anonymous: anonymous, judge: judge, source: ", from the cgroup's memory.numa_stat",
                          remediation: "restart through numaguard run --policy \(policyFile) --workload \(workload.name)"
                              + (workload.protected ? " (protected: never changed live)"
                                 : "; or numaguard migrate PID --from \(off.listString) --to \(memory.nodes.listString) for each of PID \(pids)"))
        }
    }

    /// Findings about one process share its workload, subject and PID.
    struct SubjectJudge {
        let workload: String
        let subject: String
        let pid: Int?

        func callAsFunction(_ holds: Bool, _ check: CheckID.WorkloadCheck, _ severity: Severity,
                            expected: String, actual: String, remediation: String) -> Finding {
            .judge(holds, .workload(workload, check), severity, subject: subject, pid: pid,
                   expected: expected, actual: actual, remediation: remediation)
        }
    }

    static func percent(_ share: Double) -> String {
        let tenths = Int((share * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}
