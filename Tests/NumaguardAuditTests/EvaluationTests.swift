import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import XCTest

/// The checks over plain HostState values, built by hand: no tree, no process. What the
/// fixture-tree tests show against recorded kernels, these show rule by rule.
final class EvaluationTests: XCTestCase {
    /// Two nodes, CPUs 0-1 on node 0 and 2-3 on node 1, 1 GiB each, 512 MiB free.
    private func state(numaBalancing: Int? = 0) -> HostState {
        let gib = 1 << 30
        let nodes = [
            NodeInfo(id: 0, cpus: IDSet([0, 1]), memTotal: gib, memFree: gib / 2, distances: [10, 21], hugePages: []),
            NodeInfo(id: 1, cpus: IDSet([2, 3]), memTotal: gib, memFree: gib / 2, distances: [21, 10], hugePages: []),
        ]
        let topology = Topology(numaEnabled: true, possibleNodes: IDSet([0, 1]), onlineNodes: IDSet([0, 1]), nodesWithCPU: IDSet([0, 1]),
                                nodesWithMemory: IDSet([0, 1]), nodes: nodes, possibleCPUs: IDSet([0, 1, 2, 3]), onlineCPUs: IDSet([0, 1, 2, 3]),
                                isolatedCPUs: IDSet(), nohzFullCPUs: IDSet())
        let kernel = KernelState(release: "6.1.0", commandLine: "ro", numaBalancing: numaBalancing, zoneReclaimMode: 0,
                                 transparentHugepage: "never", transparentHugepageDefrag: nil)
        return HostState(kernel: kernel, topology: topology, names: HostNames(hostname: "h", machineID: nil, bootID: nil))
    }

    private func loaded(_ yaml: String) throws -> LoadedPolicy {
        LoadedPolicy(policy: try PolicyLoader.parse(yaml, file: "p.yaml"), file: "p.yaml", digest: "0")
    }

    /// A process with one thread and the given numa_maps lines.
    private func process(_ pid: Int, comm: String, cpus: IDSet, lastCPU: Int, maps: String = "") throws -> WorkloadProcess {
        var tally = MemoryTally()
        for mapping in try NumaMapsParser.parse(maps) { tally.add(mapping) }
        let snapshot = ProcessSnapshot(
            identity: ProcessIdentity(pid: pid, startTime: 1), comm: comm, exe: nil, cmdline: [], uid: 0, cgroups: [],
            cpusAllowed: cpus, memsAllowed: IDSet([0, 1]), threads: [ThreadPlacement(tid: pid, comm: comm, lastCPU: lastCPU, cpusAllowed: cpus)],
            memory: maps.isEmpty ? nil : tally, residentBytes: nil)
        return WorkloadProcess(snapshot: snapshot, cpuset: nil)
    }

    func testTheBalancingKnobIsABitmask() throws {
        let policy = try loaded("version: 1\nhost:\n  kernel: {numa_balancing: off}\n")
        for (value, outcome) in [(0, Outcome.pass), (1, .fail), (2, .fail), (3, .fail)] {
            let findings = Evaluation.findings(policy, state(numaBalancing: value))
            XCTAssertEqual(findings.map(\.check), ["host.kernel.numa_balancing"])
            XCTAssertEqual(findings.first?.outcome, outcome, "numa_balancing \(value)")
        }
        XCTAssertEqual(Evaluation.findings(policy, state(numaBalancing: nil)).first?.outcome, .pass, "no NUMA balancing in the kernel")
    }

    func testAThreadAllowedOffItsNodeFailsCPUsAndAThreadThatRanThereWarns() throws {
        let policy = try loaded("version: 1\nworkloads:\n  - {name: engine, match: {comm: engine}, cpus: {nodes: [1]}}\n")
        var host = state()
        host.members["engine"] = [try process(40, comm: "engine", cpus: IDSet([2, 3]), lastCPU: 2),
                                  try process(41, comm: "engine", cpus: IDSet([0, 1, 2, 3]), lastCPU: 0)]
        let findings = Evaluation.findings(policy, host)
        let outcomes = findings.map { "\($0.check) \($0.pid ?? -1) \($0.outcome)" }
        XCTAssertEqual(outcomes, ["workload.engine.cpus 40 pass", "workload.engine.threads.last_cpu 40 pass",
                                  "workload.engine.cpus 41 fail", "workload.engine.threads.last_cpu 41 fail"])
        XCTAssertEqual(findings[2].expected, "every thread allowed only CPUs 2-3")
    }

    func testMemoryOffTheBoundNodeIsJudgedAgainstMaxRemote() throws {
        let policy = try loaded("version: 1\nworkloads:\n  - {name: engine, match: {comm: engine}, memory: {policy: bind, nodes: [1], max_remote: 10%}}\n")
        var host = state()
        host.members["engine"] = [try process(40, comm: "engine", cpus: IDSet([2, 3]), lastCPU: 2, maps: """
            7f0000000000 bind:1 anon=30 dirty=30 N0=10 N1=20 kernelpagesize_kB=4
            """)]
        let remote = try XCTUnwrap(Evaluation.findings(policy, host).first { $0.check == "workload.engine.memory.remote" })
        XCTAssertEqual(remote.outcome, .fail)
        XCTAssertEqual(remote.actual, "33.3% of 120 KiB (40 KiB on node 0)")
    }

    func testAProcessTwoWorkloadsClaimIsAFinding() throws {
        let policy = try loaded("version: 1\nworkloads:\n  - {name: a, match: {comm: x}}\n  - {name: b, match: {comm: x}}\n")
        var host = state()
        host.claimants = [7: ["a", "b"], 8: ["a"]]
        host.owner = [7: "a", 8: "a"]
        host.processes = [HostState.ProcessName(pid: 7, comm: "x")]
        let claim = try XCTUnwrap(Evaluation.findings(policy, host).first)
        XCTAssertEqual(claim.check, "workload.a.claim")
        XCTAssertEqual(claim.subject, "PID 7 (x)")
        XCTAssertEqual(claim.actual, "matched by a, b")
    }

    func testForeignMemoryOnAReservedNodeNamesItsHolders() throws {
        let policy = try loaded("""
            version: 1
            reserve:
              - {node: 0, for: [engine], max_foreign_memory: 64KiB}
            workloads:
              - {name: engine, match: {comm: engine}}
            """)
        var host = state()
        let batch = try process(50, comm: "batch", cpus: IDSet([0, 1]), lastCPU: 0, maps: "7f0000000000 default anon=32 dirty=32 N0=32 kernelpagesize_kB=4")
        host.snapshots[50] = batch.snapshot
        host.processes = [HostState.ProcessName(pid: 50, comm: "batch")]
        let reserve = try XCTUnwrap(Evaluation.findings(policy, host).first { $0.check == "node.0.reserve" })
        XCTAssertEqual(reserve.outcome, .fail)
        XCTAssertEqual(reserve.actual, "128 KiB in 1 process: PID 50 (batch) 128 KiB")
        XCTAssertEqual(host.foreignHolders(policy.policy.reservations[0]).map(\.0.pid), [50], "what apply would move")
    }

    func testWhatCouldNotBeReadIsIncompleteAndLast() throws {
        let policy = try loaded("version: 1\nhost:\n  kernel: {zone_reclaim_mode: 0}\n")
        var host = state()
        host.problems.unread = [Finding(check: .reservationsRead, severity: .critical, outcome: .incomplete, expected: "readable",
                                        actual: "permission denied", remediation: "run as root")]
        XCTAssertEqual(Evaluation.findings(policy, host).map(\.check), ["host.kernel.zone_reclaim_mode", "reservations.read"])
    }
}
