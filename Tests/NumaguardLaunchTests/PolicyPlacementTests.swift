import NumaguardCore
import NumaguardHost
@testable import NumaguardLaunch
@testable import NumaguardLaunchPolicy
import NumaguardPolicy
import TestSupport
import XCTest

/// `run --policy P --workload W`: a workload's declared placement becomes the request the
/// equivalent numactl options make, so both forms pass the same checks on the same host.
final class PolicyPlacementTests: XCTestCase {
    private func loaded(_ text: String, file: String = "p.yaml") throws -> LoadedPolicy {
        LoadedPolicy(policy: try PolicyLoader.parse(text, file: file), file: file, digest: "d")
    }

    private func request(_ workload: String, _ policy: LoadedPolicy) throws -> LaunchRequest {
        let base = try LaunchArguments.parse(["--policy", policy.file, "--workload", workload, "--", "program"])
        return try PolicyPlacement.request(base, policy: policy)
    }

    private func shipped(_ name: String) throws -> LoadedPolicy {
        try PolicyLoader.load(file: LaunchFixtures.policiesDirectory + "/" + name, reading: InputFile.read)
    }

    private let engine = """
        version: 1
        workloads:
          - name: engine
            match: {comm: engine}
            cpus: {nodes: [1]}
            memory: {policy: bind, nodes: [1]}
          - name: feed
            match: {comm: feed}
            cpus: {nodes: [0, 1]}
          - name: pinned
            match: {comm: pinned}
            cpus: {cpulist: "2-3"}
          - name: spread
            match: {comm: spread}
            cpus: {nodes: [0]}
            memory: {policy: interleave, nodes: [0, 1], allow_interleave: true}
          - name: local
            match: {comm: local}
            memory: {policy: local}
          - name: anywhere
            match: {comm: anywhere}
        """

    func testWorkloadBecomesTheSameRequestAsFlags() throws {
        let policy = try loaded(engine)
        let fromPolicy = try request("engine", policy)
        let fromFlags = try LaunchArguments.parse(["-N", "1", "-m", "1", "--", "program"])
        XCTAssertEqual(fromPolicy.cpuNodes, fromFlags.cpuNodes)
        XCTAssertEqual(fromPolicy.memory?.mode, .bind)
        XCTAssertEqual(fromPolicy.memory?.nodes, fromFlags.memory?.nodes)
        XCTAssertEqual(fromPolicy.memory?.source, "workload \"engine\" of p.yaml")
        XCTAssertEqual(fromPolicy.command, ["program"])
        XCTAssertFalse(fromPolicy.requireBalancingOff, "the policy says nothing of numa_balancing")

        let host = try LaunchFixtures.host("linux-rt-2node")
        let planned = try LaunchPlanner.plan(fromPolicy, host: host, source: "policy")
        let flagged = try LaunchPlanner.plan(fromFlags, host: host, source: "flags")
        XCTAssertEqual(planned.cpus, flagged.cpus)
        XCTAssertEqual(planned.memory, flagged.memory)
        XCTAssertEqual(planned.cpus, IDSet([2, 3]))
        XCTAssertEqual(planned.memory.kernelSpelling, "bind:1")
    }

    func testNodeListsAreSpelledAsTheKernelDoes() throws {
        let feed = try request("feed", loaded(engine))
        XCTAssertEqual(feed.cpuNodes, try NumactlSet.parse("0-1", kind: .node, option: "-N"))
        XCTAssertEqual(feed.cpuNodes?.text, "0-1")
        let sparse = NumactlSet(explicit: IDSet([0, 2, 3, 5]), kind: .cpu)
        XCTAssertEqual(sparse.ids, IDSet([0, 2, 3, 5]))
        XCTAssertEqual(sparse.text, "0,2-3,5")
        XCTAssertEqual(try sparse.resolve(allowed: IDSet(0...7)).members, IDSet([0, 2, 3, 5]))
    }

