import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// The planner over hosts recorded from a real 2-node 6.1 guest (Tests/Fixtures/linux-6.1-2node:
/// PID 122 `numactl --membind=1 probe 64`, 152 `numactl --cpunodebind=1 --membind=1 probe 32
/// /bin/busybox`, 168 `probe 16`; numa_balancing 1, THP always, 8 huge pages on node 0).
final class PlannerTests: XCTestCase {
    private var copies: [URL] = []

    override func tearDown() {
        for copy in copies { try? FileManager.default.removeItem(at: copy) }
        copies = []
    }

    static let policy = """
        version: 1
        host: {kernel: {numa_balancing: off}}
        workloads:
          - name: engine
            match: {cmdline: "^probe 64$"}
            protected: true
            cpus: {nodes: [0]}
            memory: {policy: bind, nodes: [0]}
          - name: batch
            match: {cmdline: "^probe 32 "}
            cpus: {nodes: [0]}
        reserve:
          - {node: 1, for: [engine], max_foreign_memory: 16MiB}
        """

    func plan(_ yaml: String, keeping pids: [Int] = [122, 152, 168], root: URL? = nil, selfPID: Int = 1,
              persist: Planner.Options.DropIn? = nil) throws -> Plan {
        let host = try root ?? Fixtures.copy("linux-6.1-2node", keeping: pids)
        if root == nil { copies.append(host) }
        let policy = try PolicyLoader.parse(yaml, file: "test.yaml")
        let audit = try Auditor.audit(root: HostRoot(path: host.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "sha256:0"),
                                      today: Day(year: 2026, month: 11, day: 21))
        return Planner.plan(audit.report, state: audit.state, policy: policy, options: .init(selfPID: selfPID, persist: persist))
    }

    func testKnobsAffinityMigrationAndAProtectedRefusal() throws {
        let plan = try plan(Self.policy)
        XCTAssertEqual(plan.status, .pending)
        XCTAssertEqual(plan.actions.map(\.kind), [.setKnob, .setAffinity, .migratePages, .restart])

        let knob = plan.actions[0]
        XCTAssertEqual(knob.knob, .sysctl("kernel.numa_balancing"))
        XCTAssertEqual(knob.knob?.path, "proc/sys/kernel/numa_balancing")
        XCTAssertEqual([knob.before, knob.after, knob.value], ["1", "0", "0"])
        XCTAssertEqual(knob.requires.map(\.privilege), ["root", "CAP_SYS_ADMIN"])

        let affinity = plan.actions[1]
        XCTAssertEqual(affinity.process?.pid, 152)
        XCTAssertEqual(affinity.cpus, IDSet([0, 1]))
        XCTAssertEqual(affinity.before, "threads allowed CPUs 2-3")
        XCTAssertEqual(affinity.checks, ["workload.batch.cpus"])
        XCTAssertEqual(affinity.requires.map(\.privilege), ["CAP_SYS_NICE"])
        XCTAssertNil(affinity.requires.first?.exceptUID, "the kernel wants it even for the same owner when the target holds more capabilities")

        let migration = plan.actions[2]
        XCTAssertEqual(migration.process?.pid, 152)
        XCTAssertEqual(migration.process?.startTime, try startTime(152))
        XCTAssertEqual(migration.fromNodes, IDSet([1]))
        XCTAssertEqual(migration.toNodes, IDSet([0]), "the batch workload's declared CPUs are node 0's")
        XCTAssertEqual(migration.checks, ["node.1.reserve"])
        XCTAssertEqual(migration.requires.map(\.privilege), ["CAP_SYS_NICE", "CAP_SYS_PTRACE"])
        XCTAssertEqual(migration.onlyUnshared, true, "a protected process runs: pages shared with it stay")

        let refusal = plan.actions[3]
        XCTAssertEqual(refusal.status, .refused)
        XCTAssertEqual(refusal.process?.pid, 122)
        XCTAssertEqual(refusal.process?.protected, true)
        XCTAssertEqual(refusal.checks, ["workload.engine.cpus", "workload.engine.memory.policy", "workload.engine.memory.remote"])
        XCTAssertTrue(refusal.reason?.contains("restart through numaguard run --policy test.yaml --workload engine") ?? false, refusal.reason ?? "")
        XCTAssertFalse(plan.actions.contains { $0.process?.pid == 122 && $0.status == .pending }, "never a live change to the protected process")
    }

