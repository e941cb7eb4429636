import NumaguardCore
@testable import NumaguardHost
@testable import NumaguardLaunch
import TestSupport
import XCTest

/// The checks between a command line and a launch, over hosts recorded from real kernels
/// (read through the reader the live host uses) and over hand-built hosts for what a
/// recording cannot show: a cgroup cpuset, isolated CPUs, an old kernel.
final class LaunchPlannerTests: XCTestCase {
    private func plan(_ arguments: String..., on host: LaunchHost) throws -> LaunchPlan {
        try LaunchFixtures.plan(arguments, on: host)
    }

    private let balancingWarning = "kernel.numa_balancing is 1: the kernel takes NUMA hinting faults on this process "
        + "and may migrate its default-policy pages; set it to 0 for pinned latency work"

    // MARK: Reading a recorded host

    func testRecordedHostsReadAsTheLauncherNeedsThem() throws {
        let host = try LaunchFixtures.host("linux-6.1-2node")
        XCTAssertEqual(host.onlineNodes, IDSet([0, 1]))
        XCTAssertEqual(host.nodes.map(\.id), [0, 1])
        XCTAssertEqual(host.nodes.map(\.cpus), [IDSet([0, 1]), IDSet([2, 3])])
        XCTAssertEqual(host.cpusAllowed, IDSet(0...3), "a captured host has no proc/self: its online CPUs stand in")
        XCTAssertEqual(host.memsAllowed, IDSet([0, 1]))
        XCTAssertNil(host.cpuset)
        XCTAssertEqual(host.allowedSource, "the captured host's online CPUs and nodes (it has no proc/self)")
        XCTAssertEqual(host.kernelRelease, "6.1.0-56-amd64")
        XCTAssertEqual(host.numaBalancing, 1)
        XCTAssertEqual(host.isolatedCPUs, IDSet())
        XCTAssertEqual(host.node(1)?.memory, NodeMemory(total: 515_244 * 1024, free: 330_236 * 1024), "node1/meminfo")
        XCTAssertEqual(host.node(0)?.memory, NodeMemory(total: 469_116 * 1024, free: 354_008 * 1024), "node0/meminfo")

        let cpuless = try LaunchFixtures.host("linux-6.1-cpuless")
        XCTAssertEqual(cpuless.onlineNodes, IDSet(0...2))
        XCTAssertEqual(cpuless.nodesWithCPU, IDSet([0, 1]))
        XCTAssertEqual(cpuless.nodesWithMemory, IDSet(0...2))
        XCTAssertEqual(cpuless.node(2), LaunchNode(id: 2, cpus: IDSet(), memory: NodeMemory(total: 257_692 * 1024, free: 213_604 * 1024)))
        XCTAssertNil(try LaunchHostReader.read(HostRoot(path: Fixtures.path("linux-6.1-cpuless")), memory: false).node(2)?.memory,
                     "meminfo is read only when a check needs it")
        XCTAssertNil(try LaunchFixtures.host("linux-rt-2node").numaBalancing, "the RT kernel has no numa_balancing sysctl")
        XCTAssertEqual(try LaunchFixtures.host("linux-6.12-2node").kernelRelease, "6.12.117+deb12-amd64")
    }

    // MARK: Placement on recorded hosts

    func testMembindAndCpunodebindOnOneNode() throws {
        let one = try plan("-m", "1", "-N", "1", on: LaunchFixtures.host("linux-rt-2node"))
        XCTAssertEqual(one.memory.kernelSpelling, "bind:1")
        XCTAssertEqual(one.memory, MemoryPolicy(mode: .bind, nodes: IDSet([1])))
        XCTAssertEqual(one.cpus, IDSet([2, 3]), "node 1's CPUs in the recorded guest")
        XCTAssertEqual(one.cpuNodes, IDSet([1]))
        XCTAssertEqual(one.warnings, [])
        XCTAssertEqual(one.source, "-N 1 -m 1")

        let four = try plan("--membind=!0", "--cpunodebind=+3", on: LaunchFixtures.host("linux-6.1-4node-asym"))
        XCTAssertEqual(four.memory.kernelSpelling, "bind:1-3")
        XCTAssertEqual(four.cpus, IDSet([3]))
        XCTAssertEqual(four.cpuNodes, IDSet([3]))
        XCTAssertEqual(try plan("-N", "all", on: LaunchFixtures.host("linux-6.1-4node-asym")).cpus, IDSet(0...3))
        XCTAssertEqual(try plan("-m", "all", "--static-nodes", on: LaunchFixtures.host("linux-rt-2node")).memory.kernelSpelling,
                       "bind=static:0-1")
    }

