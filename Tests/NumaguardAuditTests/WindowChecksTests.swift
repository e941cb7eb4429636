import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

final class WindowChecksTests: XCTestCase {
    private let quiet = CounterReading(miss: [0: 5, 1: 9], foreign: [0: 2, 1: 0], migrated: 100)

    func testNoGrowthPasses() {
        let findings = WindowChecks.judge(before: quiet, after: quiet, nodes: [0], seconds: 10)
        XCTAssertEqual(findings.map(\.check), ["node.0.window.numa_miss", "host.window.migrations"])
        XCTAssertTrue(findings.allSatisfy { $0.outcome == .pass })
    }

    func testMissOnAProtectedNodeAndMigrationsFail() {
        var after = quiet
        after.foreign[0] = 7
        after.miss[1] = 50  // node 1 is not protected: not judged
        after.migrated = 612
        let findings = WindowChecks.judge(before: quiet, after: after, nodes: [0], seconds: 2.5)
        XCTAssertEqual(findings.count, 2)
        XCTAssertEqual(findings[0].outcome, .fail)
        XCTAssertEqual(findings[0].actual, "numa_miss +0, numa_foreign +5")
        XCTAssertEqual(findings[0].expected, "no numa_miss or numa_foreign growth during the 2.5s window")
        XCTAssertEqual(findings[1].outcome, .fail)
        XCTAssertEqual(findings[1].actual, "512 pages migrated")
    }

    func testKernelWithoutMigrationCountersJudgesNodesOnly() throws {
        let reading = try CounterReading.read(HostRoot(path: Fixtures.path("linux-6.1-2node")), nodes: [0, 1])
        XCTAssertEqual(reading.miss, [0: 0, 1: 0])
        XCTAssertEqual(reading.migrated, 0)
        var old = reading
        old.migrated = nil
        XCTAssertEqual(WindowChecks.judge(before: old, after: old, nodes: [1], seconds: 1).map(\.check), ["node.1.window.numa_miss"])
    }

    func testProtectedNodesComeFromProtectedWorkloadsAndReservations() throws {
        let policy = try PolicyLoader.parse("""
            version: 1
            workloads:
              - {name: a, match: {comm: a}, protected: true, memory: {policy: bind, nodes: [2]}}
              - {name: b, match: {comm: b}, memory: {policy: bind, nodes: [3]}}
            reserve:
              - {node: 0, for: [a]}
            """, file: "t.yaml")
        XCTAssertEqual(WindowChecks.protectedNodes(policy), [0, 2])
    }
}
