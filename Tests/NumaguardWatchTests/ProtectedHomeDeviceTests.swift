import NumaguardCore
import NumaguardHost
import NumaguardPolicy
@testable import NumaguardWatch
import XCTest

/// watch does not resolve device references: a workload naming a device has no home (its
/// memory is not judged off-home) rather than an empty one (all of it "off home").
final class ProtectedHomeDeviceTests: XCTestCase {
    func testADeviceReferenceGivesNoHome() throws {
        let policy = try PolicyLoader.parse("""
            version: 1
            workloads:
              - {name: engine, match: {comm: engine}, protected: true, cpus: {nodes: ["netdev:eth0"]}}
              - {name: feed, match: {comm: feed}, protected: true, cpus: {nodes: [1]}}
            """, file: "p.yaml")
        let topology = Topology(numaEnabled: true, possibleNodes: IDSet([0, 1]), onlineNodes: IDSet([0, 1]), nodesWithCPU: IDSet([0, 1]),
                                nodesWithMemory: IDSet([0, 1]), nodes: [], possibleCPUs: IDSet(0...3), onlineCPUs: IDSet(0...3),
                                isolatedCPUs: IDSet(), nohzFullCPUs: IDSet())
        XCTAssertNil(ProtectedWatch.home(of: policy.workloads[0], topology))
        XCTAssertEqual(ProtectedWatch.home(of: policy.workloads[1], topology), IDSet([1]))
    }
}