    func testNoMemoryOptionSetsTheDefaultPolicyExplicitly() throws {
        let host = try LaunchFixtures.host("linux-6.1-2node")
        let plain = try plan(on: host)
        XCTAssertEqual(plain.memory, .default)
        XCTAssertEqual(plain.memory.kernelSpelling, "default")
        XCTAssertNil(plain.cpus, "no CPU option: the inherited affinity stays, as under numactl")
        XCTAssertEqual(plain.warnings, [], "nothing pinned: NUMA balancing undoes nothing")
        XCTAssertEqual(plain.source, "no placement options (memory policy reset to default)")

        let cpusOnly = try plan("-N", "0", on: host)
        XCTAssertEqual(cpusOnly.memory, .default, "-N alone resets an inherited memory policy too")
        XCTAssertEqual(cpusOnly.cpus, IDSet([0, 1]))
        XCTAssertEqual(try plan("-l", on: host).memory, MemoryPolicy(mode: .local))
    }

    func testNodesThatDoNotExistAreRefusedNamingTheOnlineNodes() throws {
        let host = try LaunchFixtures.host("linux-6.1-2node")
        XCTAssertEqual(
            assertLaunchError(.refused) { try plan("-m", "2", on: host) },
            "-m 2: node 2 does not exist or is offline (online nodes: 0-1)"
        )
        assertLaunchError(.refused, "--membind 1-3: nodes 2-3 do not exist or are offline (online nodes: 0-1)") {
            try plan("--membind", "1-3", on: host)
        }
        assertLaunchError(.refused, "-N 7: node 7 does not exist or is offline (online nodes: 0-1)") {
            try plan("-N", "7", on: host)
        }
        assertLaunchError(.refused, "-C 4-5: CPUs 4-5 do not exist or are offline (online CPUs: 0-3)") {
            try plan("-C", "4-5", on: host)
        }
        assertLaunchError(.refused, "-m !all names no node") { try plan("-m", "!all", on: host) }
        assertLaunchError(.refused, "-C !0-3 names no CPU") { try plan("-C", "!0-3", on: host) }
    }

    func testMemoryOnlyNode() throws {
        let host = try LaunchFixtures.host("linux-6.1-cpuless")
        assertLaunchError(.refused, "-N 2: node 2 has no CPUs (a memory-only node); nodes with CPUs: 0-1") {
            try plan("-N", "2", on: host)
        }
        assertLaunchError(.refused, "-N 1-2: node 2 has no CPUs") { try plan("-N", "1-2", on: host) }
        let memoryOnly = try plan("-m", "2", "-N", "0", on: host)
        XCTAssertEqual(memoryOnly.memory.kernelSpelling, "bind:2", "memory on the CPU-less node is what it is for")
        XCTAssertEqual(memoryOnly.cpus, IDSet([0, 1]))
        // -N all means the nodes whose CPUs this process may use: the memory-only node is not one.
        XCTAssertEqual(try plan("-N", "all", on: host).cpuNodes, IDSet([0, 1]))
        XCTAssertEqual(try plan("-m", "all", on: host).memory.kernelSpelling, "bind:0-2")
    }

    func testInterleaveNeedsAllowInterleave() throws {
        let host = try LaunchFixtures.host("linux-rt-2node")
        assertLaunchError(.refused, "-i all: interleave spreads every page over several nodes and is inherited by every child process",
                          "pass --allow-interleave (or allow_interleave in the policy)") {
            try plan("-i", "all", on: host)
        }
        assertLaunchError(.refused, "--interleave 0-1", "--allow-interleave") { try plan("--interleave", "0-1", on: host) }
        XCTAssertEqual(try plan("-i", "all", "--allow-interleave", on: host).memory.kernelSpelling, "interleave:0-1")
    }

