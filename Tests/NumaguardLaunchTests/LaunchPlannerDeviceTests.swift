import NumaguardCore
@testable import NumaguardHost
@testable import NumaguardLaunch
import TestSupport
import XCTest

/// Device specifiers through the planner: the node a device gives is judged by the checks a
/// number gets; a device without one refuses with its reason. Over hand-built `LaunchHost`
/// values, then end to end over a kernel-shaped sysfs tree (`DeviceTree`).
final class LaunchPlannerDeviceTests: XCTestCase {
    private func host(_ devices: [LaunchDevice]) throws -> LaunchHost {
        var host = try LaunchFixtures.host("linux-6.1-2node")
        host.numaBalancing = 0
        host.devices = devices
        return host
    }

    private let eth0 = LaunchDevice(specifier: .netdev("eth0"), outcome: .node(1, device: "eth0 (/sys/devices/pci0000:20/0000:20:00.0)"))

    func testADeviceNodeIsPlacedLikeANumber() throws {
        let plan = try LaunchFixtures.plan(["-N", "netdev:eth0", "-m", "netdev:eth0"], on: try host([eth0]))
        XCTAssertEqual(plan.cpus, IDSet([2, 3]))
        XCTAssertEqual(plan.memory, MemoryPolicy(mode: .bind, nodes: IDSet([1])))
        XCTAssertEqual(plan.devices, [.init(specifier: "netdev:eth0", node: 1, readFrom: "eth0 (/sys/devices/pci0000:20/0000:20:00.0)")])
        XCTAssertEqual(try LaunchFixtures.plan(["-N", "0,netdev:eth0"], on: try host([eth0])).cpus, IDSet(0...3))
        XCTAssertEqual(try LaunchFixtures.plan(["-p", "netdev:eth0"], on: try host([eth0])).memory, MemoryPolicy(mode: .preferred, nodes: IDSet([1])))
        assertLaunchError(.refused, "preferred takes one node") { try LaunchFixtures.plan(["-p", "0,netdev:eth0"], on: try host([eth0])) }
        assertLaunchError(.refused, "--allow-interleave") { try LaunchFixtures.plan(["-i", "netdev:eth0"], on: try host([eth0])) }
    }

    func testARefusedDeviceRefusesTheLaunchNamingOptionSpecifierAndFile() throws {
        let missing = LaunchDevice(specifier: .netdev("eth9"), outcome: .refused("no /sys/class/net/eth9"))
        assertLaunchError(.refused, "-N netdev:eth9: no /sys/class/net/eth9") { try LaunchFixtures.plan(["-N", "netdev:eth9"], on: try host([missing])) }
        assertLaunchError(.refused, "--membind 0,netdev:eth9: no /sys/class/net/eth9") {
            try LaunchFixtures.plan(["--membind", "0,netdev:eth9"], on: try host([missing]))
        }
        XCTAssertEqual(LaunchError.refused("x").exitStatus.rawValue, 125)
        assertLaunchError(.failed, "netdev:eth0 was not read") { try LaunchFixtures.plan(["-N", "netdev:eth0"], on: try host([])) }
    }

    func testTheExistingChecksJudgeTheDeviceNode() throws {
        let far = LaunchDevice(specifier: .netdev("eth0"), outcome: .node(5, device: "eth0 (x)"))
        assertLaunchError(.refused, "-N netdev:eth0: node 5 does not exist or is offline") { try LaunchFixtures.plan(["-N", "netdev:eth0"], on: try host([far])) }
        var cpuless = try LaunchFixtures.host("linux-6.1-cpuless")
        cpuless.devices = [LaunchDevice(specifier: .block("nvme0n1"), outcome: .node(2, device: "nvme0n1 (x)"))]
        assertLaunchError(.refused, "-N block:nvme0n1: node 2 has no CPUs") { try LaunchFixtures.plan(["-N", "block:nvme0n1"], on: cpuless) }
        var confined = try host([eth0])
        confined.memsAllowed = IDSet([0])
        assertLaunchError(.refused, "-m netdev:eth0: node 1 is not allowed", "Mems_allowed_list") {
            try LaunchFixtures.plan(["-m", "netdev:eth0"], on: confined)
        }
    }

