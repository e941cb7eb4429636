import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// `policy init` over recorded guests: the policy it writes loads, is deterministic, and
/// auditing the same host against it passes (the round trip the issue asks for).
final class PolicyInitTests: XCTestCase {
    private func roundTrip(_ fixture: String, keeping pids: [Int]?, _ workloads: [(String, String)],
                           file: StaticString = #filePath, line: UInt = #line) throws -> (String, AuditReport) {
        let root = pids.map { try? Fixtures.copy(fixture, keeping: $0) } ?? nil
        defer { if let root { try? FileManager.default.removeItem(at: root) } }
        let host = HostRoot(path: root?.path ?? Fixtures.path(fixture))
        let request = PolicyInit.Request(workloads: workloads.map { (name: $0.0, comm: $0.1) })
        let text = try PolicyInit.generate(root: host, request: request)
        XCTAssertEqual(try PolicyInit.generate(root: host, request: request), text, "deterministic", file: file, line: line)
        let policy = try PolicyLoader.parse(text, file: "init.yaml")
        let report = try Auditor.run(root: host, policy: LoadedPolicy(policy: policy, file: "init.yaml", digest: SHA256.hex(text)),
                                     today: Day(year: 2026, month: 11, day: 21))
        XCTAssertEqual(report.status, .success, "\(text)\n\(report.findings.filter { $0.outcome != .pass })", file: file, line: line)
        return (text, report)
    }

    func testBoundProcessRoundTrips() throws {
        let (text, report) = try roundTrip("linux-6.1-2node", keeping: [122], [("engine", "probe")])
        XCTAssertTrue(text.contains("memory: {policy: bind, nodes: [1], max_remote: 0%}"), text)
        XCTAssertTrue(text.contains("numa_balancing: normal"), text)
        XCTAssertGreaterThan(report.summary.passed, 8)
    }

    func testInterleavedProcessIsDeclaredAsAllowed() throws {
        let (text, _) = try roundTrip("linux-6.1-2node", keeping: [139], [("spread", "probe")])
        XCTAssertTrue(text.contains("policy: interleave, nodes: [0, 1], allow_interleave: true"), text)
    }

    func testCPUBindingIsKept() throws {
        let (text, _) = try roundTrip("linux-6.1-2node", keeping: [152], [("pinned", "probe")])
        XCTAssertTrue(text.contains("cpus: {cpulist: \"2-3\"}"), text)
    }

    func testProcessesWithDifferentPoliciesDeclareNoMemory() throws {
        let (text, _) = try roundTrip("linux-6.1-2node", keeping: nil, [("probes", "probe")])
        XCTAssertTrue(text.contains("running: {min: 8, max: 8}"), text)
        XCTAssertTrue(text.contains("# memory: not declared, the processes use several policies"), text)
    }

    func testOtherKernelsAndTopologies() throws {
        let (rt, _) = try roundTrip("linux-rt-2node", keeping: nil, [("probes", "probe")])
        XCTAssertTrue(rt.contains("numa_balancing: off  # the sysctl is absent"), rt)
        let (cpuless, _) = try roundTrip("linux-6.1-cpuless", keeping: nil, [("far", "probe")])
        XCTAssertTrue(cpuless.contains("cpus: {0: \"0-1\", 1: \"2-3\"}"), "the memory-only node has no cpulist: \(cpuless)")
        XCTAssertTrue(cpuless.contains("nodes: [2]"), cpuless)
        _ = try roundTrip("linux-6.12-2node", keeping: [239], [("many", "probe")])
    }

    func testNoMatchingProcessIsAnError() {
        XCTAssertThrowsError(try PolicyInit.generate(root: HostRoot(path: Fixtures.path("linux-6.1-2node")),
                                                     request: .init(workloads: [(name: "x", comm: "nothing")]))) { error in
            XCTAssertEqual("\(error)", "workload x: no running process has comm \"nothing\"")
        }
    }
}