    func testPreferredTakesOneNode() throws {
        let host = try LaunchFixtures.host("linux-rt-2node")
        assertLaunchError(.refused, "-p 0,1: preferred takes one node (0-1 given); use --preferred-many for several") {
            try plan("-p", "0,1", on: host)
        }
        XCTAssertEqual(try plan("-p", "1", on: host).memory.kernelSpelling, "prefer:1")
        XCTAssertEqual(try plan("-p", "!0", on: host).memory.kernelSpelling, "prefer:1")
    }

    func testModesNewerThanTheKernelAreRefusedWithTheVersion() throws {
        let six1 = try LaunchFixtures.host("linux-6.1-2node")
        XCTAssertEqual(try plan("-P", "0,1", on: six1).memory.kernelSpelling, "prefer (many):0-1", "5.15+")
        assertLaunchError(.refused, "weighted-interleave needs Linux 6.9 or later; this kernel is 6.1.0-56-amd64") {
            try plan("-w", "0-1", "--allow-interleave", on: six1)
        }
        let six12 = try LaunchFixtures.host("linux-6.12-2node")
        XCTAssertEqual(try plan("-w", "0-1", "--allow-interleave", on: six12).memory.kernelSpelling, "weighted interleave:0-1")
        assertLaunchError(.refused, "--allow-interleave") { try plan("-w", "0-1", on: six12) }

        var old = six1
        old.kernelRelease = "5.10.0-28-amd64"
        assertLaunchError(.refused, "preferred-many needs Linux 5.15 or later; this kernel is 5.10.0-28-amd64") {
            try plan("-P", "0-1", on: old)
        }
        old.kernelRelease = "6.9.0"
        XCTAssertEqual(try plan("-w", "all", "--allow-interleave", on: old).memory.mode, .weightedInterleave, "6.9 itself is enough")
        old.kernelRelease = "6.8.12-1-pve"
        assertLaunchError(.refused, "needs Linux 6.9 or later; this kernel is 6.8.12-1-pve") {
            try plan("-w", "all", "--allow-interleave", on: old)
        }
        old.kernelRelease = "3.7.10"
        assertLaunchError(.refused, "local needs Linux 3.8 or later") { try plan("-l", on: old) }
    }

    // MARK: NUMA balancing

    func testBalancingOnWarnsOrRefuses() throws {
        let host = try LaunchFixtures.host("linux-6.1-2node")
        XCTAssertEqual(try plan("-m", "0", on: host).warnings, [balancingWarning])
        XCTAssertEqual(try plan("-N", "1", on: host).warnings, [balancingWarning])
        XCTAssertEqual(
            assertLaunchError(.refused) { try plan("-m", "0", "--require-balancing-off", on: host) },
            balancingWarning
        )
        // A requirement is a requirement even with nothing pinned.
        assertLaunchError(.refused, "kernel.numa_balancing is 1") { try plan("--require-balancing-off", on: host) }
        assertLaunchError(.refused, "kernel.numa_balancing is 1") {
            try plan("-m", "1", "--require-balancing-off", on: LaunchFixtures.host("linux-6.12-2node"))
        }
        var tiering = host
        tiering.numaBalancing = 2
        assertLaunchError(.refused, "kernel.numa_balancing is 2") { try plan("-m", "0", "--require-balancing-off", on: tiering) }
        tiering.numaBalancing = 0
        XCTAssertEqual(try plan("-m", "0", "--require-balancing-off", on: tiering).warnings, [])
    }

    func testNoBalancingSysctlGivesNoWarning() throws {
        let rt = try LaunchFixtures.host("linux-rt-2node")
        XCTAssertEqual(try plan("-m", "1", "-N", "1", on: rt).warnings, [])
        XCTAssertEqual(try plan("-m", "1", "--require-balancing-off", on: rt).memory.kernelSpelling, "bind:1",
                       "a kernel without NUMA balancing satisfies the requirement")
    }

    // MARK: Free memory