    func testWithoutMemoryTheWorkloadIsBoundToItsCPUNodes() throws {
        let feed = try request("feed", loaded(engine))
        let memory = try XCTUnwrap(feed.memory)
        XCTAssertEqual(memory.mode, .bind)
        XCTAssertEqual(memory.nodes?.text, "0-1")
        XCTAssertEqual(memory.source, "workload \"feed\" of p.yaml (no memory declared: bound to its CPU nodes)")
        let plan = try LaunchPlanner.plan(feed, host: LaunchFixtures.host("linux-rt-2node"), source: "policy")
        XCTAssertEqual(plan.memory.kernelSpelling, "bind:0-1")
        XCTAssertEqual(plan.cpus, IDSet(0...3))

        // A cpulist names no node: the memory policy is left to the kernel's default.
        let pinned = try request("pinned", loaded(engine))
        XCTAssertEqual(pinned.physicalCPUs?.text, "2-3")
        XCTAssertNil(pinned.cpuNodes)
        XCTAssertNil(pinned.memory)

        let anywhere = try request("anywhere", loaded(engine))
        XCTAssertNil(anywhere.cpuNodes)
        XCTAssertNil(anywhere.physicalCPUs)
        XCTAssertNil(anywhere.memory)

        let local = try request("local", loaded(engine))
        XCTAssertEqual(local.memory?.mode, .local)
        XCTAssertNil(local.memory?.nodes)
    }

    func testAllowInterleaveCarriesOver() throws {
        let spread = try request("spread", loaded(engine))
        XCTAssertEqual(spread.memory?.mode, .interleave)
        XCTAssertTrue(spread.allowInterleave)
        let plan = try LaunchPlanner.plan(spread, host: LaunchFixtures.host("linux-rt-2node"), source: "policy")
        XCTAssertEqual(plan.memory.kernelSpelling, "interleave:0-1")
        XCTAssertFalse(try request("engine", loaded(engine)).allowInterleave)
    }

    func testBalancingOffInThePolicyIsRequiredAtLaunch() throws {
        for (setting, required) in [("off", true), ("normal", false), ("tiering", false)] {
            let text = "version: 1\nhost:\n  kernel:\n    numa_balancing: \(setting)\n" + engine.dropFirst("version: 1\n".count)
            XCTAssertEqual(try request("engine", loaded(text)).requireBalancingOff, required, setting)
        }
        let text = "version: 1\nhost:\n  kernel: {numa_balancing: off}\n" + engine.dropFirst("version: 1\n".count)
        let strict = try request("engine", loaded(text))
        assertLaunchError(.refused, "kernel.numa_balancing is 1") {
            try LaunchPlanner.plan(strict, host: LaunchFixtures.host("linux-6.1-2node"), source: "policy")
        }
        XCTAssertNoThrow(try LaunchPlanner.plan(strict, host: LaunchFixtures.host("linux-rt-2node"), source: "policy"))
    }

    func testHeadroomRulesBecomePerNodeMinimums() throws {
        let text = """
            version: 1
            host:
              headroom: [{node: 0, min_free: 50%}, {node: 1, min_free: 400MiB}, {node: 2, min_free: 2x protected}]
            workloads:
              - {name: zero, match: {comm: zero}, cpus: {nodes: [0]}}
              - {name: one, match: {comm: one}, cpus: {nodes: [1]}}
            """
        let zero = try request("zero", loaded(text))
        XCTAssertEqual(zero.headroom, [0: .percent(50), 1: .bytes(400 << 20)], "a multiple of protected memory needs the program running")
        XCTAssertNil(zero.minFree, "headroom is per node, not the command line's --min-free")

        // linux-6.1-2node: node 0 has 354008 of 469116 kB free (75%), node 1 330236 kB (< 400 MiB).
        let host = try LaunchFixtures.host("linux-6.1-2node")
        XCTAssertEqual(try LaunchPlanner.plan(zero, host: host, source: "policy").memory.kernelSpelling, "bind:0",
                       "node 1's rule is not checked for memory on node 0")
        XCTAssertEqual(
            assertLaunchError(.refused) { try LaunchPlanner.plan(request("one", loaded(text)), host: host, source: "policy") },
            "node 1 has 322.5 MiB free of 503.2 MiB; the policy's headroom 400 MiB requires 400 MiB"
        )
    }

