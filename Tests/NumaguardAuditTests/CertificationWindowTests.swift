#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// certify's window without the CLI and without a clock: the sleeper stands in for the wait
/// and changes the recorded counters (real files under a fixture copy) between the readings.
final class CertificationWindowTests: XCTestCase {
    private var copies: [URL] = []

    override func tearDown() {
        for copy in copies { try? FileManager.default.removeItem(at: copy) }
        copies = []
    }

    static let day = Day(year: 2026, month: 11, day: 21)

    /// Node 1 is protected (the engine's memory), node 0 is not.
    static func policy(_ waivers: String = "") throws -> LoadedPolicy {
        let yaml = """
            version: 1
            workloads:
              - name: engine
                match: {cmdline: "^no such program$"}
                protected: true
                memory: {policy: bind, nodes: [1]}
            """ + waivers
        return LoadedPolicy(policy: try PolicyLoader.parse(yaml, file: "p.yaml"), file: "p.yaml", digest: "0")
    }

    func host() throws -> URL {
        let copy = try Fixtures.copy("linux-6.1-2node", keeping: [])
        copies.append(copy)
        return copy
    }

    /// The counters as the kernel would show them after a busy window.
    static func busy(_ root: URL) throws {
        let node = root.appendingPathComponent("sys/devices/system/node")
        for (index, miss) in [(0, 40), (1, 3)] {
            let file = node.appendingPathComponent("node\(index)/numastat")
            let text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "numa_miss 0", with: "numa_miss \(miss)")
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        let vmstat = root.appendingPathComponent("proc/vmstat")
        let text = try String(contentsOf: vmstat, encoding: .utf8).replacingOccurrences(of: "pgmigrate_success 0", with: "pgmigrate_success 512")
        try text.write(to: vmstat, atomically: true, encoding: .utf8)
    }

    func testTheAuditRunsInsideTheWindowAndItsGrowthIsAFinding() throws {
        let root = try host()
        let loaded = try Self.policy()
        var steps: [String] = []
        let window = CertificationWindow(
            root: HostRoot(path: root.path), seconds: 2.5,
            sleep: { (seconds: Double) throws(SystemCallError) in
                steps.append("sleep \(seconds)")
                try? Self.busy(root)
            },
            read: { (host: HostRoot, nodes: [Int]) throws(HostError) in
                steps.append("read \(nodes)")
                return try CounterReading.read(host, nodes: nodes)
            })
        let report = try window.certify(policy: loaded.policy, today: Self.day) { () throws(Auditor.Failure) in
            steps.append("audit")
            return try Auditor.run(root: HostRoot(path: root.path), policy: loaded, today: Self.day)
        }
        XCTAssertEqual(steps, ["read [1]", "sleep 2.5", "audit", "read [1]"])
        let window1 = report.findings.filter { $0.check.description.contains("window") }
        XCTAssertEqual(window1.map(\.check.description), ["node.1.window.numa_miss", "host.window.migrations"])
        XCTAssertEqual(window1.map(\.outcome), [.fail, .fail])
        XCTAssertEqual(window1[0].actual, "numa_miss +3, numa_foreign +0", "node 0 is not protected: its 40 misses are not judged")
        XCTAssertEqual(window1[0].expected, "no numa_miss or numa_foreign growth during the 2.5s window")
        XCTAssertEqual(window1[1].actual, "512 pages migrated")
        XCTAssertEqual(report.status, .violations)
    }

    func testTheWindowsFindingsAreWaivedByThePolicy() throws {
        let root = try host()
        let loaded = try Self.policy("""

            waivers:
              - {check: host.window.migrations, reason: "OPS-2", expires: 2026-12-31}
            """)
        let window = CertificationWindow(root: HostRoot(path: root.path), seconds: 1,
                                         sleep: { (_: Double) throws(SystemCallError) in try? Self.busy(root) })
        let report = try window.certify(policy: loaded.policy, today: Self.day) { () throws(Auditor.Failure) in
            try Auditor.run(root: HostRoot(path: root.path), policy: loaded, today: Self.day)
        }
        let migrations = try XCTUnwrap(report.findings.first { $0.check.description == "host.window.migrations" })
        XCTAssertEqual(migrations.outcome, .waived)
        XCTAssertEqual(migrations.waiver?.reason, "OPS-2")
    }

    func testAQuietWindowPasses() throws {
        let root = try host()
        let loaded = try Self.policy()
        let window = CertificationWindow(root: HostRoot(path: root.path), seconds: 1, sleep: { (_: Double) throws(SystemCallError) in })
        let report = try window.certify(policy: loaded.policy, today: Self.day) { () throws(Auditor.Failure) in
            try Auditor.run(root: HostRoot(path: root.path), policy: loaded, today: Self.day)
        }
        XCTAssertEqual(report.findings.filter { $0.check.description.contains("window") }.map(\.outcome), [.pass, .pass])
    }

    func testAFailedWaitOrCounterReadMakesNoReport() throws {
        let root = try host()
        let loaded = try Self.policy()
        var audited = false
        let refused = CertificationWindow(root: HostRoot(path: root.path), seconds: 1, sleep: { (_: Double) throws(SystemCallError) in
            // nanosleep refusing the wait (EINVAL): not an interruption, so not retried.
            try SystemClock.sleep(1, call: { _, _ in
                errno = EINVAL
                return -1
            })
        })
        do {
            _ = try refused.certify(policy: loaded.policy, today: Self.day) { () throws(Auditor.Failure) in
                audited = true
                return try Auditor.run(root: HostRoot(path: root.path), policy: loaded, today: Self.day)
            }
            XCTFail("a refused wait is no window")
        } catch {
            guard case .sleep = error else { return XCTFail("\(error)") }
            XCTAssertEqual(error.description, "nanosleep(1.0s): \(Errno.invalid)")
        }
        XCTAssertFalse(audited, "the audit runs inside the window only")

        try FileManager.default.removeItem(at: root.appendingPathComponent("sys/devices/system/node/node1/numastat"))
        do {
            _ = try CertificationWindow(root: HostRoot(path: root.path), seconds: 1, sleep: { (_: Double) throws(SystemCallError) in })
                .certify(policy: loaded.policy, today: Self.day) { () throws(Auditor.Failure) in
                    try Auditor.run(root: HostRoot(path: root.path), policy: loaded, today: Self.day)
                }
            XCTFail("node 1's counters are missing")
        } catch {
            guard case .counters = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.description.contains("node1/numastat"), error.description)
        }
    }
}