    func testMinFreeTooLargeIsRefusedNamingNodeFreeAndRequired() throws {
        let host = try LaunchFixtures.host("linux-6.1-2node")
        // node1/meminfo: MemTotal 515244 kB, MemFree 330236 kB.
        XCTAssertEqual(
            assertLaunchError(.refused) { try plan("-m", "1", "--min-free", "1GiB", on: host) },
            "node 1 has 322.5 MiB free of 503.2 MiB; --min-free 1 GiB requires 1 GiB"
        )
        XCTAssertNoThrow(try plan("-m", "1", "--min-free", "322MiB", on: host))
        XCTAssertEqual(
            assertLaunchError(.refused) { try plan("-m", "1", "--min-free", "330237KiB", on: host) },
            "node 1 has 338161664 bytes free of 503.2 MiB; --min-free 322.5 MiB requires 338162688 bytes",
            "a shortfall smaller than the rounding is said in bytes"
        )
        XCTAssertNoThrow(try plan("-m", "1", "--min-free", "330236KiB", on: host), "exactly the free memory is enough")
        // 64.1% of node 1 is free.
        XCTAssertNoThrow(try plan("-m", "1", "--min-free", "64%", on: host))
        assertLaunchError(.refused, "node 1 has 322.5 MiB free of 503.2 MiB; --min-free 65.0% requires 327.1 MiB") {
            try plan("-m", "1", "--min-free", "65%", on: host)
        }
    }

    func testMinFreeChecksTheNodesTheMemoryWillComeFrom() throws {
        let host = try LaunchFixtures.host("linux-rt-2node")
        // node0 MemFree 422544 kB, node1 470480 kB.
        let between = "450000KiB"
        XCTAssertNoThrow(try plan("-m", "1", "--min-free", between, on: host))
        assertLaunchError(.refused, "node 0 has") { try plan("-m", "0", "--min-free", between, on: host) }
        // Default policy: the nodes of the CPUs it runs on; with no CPU option, every allowed node.
        XCTAssertNoThrow(try plan("-N", "1", "--min-free", between, on: host))
        assertLaunchError(.refused, "node 0 has") { try plan("-N", "0", "--min-free", between, on: host) }
        assertLaunchError(.refused, "node 0 has") { try plan("--min-free", between, on: host) }
        assertLaunchError(.refused, "node 0 has") { try plan("-l", "-C", "1", "--min-free", between, on: host) }
    }

    // MARK: CPUs

    func testPhysicalCPUsOutsideTheNodesAreRefused() throws {
        let host = try LaunchFixtures.host("linux-rt-2node")
        assertLaunchError(.refused, "-C 0: CPU 0 is not on the -N nodes (their allowed CPUs: 2-3)") {
            try plan("-N", "1", "-C", "0", on: host)
        }
        assertLaunchError(.refused, "-C 1-2: CPU 1 is not on the -N nodes") { try plan("-N", "1", "-C", "1-2", on: host) }
        let inside = try plan("-N", "1", "-C", "3", on: host)
        XCTAssertEqual(inside.cpus, IDSet([3]))
        XCTAssertEqual(inside.cpuNodes, IDSet([1]))
        XCTAssertEqual(try plan("-C", "+1-2", on: host).cpus, IDSet([1, 2]))
        XCTAssertEqual(try plan("-C", "1-2", on: host).cpuNodes, IDSet([0, 1]))
    }

    // MARK: Hand-built hosts: a cgroup cpuset

    /// The RT guest as a process in a cgroup whose cpuset allows `cpus` and `mems` sees it.
    private func confined(cpus: IDSet, mems: IDSet, path: String = "/trading.slice/engine.service") throws -> LaunchHost {
        var host = try LaunchFixtures.host("linux-rt-2node")
        host.cpusAllowed = cpus
        host.affinity = cpus
        host.memsAllowed = mems
        host.cpuset = CgroupCpuset(path: path, cpus: cpus, mems: mems)
        host.allowedSource = "this process (/proc/self/status)"
        return host
    }

    func testCpusetRefusalsNameTheCgroupAndItsFiles() throws {
        let host = try confined(cpus: IDSet([0, 1]), mems: IDSet([0]))
        let fix = "run numaguard in a cgroup whose cpuset includes them"
        XCTAssertEqual(
            assertLaunchError(.refused) { try plan("-N", "1", on: host) },
            "-N 1: none of the CPUs of node 1 (2-3) is allowed: this process's cgroup /trading.slice/engine.service "
                + "allows CPUs 0-1 (cpuset.cpus.effective); \(fix)"
        )
        XCTAssertEqual(
            assertLaunchError(.refused) { try plan("-m", "1", on: host) },
            "-m 1: node 1 is not allowed: this process's cgroup /trading.slice/engine.service allows nodes 0 (cpuset.mems.effective); \(fix)"
        )
        XCTAssertEqual(
            assertLaunchError(.refused) { try plan("-C", "2-3", on: host) },
            "-C 2-3: CPUs 2-3 are not allowed: this process's cgroup /trading.slice/engine.service "
                + "allows CPUs 0-1 (cpuset.cpus.effective); \(fix)"
        )
        assertLaunchError(.refused, "+1: the cpuset allows only 1 node (0), so relative index 1 does not exist") {
            try plan("-N", "+1", on: host)
        }
        // What the cpuset allows still works, and `all` means the cpuset's share.
        let inside = try plan("-N", "all", "-m", "all", on: host)
        XCTAssertEqual(inside.cpus, IDSet([0, 1]))
        XCTAssertEqual(inside.memory.kernelSpelling, "bind:0")
        XCTAssertEqual(try plan("-C", "+1", on: host).cpus, IDSet([1]))
    }