    func testUnknownWorkloadListsTheDeclaredOnes() throws {
        XCTAssertEqual(
            assertLaunchError(.usage) { try request("engin", loaded(engine)) },
            "--workload engin: p.yaml declares no such workload (it declares: engine, feed, pinned, spread, local, anywhere)"
        )
        assertLaunchError(.usage, "--workload x: p.yaml declares no such workload (it declares: none)") {
            try request("x", loaded("version: 1\n"))
        }
    }

    // MARK: The shipped policies

    func testTradingHostEngineOnTheRecordedGuests() throws {
        let policy = try shipped("trading-host.yaml")
        let engine = try request("trading-engine", policy)
        XCTAssertTrue(engine.requireBalancingOff)
        XCTAssertEqual(engine.headroom, [:], "its only headroom rule is 2x protected")
        let plan = try LaunchPlanner.plan(engine, host: LaunchFixtures.host("linux-rt-2node"), source: "policy")
        XCTAssertEqual(plan.cpus, IDSet([0, 1]))
        XCTAssertEqual(plan.memory.kernelSpelling, "bind:0")
        assertLaunchError(.refused, "kernel.numa_balancing is 1") {
            try LaunchPlanner.plan(engine, host: LaunchFixtures.host("linux-6.12-2node"), source: "policy")
        }
        let analytics = try LaunchPlanner.plan(request("analytics", policy), host: LaunchFixtures.host("linux-rt-2node"), source: "policy")
        XCTAssertEqual(analytics.cpus, IDSet([2, 3]))
        XCTAssertEqual(analytics.memory.kernelSpelling, "bind:1")
    }

    func testBatchIsolationHeadroomGuardsTheLatencyNode() throws {
        let policy = try shipped("batch-isolation.yaml")
        let latency = try request("latency-service", policy)
        XCTAssertEqual(latency.headroom, [0: .percent(25)])
        var host = try LaunchFixtures.host("linux-rt-2node")
        XCTAssertEqual(try LaunchPlanner.plan(latency, host: host, source: "policy").memory.kernelSpelling, "bind:0")
        // The same guest with node 0 nearly full: 20% free is below the policy's 25%.
        host.nodes[0].memory?.free = 469_148 * 1024 / 5
        assertLaunchError(.refused, "node 0 has 91.6 MiB free of 458.2 MiB; the policy's headroom 25.0% requires 114.5 MiB") {
            try LaunchPlanner.plan(latency, host: host, source: "policy")
        }
        XCTAssertNoThrow(try LaunchPlanner.plan(request("batch", policy), host: host, source: "policy"),
                         "the batch's memory is on node 1: node 0's headroom is not its concern")
    }

    func testResolveLoadsTheFileAndReportsItsDigest() throws {
        let path = LaunchFixtures.policiesDirectory + "/batch-isolation.yaml"
        let base = try LaunchArguments.parse(["--policy", path, "--workload", "batch", "--", "runner"])
        let (request, digest) = try PolicyPlacement.resolve(base)
        XCTAssertEqual(digest, try PolicyLoader.load(file: path, reading: InputFile.read).digest)
        XCTAssertEqual(digest.count, 64)
        XCTAssertEqual(request.cpuNodes?.text, "1")
        // A file that cannot be read names the errno, not an invented line:col (still 125: before exec).
        assertLaunchError(.refused, "cannot read the policy /nonexistent/p.yaml: No such file or directory; nothing was executed") {
            try PolicyPlacement.resolve(LaunchArguments.parse(["--policy", "/nonexistent/p.yaml", "--workload", "w", "--", "x"]))
        }
    }
}
