import Foundation
import TestSupport
import XCTest

/// Issue 12 through the binary: patterns from a command line or a policy, matched against
/// live processes whose command lines are chosen to stall a backtracking engine, and policies
/// beyond the documented limits refused with a location and exit 78.
final class LinearMatchCommandTests: XCTestCase {
    private let directory = FileManager.default.temporaryDirectory.appendingPathComponent("linear-\(UUID().uuidString)")

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// `(a+)+$` against 26 a's and a `!` took Swift Regex minutes; the answer is immediate, and
    /// only the process whose run of a's reaches the end is selected.
    func testInspectNameWithANestedQuantifierAgainstAHostileCommandLine() throws {
        let hostile = try Child("/usr/bin/tail", ["-f", "/dev/null", String(repeating: "a", count: 26) + "!"])
        let plain = try Child("/usr/bin/tail", ["-f", "/dev/null", String(repeating: "a", count: 26)])
        let result = try Command.numaguard(["inspect", "--name", "^/usr/bin/tail -f /dev/null (a+)+$", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let processes = try XCTUnwrap(try Command.json(result.stdout)["processes"] as? [[String: Any]])
        let pids = processes.compactMap { ($0["process"] as? [String: Any])?["pid"] as? Int }
        XCTAssertEqual(pids, [Int(plain.pid)], "not \(hostile.pid)")
    }

    func testInspectRefusesBackreferencesAndLookaroundAsUsage() throws {
        for pattern in [#"(a)\1"#, "(?=a)", "(?<!a)b"] {
            let result = try Command.numaguard(["inspect", "--name", pattern])
            XCTAssertEqual(result.status, 64, "\(pattern): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("not supported: numaguard matches in linear time"), result.stderr)
        }
    }

    /// The review's `(){1000}{1000}{1000}{1000}` compiled for more than 20 s. RE2 refuses it
    /// (a repetition of a repetition), at its column; the grouped form compiles to nothing and
    /// selects as if the empty group were not there.
    func testInspectNameWithRepeatedEmptyBodiesAnswersAtOnce() throws {
        for (pattern, column) in [("(){1000}{1000}{1000}{1000}", 9), ("a{0}{1000}{1000}{1000}", 5)] {
            let result = try Command.numaguard(["inspect", "--name", pattern])
            XCTAssertEqual(result.status, 64, "\(pattern): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("bad repetition operator"), result.stderr)
            XCTAssertTrue(result.stderr.contains("at character \(column) of the pattern"), result.stderr)
        }
        let marker = "empty-\(UUID().uuidString.prefix(8))"
        let child = try Child("/usr/bin/tail", ["-f", "/dev/null", marker])
        let result = try Command.numaguard(["inspect", "--name", "((((){1000}){1000}){1000}){1000}\(marker)$", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let processes = try XCTUnwrap(try Command.json(result.stdout)["processes"] as? [[String: Any]])
        XCTAssertEqual(processes.compactMap { ($0["process"] as? [String: Any])?["pid"] as? Int }, [Int(child.pid)])
    }

    func testPolicyCheckRefusesConflictsAndLimitsWithLocationsAndExit78() throws {
        var text = "version: 1\nworkloads:\n"
        for index in 0..<2000 {
            text += "  - {name: w\(index), match: {comm: engine}, memory: {policy: bind, nodes: [\(index % 2)]}}\n"
        }
        let conflicting = directory.appendingPathComponent("conflicting.yaml")
        try text.write(to: conflicting, atomically: true, encoding: .utf8)
        let result = try Command.numaguard(["policy", "check", conflicting.path])
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(conflicting.path):4:5: error: workloads \"w0\" and \"w1\" match the same processes"), result.stderr)
        XCTAssertTrue(result.stderr.contains("1899 more errors not shown"), String(result.stderr.suffix(300)))
        XCTAssertLessThan(result.stderr.utf8.count, 64 * 1024, "a bounded report, not one line per pair of workloads")

        let big = directory.appendingPathComponent("big.yaml")
        try ("version: 1\n" + String(repeating: "#" + String(repeating: " ", count: 98) + "\n", count: 11_000)).write(to: big, atomically: true, encoding: .utf8)
        let refused = try Command.numaguard(["policy", "check", big.path])
        XCTAssertEqual(refused.status, 78, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(big.path):10487:66: error: the policy is larger than 1048576 bytes"), refused.stderr)
    }
}