    func testWithoutACgroupTheProcessSetsExplain() throws {
        var host = try confined(cpus: IDSet([0, 1]), mems: IDSet([0]))
        host.cpuset = nil
        assertLaunchError(.refused, "this process may use CPUs 0-1 (Cpus_allowed_list of this process (/proc/self/status))") {
            try plan("-C", "3", on: host)
        }
        assertLaunchError(.refused, "this process may use nodes 0 (Mems_allowed_list of this process (/proc/self/status))") {
            try plan("-m", "1", on: host)
        }
    }

    func testNodeCPUsPartlyOutsideTheCpusetWarnWhollyOutsideRefuse() throws {
        let partly = try confined(cpus: IDSet(0...2), mems: IDSet([0, 1]))
        let narrowed = try plan("-N", "1", on: partly)
        XCTAssertEqual(narrowed.cpus, IDSet([2]), "only the allowed CPUs of the node are set")
        XCTAssertEqual(narrowed.warnings, [
            "-N 1: CPU 3 of node 1 is outside the allowed CPUs and is left out: this process's cgroup "
                + "/trading.slice/engine.service allows CPUs 0-2 (cpuset.cpus.effective); run numaguard in a cgroup whose cpuset includes them",
        ])

        var wide = try confined(cpus: IDSet(0...5), mems: IDSet([0, 1]))
        wide.nodes = [LaunchNode(id: 0, cpus: IDSet(0...3)), LaunchNode(id: 1, cpus: IDSet(4...7))]
        let two = try plan("-N", "1", on: wide)
        XCTAssertEqual(two.cpus, IDSet([4, 5]))
        XCTAssertEqual(two.warnings.count, 1)
        XCTAssertTrue(two.warnings[0].hasPrefix("-N 1: CPUs 6-7 of node 1 are outside the allowed CPUs and are left out: "), two.warnings[0])

        let wholly = try confined(cpus: IDSet([0]), mems: IDSet([0, 1]))
        assertLaunchError(.refused, "-N 1: none of the CPUs of node 1 (2-3) is allowed", "allows CPUs 0 (cpuset.cpus.effective)") {
            try plan("-N", "1", on: wholly)
        }
    }

    // MARK: Hand-built hosts: isolated CPUs

    func testIsolatedCPUWarnings() throws {
        var host = try LaunchFixtures.host("linux-rt-2node")
        host.isolatedCPUs = IDSet([2, 3])
        XCTAssertEqual(try plan("-N", "1", on: host).warnings, [
            "CPUs 2-3 are all isolated (isolcpus): the scheduler does not balance threads across them, "
                + "so each thread stays where it starts; pin threads individually",
        ])
        XCTAssertEqual(try plan("-C", "1-2", on: host).warnings, [
            "CPU 2 is isolated (isolcpus) and CPU 1 is not: the scheduler does not balance threads onto the isolated ones",
        ])
        XCTAssertEqual(try plan("-N", "all", on: host).warnings, [
            "CPUs 2-3 are isolated (isolcpus) and CPUs 0-1 are not: the scheduler does not balance threads onto the isolated ones",
        ])
        XCTAssertEqual(try plan("-C", "2", on: host).warnings, [], "one isolated CPU is the usual pinning")
        XCTAssertEqual(try plan("-N", "0", on: host).warnings, [])
        XCTAssertEqual(try plan("-m", "1", on: host).warnings, [], "no CPU option: the affinity is not numaguard's choice")
    }
}