    func testADeviceOnNodeOneInsideACpusetOfOneNodeWorks() throws {
        // numactl refuses a node >= the weight of Mems_allowed (mems=1 has weight 1); numaguard judges the node itself.
        var cpuset = try host([eth0])
        cpuset.memsAllowed = IDSet([1])
        cpuset.cpusAllowed = IDSet([2, 3])
        let plan = try LaunchFixtures.plan(["-N", "netdev:eth0", "-m", "netdev:eth0"], on: cpuset)
        XCTAssertEqual(plan.memory.nodes, IDSet([1]))
        XCTAssertEqual(plan.cpus, IDSet([2, 3]))
    }

    func testTheDisagreementWarningIsCarried() throws {
        var device = eth0
        device.warning = "netdev:eth0: numactl's rule reads node 1 ..."
        let plan = try LaunchFixtures.plan(["-N", "netdev:eth0", "-m", "netdev:eth0"], on: try host([device]))
        XCTAssertEqual(plan.warnings.filter { $0.hasPrefix("netdev:eth0") }, [device.warning].compactMap { $0 }, "once, not per option")
    }

    // MARK: Over a sysfs tree

    private func prepare(_ arguments: [String], tree: DeviceTree) throws -> PreparedLaunch {
        let request = try LaunchArguments.parse(arguments + ["--dry-run", "--host-root", tree.path])
        return try Launcher.prepare(request, root: HostRoot(path: tree.path), policyDigest: nil, path: nil)
    }

    func testResolvedAsNumactlDoesOverAKernelShapedTree() throws {
        let tree = try DeviceTree.make()
        defer { tree.remove() }
        let eth0 = try prepare(["-N", "netdev:eth0", "-m", "block:nvme0n1"], tree: tree)
        XCTAssertEqual(eth0.plan.cpus, IDSet([2, 3]))
        XCTAssertEqual(eth0.plan.memory.nodes, IDSet([0]))
        XCTAssertEqual(eth0.plan.devices.map(\.readFrom), ["eth0 (\(tree.path)/sys/devices/pci0000:20/0000:20:00.0)",
                                                          "nvme0n1 (\(tree.path)/sys/devices/pci0000:10/0000:10:00.0)"],
                       "numactl's device: the first under the host bridge")
        XCTAssertTrue(LaunchText.dryRun(eth0, format: .text).contains("device:         netdev:eth0 is on node 1"))
        XCTAssertTrue(LaunchText.dryRun(eth0, format: .json).contains("\"devices\": [{\"specifier\":\"netdev:eth0\",\"node\":1,"))
        // pci: behind a bridge resolves (numactl fails: a divergence), by the function's own numa_node.
        XCTAssertEqual(try prepare(["-N", "pci:0000:21:00.0"], tree: tree).plan.cpus, IDSet([2, 3]))
        for (argument, fragment) in [("netdev:eth1", "reports numa_node -1"), ("netdev:lo", "lo has no bus device"),
                                     ("netdev:eth9", "no \(tree.path)/sys/class/net/eth9"),
                                     ("file:/etc/hostname", "--host-root describes another host"),
                                     ("ip:127.0.0.1", "--host-root describes another host")] {
            assertLaunchError(.refused, "-N \(argument): ", fragment) { try prepare(["-N", argument], tree: tree) }
        }
        // The endpoint reports another node than numactl's port: bound as numactl, with a warning naming both.
        try tree.write("sys/devices/pci0000:20/0000:20:00.0/numa_node", "0\n")
        let moved = try prepare(["-N", "netdev:eth0"], tree: tree)
        XCTAssertEqual(moved.plan.cpus, IDSet([0, 1]))
        XCTAssertTrue(moved.plan.warnings.contains { $0.contains("reports node 1; binding to node 0 as numactl does") }, "\(moved.plan.warnings)")
    }

    func testAPlainLaunchReadsNoDeviceFile() throws {
        let tree = try DeviceTree.make()
        defer { tree.remove() }
        let log = HostReadLog()
        let root = HostRoot(path: tree.path).observed(by: log)
        let request = try LaunchArguments.parse(["-m", "0", "-N", "0", "--dry-run", "--host-root", tree.path, "--", "x"])
        _ = try Launcher.prepare(request, root: root, policyDigest: nil, path: nil)
        XCTAssertFalse(log.paths.isEmpty)
        XCTAssertEqual(log.paths.filter { $0.contains("sys/class") || $0.contains("sys/bus") || $0.contains("pci") }, [])
        log.clear()
        let device = try LaunchArguments.parse(["-N", "netdev:eth0", "--dry-run", "--host-root", tree.path, "--", "x"])
        _ = try Launcher.prepare(device, root: root, policyDigest: nil, path: nil)
        XCTAssertTrue(log.paths.contains("sys/class/net/eth0"), "\(log.paths)")
    }
}
