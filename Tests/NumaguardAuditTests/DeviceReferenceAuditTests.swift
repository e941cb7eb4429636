import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import XCTest

/// Device references in workloads' node lists: resolved before anything is judged, one
/// `workload.NAME.device` finding per reference, and a workload whose reference gives no node
/// keeps no placement (its cpus and memory are never judged against an empty set).
final class DeviceReferenceAuditTests: XCTestCase {
    private let policy = """
        version: 1
        workloads:
          - name: engine
            match: {comm: engine}
            cpus: {nodes: ["netdev:eth0"]}
            memory: {policy: bind, nodes: ["netdev:eth0"]}
        """

    /// One engine process allowed CPUs 2-3 (node 1), memory bound to node 1.
    private func state(_ eth0: Result<Int, DeviceRefusal>?) -> HostState {
        var state = DeviceHost.state()
        if let eth0 { state.deviceNodes[.netdev("eth0")] = eth0 }
        var tally = MemoryTally()
        for mapping in (try? NumaMapsParser.parse("7f0000000000 bind:1 anon=8 dirty=8 N1=8 kernelpagesize_kB=4")) ?? [] { tally.add(mapping) }
        let snapshot = ProcessSnapshot(
            identity: ProcessIdentity(pid: 40, startTime: 1), comm: "engine", exe: nil, cmdline: [], uid: 0, cgroups: [],
            cpusAllowed: IDSet([2, 3]), memsAllowed: IDSet([0, 1]),
            threads: [ThreadPlacement(tid: 40, comm: "engine", lastCPU: 2, cpusAllowed: IDSet([2, 3]))], memory: tally, residentBytes: nil)
        state.members["engine"] = [WorkloadProcess(snapshot: snapshot, cpuset: nil)]
        return state
    }

    private func findings(_ eth0: Result<Int, DeviceRefusal>?) throws -> [Finding] {
        Evaluation.findings(try DeviceHost.loaded(policy), state(eth0))
    }

    func testAResolvedReferenceIsJudgedAsItsNode() throws {
        let onOne = try findings(.success(1))
        XCTAssertEqual(onOne.first?.check, "workload.engine.device")
        XCTAssertEqual(onOne.first?.outcome, .pass)
        XCTAssertEqual(onOne.first?.subject, "netdev:eth0")
        XCTAssertEqual(onOne.first?.actual, "node 1")
        XCTAssertEqual(onOne.first { $0.check == "workload.engine.cpus" }?.outcome, .pass)
        XCTAssertEqual(onOne.first { $0.check == "workload.engine.memory.policy" }?.outcome, .pass)
        // The same policy on a host where eth0 sits on node 0: the process is now misplaced.
        let onZero = try findings(.success(0))
        let cpus = try XCTUnwrap(onZero.first { $0.check == "workload.engine.cpus" })
        XCTAssertEqual(cpus.outcome, .fail)
        XCTAssertEqual(cpus.expected, "every thread allowed only CPUs 0-1")
        XCTAssertEqual(onZero.first { $0.check == "workload.engine.memory.policy" }?.expected, "bind:0 on every mapping")
    }

    func testAnUnresolvedReferenceFailsAndSkipsThePlacementChecks() throws {
        let cases: [(Result<Int, DeviceRefusal>?, Outcome, String, String)] = [
            (.failure(.unknown(.netdev("eth0"), path: "/sys/class/net/eth0")), .fail, "netdev:eth0: no /sys/class/net/eth0",
             "check the name (numaguard snapshot lists the devices it sees), or change the policy"),
            (.failure(.noLocality(.netdev("eth0"), device: "eth0 (0000:00:02.0)")), .fail,
             "netdev:eth0: eth0 (0000:00:02.0) reports numa_node -1: the firmware gives no locality",
             "enable NUMA/SRAT/_PXM reporting in the BIOS, or name the node by number"),
            (.failure(.virtual(.netdev("eth0"), device: "eth0")), .fail,
             "netdev:eth0: eth0 has no bus device (a virtual device: loopback, VLAN, bond, bridge, dm-*, md, an NVMe multipath head)",
             "name the device it runs over (the physical NIC or disk) instead"),
            (.failure(.unreadable(.netdev("eth0"), .unreadable(path: "sys/class/net/eth0", errno: .accessDenied))), .incomplete,
             "netdev:eth0: cannot read sys/class/net/eth0: ", "run numaguard as root; see the error"),
            (nil, .incomplete, "its device links were not read", "audit with the policy that names it"),
        ]
        for (resolution, outcome, actual, remediation) in cases {
            let result = try findings(resolution)
            XCTAssertEqual(result.map(\.check), ["workload.engine.device"], "\(String(describing: resolution))")
            let finding = try XCTUnwrap(result.first)
            XCTAssertEqual(finding.outcome, outcome, actual)
            XCTAssertEqual(finding.severity, .critical)
            XCTAssertTrue(finding.actual.hasPrefix(actual), finding.actual)
            XCTAssertTrue(finding.actual.hasSuffix("; workload engine's cpus and memory are not judged"), finding.actual)
            XCTAssertEqual(finding.remediation, remediation)
        }
    }

    func testTheRunningCountIsStillJudged() throws {
        let loaded = try DeviceHost.loaded(policy.replacingOccurrences(of: "match: {comm: engine}", with: "match: {comm: engine}\n    running: {min: 2}"))
        let result = Evaluation.findings(loaded, state(.failure(.unknown(.netdev("eth0"), path: "/sys/class/net/eth0"))))
        XCTAssertEqual(result.map(\.check), ["workload.engine.device", "workload.engine.running"])
    }

    func testPreferredResolvingToTwoNodesFails() throws {
        let loaded = try DeviceHost.loaded("""
            version: 1
            workloads:
              - {name: engine, match: {comm: engine}, memory: {policy: preferred, nodes: [0, "netdev:eth0"]}}
            """)
        var host = state(.success(1))
        let result = Evaluation.findings(loaded, host)
        XCTAssertEqual(result.map(\.check), ["workload.engine.device"])
        XCTAssertEqual(result.first?.actual, "nodes 0-1 once netdev:eth0 resolved; workload engine's cpus and memory are not judged")
        XCTAssertEqual(result.first?.remediation, "use preferred-many, or name a single node or device")
        host.deviceNodes[.netdev("eth0")] = .success(0)
        XCTAssertEqual(Evaluation.findings(loaded, host).first { $0.check == "workload.engine.memory.policy" }?.expected,
                       "prefer:0 on every mapping", "one node once resolved")
    }

    func testThePolicyAsJudgedIsWhatThePlannerGets() throws {
        let loaded = try DeviceHost.loaded(policy)
        let resolved = DeviceResolution.resolve(loaded.policy, [.netdev("eth0"): .success(1)]).policy
        XCTAssertEqual(resolved.workloads[0].cpus, .nodes(IDSet([1])))
        XCTAssertEqual(resolved.workloads[0].memory?.nodes, IDSet([1]))
        XCTAssertEqual(resolved.workloads[0].deviceReferences, [])
        let refused = DeviceResolution.resolve(loaded.policy, [.netdev("eth0"): .failure(.virtual(.netdev("eth0"), device: "eth0"))]).policy
        XCTAssertNil(refused.workloads[0].cpus, "nothing for a planner to aim at")
        XCTAssertNil(refused.workloads[0].memory)
    }
}
