import NumaguardCore
import NumaguardHost
@testable import NumaguardLaunch
@testable import NumaguardLaunchPolicy
import NumaguardPolicy
import XCTest

/// `run --policy` with device references: the node comes from the resolver the audit uses
/// (the endpoint rule), and a refusal names the workload, the file and the device.
final class PolicyPlacementDeviceTests: XCTestCase {
    private let text = """
        version: 1
        workloads:
          - name: engine
            match: {comm: engine}
            cpus: {nodes: ["netdev:eth0"]}
          - name: journal
            match: {comm: journal}
            cpus: {nodes: [0]}
            memory: {policy: preferred, nodes: [0, "block:nvme0n1"]}
        """

    private func request(_ workload: String, _ resolve: (DeviceSpecifier) -> Result<Int, DeviceRefusal>) throws -> LaunchRequest {
        let loaded = LoadedPolicy(policy: try PolicyLoader.parse(text, file: "p.yaml"), file: "p.yaml", digest: "d")
        let base = try LaunchArguments.parse(["--policy", "p.yaml", "--workload", workload, "--", "program"])
        return try PolicyPlacement.request(base, policy: loaded, resolving: resolve)
    }

    func testAReferenceBecomesItsNodeForCPUsAndTheDefaultMemoryBinding() throws {
        let placed = try request("engine") { _ in .success(1) }
        let flagged = try LaunchArguments.parse(["--cpunodebind", "1", "--membind", "1", "--", "program"])
        XCTAssertEqual(placed.cpuNodes, flagged.cpuNodes)
        XCTAssertEqual(placed.memory?.mode, .bind)
        XCTAssertEqual(placed.memory?.nodes, flagged.memory?.nodes)
    }

    func testARefusalNamesTheWorkloadAndTheDevice() throws {
        XCTAssertThrowsError(try request("engine") { .failure(.noLocality($0, device: "eth0 (0000:00:02.0)")) }) { error in
            guard case let LaunchError.refused(message)? = error as? LaunchError else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "workload \"engine\" of p.yaml: netdev:eth0: eth0 (0000:00:02.0) reports numa_node -1: "
                           + "the firmware gives no locality; nothing was executed")
        }
    }

    func testPreferredThatResolvesToTwoNodesIsRefused() throws {
        XCTAssertEqual(try request("journal") { _ in .success(0) }.memory?.mode, .preferred)
        XCTAssertThrowsError(try request("journal") { _ in .success(1) }) { error in
            guard case let LaunchError.refused(message)? = error as? LaunchError else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "workload \"journal\" of p.yaml: memory policy preferred takes one node, and gives nodes 0-1 "
                           + "once block:nvme0n1 resolved; nothing was executed")
        }
    }

    func testAWorkloadWithoutReferencesNeverResolves() throws {
        let text = "version: 1\nworkloads:\n  - {name: plain, match: {comm: plain}, cpus: {nodes: [0]}}\n"
        let loaded = LoadedPolicy(policy: try PolicyLoader.parse(text, file: "p.yaml"), file: "p.yaml", digest: "d")
        let base = try LaunchArguments.parse(["--policy", "p.yaml", "--workload", "plain", "--", "program"])
        var asked: [DeviceSpecifier] = []
        _ = try PolicyPlacement.request(base, policy: loaded) { asked.append($0); return .success(0) }
        XCTAssertEqual(asked, [])
    }
}