    func startTime(_ pid: Int) throws -> UInt64 {
        let stat = try String(contentsOfFile: Fixtures.path("linux-6.1-2node") + "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return try XCTUnwrap(UInt64(fields[19]))
    }

    func testAProtectedProcessOnAReservedNodeIsRefusedNotMigrated() throws {
        let yaml = Self.policy.replacingOccurrences(of: "name: batch\n    match: {cmdline: \"^probe 32 \"}",
                                                    with: "name: batch\n    protected: true\n    match: {cmdline: \"^probe 32 \"}")
        let plan = try plan(yaml)
        XCTAssertFalse(plan.actions.contains { $0.kind == .migratePages || $0.kind == .setAffinity }, "\(plan.actions.map(\.subject))")
        let refusal = try XCTUnwrap(plan.actions.first { $0.process?.pid == 152 })
        XCTAssertEqual(refusal.status, .refused)
        XCTAssertEqual(refusal.checks, ["workload.batch.cpus", "workload.batch.threads.last_cpu", "node.1.reserve"], "every check it fails")
    }

    func testNonProtectedMemoryPolicyIsARestartAndWaivedFindingsPlanNothing() throws {
        let plan = try plan("""
            version: 1
            host: {kernel: {numa_balancing: off}}
            workloads:
              - name: batch
                match: {cmdline: "^probe 64$"}
                memory: {policy: bind, nodes: [0]}
            waivers:
              - {check: host.kernel.numa_balancing, reason: "change window", expires: 2026-12-31}
            """, keeping: [122])
        XCTAssertFalse(plan.actions.contains { $0.kind == .setKnob }, "a waived finding is accepted")
        let migration = try XCTUnwrap(plan.actions.first { $0.kind == .migratePages })
        XCTAssertEqual(migration.fromNodes, IDSet([1]))
        XCTAssertEqual(migration.toNodes, IDSet([0]))
        XCTAssertEqual(migration.checks, ["workload.batch.memory.remote"])
        let restart = try XCTUnwrap(plan.actions.first { $0.kind == .restart })
        XCTAssertEqual(restart.status, .manual)
        XCTAssertEqual(restart.checks, ["workload.batch.memory.policy"])
        XCTAssertTrue(restart.reason?.contains("cannot change another process's memory policy") ?? false)
    }

    func testACompliantHostPlansNothingAndExitsZero() throws {
        let plan = try plan("""
            version: 1
            host: {kernel: {numa_balancing: normal}}
            workloads:
              - name: engine
                match: {cmdline: "^probe 64$"}
                protected: true
                memory: {policy: bind, nodes: [1]}
            """, keeping: [122])
        XCTAssertEqual(plan.actions, [])
        XCTAssertEqual(plan.status, .success)
        var incomplete = plan
        incomplete.unreadable = ["permission denied reading /proc/9/numa_maps"]
        XCTAssertEqual(incomplete.status, .incomplete, "nothing listed but something unread is never 'nothing to do'")
    }

    func testKnobsHugePagesBootArgumentsAndPersist() throws {
        let plan = try plan("""
            version: 1
            host:
              kernel: {numa_balancing: off, zone_reclaim_mode: 1, transparent_hugepage: never, cmdline: {forbid: [quiet]}}
              hugepages: [{node: 1, size: 2MiB, count: 16}, {node: 1, size: 1GiB, count: 1}]
            """, keeping: [], persist: .init(path: "/etc/sysctl.d/90-numaguard.conf", current: nil))
        let knobs = plan.actions.filter { $0.kind == .setKnob }
        XCTAssertEqual(knobs.map(\.subject), ["kernel.numa_balancing", "vm.zone_reclaim_mode", "transparent_hugepage.enabled",
                                             "node1.hugepages-2048kB.nr_hugepages", "node1.hugepages-1048576kB.nr_hugepages"])
        XCTAssertEqual(knobs.map(\.before), ["1", "0", "always", "0", "0"])
        XCTAssertEqual(knobs.map(\.after), ["0", "1", "never", "16", "1"])
        XCTAssertEqual(knobs[3].knob?.path, "sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages")
        XCTAssertEqual(knobs[2].requires, [Requirement("CAP_DAC_OVERRIDE", why: "/sys/kernel/mm/transparent_hugepage/enabled is root's, mode 0644", exceptUID: 0)])
        let persist = try XCTUnwrap(plan.actions.first { $0.kind == .persist })
        XCTAssertEqual(persist.value?.split(separator: "\n").dropFirst(), ["kernel.numa_balancing = 0", "vm.zone_reclaim_mode = 1"])
        XCTAssertEqual(persist.before, "absent")
        let manual = plan.actions.filter { $0.status == .manual }.flatMap(\.checks)
        XCTAssertEqual(manual, ["host.kernel.cmdline.forbid.quiet"])

        let again = try self.plan("version: 1\nhost: {kernel: {numa_balancing: normal, zone_reclaim_mode: 0}}\n", keeping: [],
                                  persist: .init(path: "/etc/sysctl.d/90-numaguard.conf", current: persist.value))
        XCTAssertNotNil(again.actions.first { $0.kind == .persist }, "another policy, other contents")
        let same = Planner.dropIn(try PolicyLoader.parse("version: 1\nhost: {kernel: {numa_balancing: off, zone_reclaim_mode: 1}}\n", file: "p"),
                                  kernel: KernelState(release: "", commandLine: "", numaBalancing: 1, zoneReclaimMode: 0,
                                                      transparentHugepage: nil, transparentHugepageDefrag: nil), digest: "sha256:0")
        XCTAssertEqual(same, persist.value, "the drop-in depends on the policy's values, not on where it was planned")
        XCTAssertNil(Planner.dropIn(try PolicyLoader.parse("version: 1\nhost: {kernel: {numa_balancing: off}}\n", file: "p"),
                                    kernel: KernelState(release: "", commandLine: "", numaBalancing: nil, zoneReclaimMode: 0,
                                                        transparentHugepage: nil, transparentHugepageDefrag: nil), digest: "d"),
                     "a sysctl the kernel lacks (RT) is never persisted")
    }

    func testNumaguardItselfIsNeverATarget() throws {
        let plan = try plan(Self.policy, selfPID: 152)
        XCTAssertFalse(plan.actions.contains { $0.process?.pid == 152 }, "\(plan.actions.map(\.subject))")
    }

    func testAProcessAnyProtectedWorkloadMatchesIsProtectedWhateverTheOrder() throws {
        // batch is listed first and owns PID 122's checks; engine, protected, matches it too.
        let plan = try plan("""
            version: 1
            workloads:
              - name: batch
                match: {cmdline: "^probe 64$"}
                cpus: {nodes: [0]}
                memory: {policy: bind, nodes: [0]}
              - name: engine
                match: {comm: probe}
                protected: true
            """, keeping: [122])
        XCTAssertFalse(plan.actions.contains { $0.process?.pid == 122 && $0.status == .pending }, "\(plan.actions)")
        let refusal = try XCTUnwrap(plan.actions.first { $0.process?.pid == 122 && $0.status == .refused })
        XCTAssertEqual(refusal.process?.protected, true)
        XCTAssertEqual(refusal.process?.workload, "engine", "named by the protected workload that matches")
        XCTAssertTrue(refusal.checks.contains("workload.batch.cpus"), "\(refusal.checks)")
        XCTAssertTrue(refusal.checks.contains("workload.batch.memory.remote"), "\(refusal.checks)")
    }

    func testRefusalsCarryWhatTheAuditSawAndWhatThePolicyWants() throws {
        let plan = try plan(Self.policy)
        let refusal = try XCTUnwrap(plan.actions.first { $0.status == .refused })
        XCTAssertTrue(refusal.before.hasPrefix("workload.engine.cpus: Cpus_allowed_list "), refusal.before)
        XCTAssertTrue(refusal.after.hasPrefix("workload.engine.cpus: every thread allowed only CPUs 0-1"), refusal.after)
        XCTAssertTrue(refusal.before.contains("; workload.engine.memory.policy: "), refusal.before)
        let text = EnforceText.render(plan, privileges: Privileges(uid: 0, effective: []))
        XCTAssertTrue(text.contains("    before: workload.engine.cpus: Cpus_allowed_list"), text)
        XCTAssertTrue(text.contains("    after:  workload.engine.cpus: every thread allowed only CPUs 0-1"), text)
        let results = ApplyReport(run: "r", command: "apply", results: [ActionResult(action: refusal, outcome: .refused, detail: "x")])
        XCTAssertTrue(EnforceText.render(results).contains("    before: workload.engine.cpus: "), EnforceText.render(results))
    }

    func testALastCPUFindingWithoutAnAffinityActionIsLeftToTheOperator() throws {
        // PID 152 is allowed CPUs 2-3 (node 1), as declared, but last ran on CPU 0.
        let host = try Fixtures.copy("linux-6.1-2node", keeping: [152])
        copies.append(host)
        let stat = host.appendingPathComponent("proc/152/task/152/stat")
        let text = try String(contentsOf: stat, encoding: .utf8)
        XCTAssertTrue(text.contains(" 17 3 0 0 0 "))
        try text.replacingOccurrences(of: " 17 3 0 0 0 ", with: " 17 0 0 0 0 ").write(to: stat, atomically: true, encoding: .utf8)
        let plan = try plan("""
            version: 1
            workloads:
              - name: batch
                match: {cmdline: "^probe 32 "}
                cpus: {nodes: [1]}
            """, root: host)
        XCTAssertNotEqual(plan.status, .success, "the audit fails: plan must not say nothing to do")
        let manual = try XCTUnwrap(plan.actions.first { $0.checks == ["workload.batch.threads.last_cpu"] }, "\(plan.actions)")
        XCTAssertEqual(manual.status, .manual)
        XCTAssertEqual(manual.before, "thread 152 on CPU 0")
        XCTAssertFalse(plan.actions.contains { $0.kind == .setAffinity })
    }

    func testEveryReservationHolderIsPlannedEvenWhenOneCannotMove() throws {
        // Both nodes reserved: no node to move the unclaimed 64 MiB holder (PID 122) to; the
        // protected feed (PID 152) behind it is still refused.
        let plan = try plan("""
            version: 1
            workloads:
              - name: engine
                match: {cmdline: "^never$"}
                protected: true
              - name: feed
                match: {cmdline: "^probe 32 "}
                protected: true
            reserve:
              - {node: 0, for: [engine], max_foreign_memory: 1GiB}
              - {node: 1, for: [engine], max_foreign_memory: 0}
            """, keeping: [122, 152])
        let left = try XCTUnwrap(plan.actions.first { $0.status == .manual && $0.checks == ["node.1.reserve"] }, "\(plan.actions)")
        XCTAssertTrue(left.reason?.contains("no unreserved node with memory to move PID 122") ?? false, left.reason ?? "")
        let refusal = try XCTUnwrap(plan.actions.first { $0.process?.pid == 152 }, "\(plan.actions.map(\.subject))")
        XCTAssertEqual(refusal.status, .refused)
        XCTAssertEqual(refusal.checks, ["node.1.reserve"])
    }

    func testSharedPagesStayWheneverThePolicyProtectsAWorkload() throws {
        let yaml = """
            version: 1
            workloads:
              - name: batch
                match: {cmdline: "^probe 64$"}
                memory: {policy: bind, nodes: [0]}
            """
        let unprotected = try XCTUnwrap(try plan(yaml, keeping: [122]).actions.first { $0.kind == .migratePages })
        XCTAssertEqual(unprotected.onlyUnshared, false)
        let guarded = yaml + "\n  - name: engine\n    match: {cmdline: \"^not running$\"}\n    protected: true\n"
        let migration = try XCTUnwrap(try plan(guarded, keeping: [122]).actions.first { $0.kind == .migratePages })
        XCTAssertEqual(migration.onlyUnshared, true, "a protected workload may start before apply runs")
    }

    func testAPlanSurvivesItsJSON() throws {
        let plan = try plan(Self.policy)
        let data = try JSONEncoder().encode(plan)
        XCTAssertEqual(try JSONDecoder().decode(Plan.self, from: data), plan)
    }
}
