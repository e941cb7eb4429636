import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// `workload.NAME.running` over the recorded 2-node guest, keeping PID 122 (`probe`): one
/// process. A missing `max` is no upper bound; a `max` written out is a bound, whatever its size.
final class RunningCountAuditTests: XCTestCase {
    private func running(_ counts: String) throws -> Finding {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [122])
        defer { try? FileManager.default.removeItem(at: root) }
        let yaml = "version: 1\nworkloads:\n  - name: engine\n    match: {comm: probe}\n    running: \(counts)\n"
        let policy = try PolicyLoader.parse(yaml, file: "test.yaml")
        let report = try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "0"),
                                     today: Day(year: 2026, month: 11, day: 21))
        return try XCTUnwrap(report.findings.first { $0.check == "workload.engine.running" })
    }

    func testTheLoaderKeepsAMissingMaxAsNone() throws {
        func counts(_ text: String) throws -> RunningCount? {
            try PolicyLoader.parse("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    running: \(text)\n", file: "t.yaml")
                .workloads.first?.running
        }
        XCTAssertEqual(try counts("{min: 2}"), RunningCount(minimum: 2, maximum: nil))
        XCTAssertEqual(try counts("{max: 1000000}"), RunningCount(minimum: 0, maximum: 1_000_000))
        XCTAssertEqual(try counts("{min: 3, max: 3}"), RunningCount(minimum: 3, maximum: 3))
        XCTAssertTrue(RunningCount(minimum: 2).contains(Int.max))
        XCTAssertFalse(RunningCount(minimum: 0, maximum: 1_000_000).contains(1_000_001))
    }

    func testNoMaxIsNoUpperBound() throws {
        let finding = try running("{min: 2}")
        XCTAssertEqual(finding.outcome, .fail)
        XCTAssertEqual(finding.expected, "at least 2 processes")
        XCTAssertEqual(finding.actual, "1 (PID 122)")
        XCTAssertEqual(try running("{min: 1}").expected, "at least 1 process")
    }

    /// Before: a written `max: 1000000` was stored like a missing one and read back as
    /// "at least 0 processes".
    func testTheLargestMaxWrittenOutIsABound() throws {
        let finding = try running("{max: 1000000}")
        XCTAssertEqual(finding.outcome, .pass)
        XCTAssertEqual(finding.expected, "0 to 1000000 processes")
    }

    func testExactAndRangeCounts() throws {
        XCTAssertEqual(try running("{min: 1, max: 1}").expected, "exactly 1 process")
        let range = try running("{min: 2, max: 3}")
        XCTAssertEqual(range.expected, "2 to 3 processes")
        XCTAssertEqual(range.outcome, .fail)
        XCTAssertEqual(try running("{max: 0}").outcome, .fail)
    }
}
