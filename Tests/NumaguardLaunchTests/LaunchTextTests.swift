import Foundation
import NumaguardCore
@testable import NumaguardHost
@testable import NumaguardLaunch
import XCTest

/// What `run --dry-run` prints: every line says what would be applied, and the JSON form
/// parses with every value intact.
final class LaunchTextTests: XCTestCase {
    private func launch(cpus: IDSet? = IDSet([2, 3]), cpuNodes: IDSet? = IDSet([1]), program: String? = "/opt/engine",
                        arguments: [String] = ["engine", "--venue", "XLON"], user: Credentials? = nil, keepCapabilities: Bool = false,
                        record: String? = nil, warnings: [String] = []) -> PreparedLaunch {
        PreparedLaunch(
            plan: LaunchPlan(cpus: cpus, memory: MemoryPolicy(mode: .bind, nodes: IDSet([1])), source: "--cpunodebind 1 -m 1",
                             warnings: warnings, cpuNodes: cpuNodes),
            program: program.map { RawArgument($0) }, arguments: arguments.map { RawArgument($0) }, credentials: user, keepCapabilities: keepCapabilities,
            recordDirectory: record, policyPath: nil, policyDigest: nil, workload: nil, signals: .unknown
        )
    }

    private func line(_ text: String, _ label: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("  \(label):") }
            .map { String($0.dropFirst(label.count + 3)).trimmingCharacters(in: .whitespaces) }
    }

    func testTextSaysWhatWouldBeApplied() {
        let text = LaunchText.dryRun(launch(warnings: ["first", "second"]), format: .text)
        XCTAssertTrue(text.hasPrefix("numaguard run --dry-run: nothing was changed or executed\n"))
        XCTAssertEqual(line(text, "placement from"), "--cpunodebind 1 -m 1")
        XCTAssertEqual(line(text, "program"), "/opt/engine --venue XLON", "the resolved path, then the arguments after argv[0]")
        XCTAssertEqual(line(text, "cpus"), "2-3 (node 1)")
        XCTAssertEqual(line(text, "memory policy"), "bind:1 (set explicitly: nothing inherited survives exec)")
        XCTAssertEqual(line(text, "user"), "unchanged")
        XCTAssertEqual(line(text, "launch record"), "none")
        XCTAssertTrue(text.hasSuffix("  warning: first\n  warning: second\n"), text)
    }

    func testProcessLines() {
        let trader = Credentials(name: "trader", uid: 1001, gid: 1002, groups: [1002, 27])
        let text = LaunchText.dryRun(launch(user: trader, keepCapabilities: true, record: "/var/lib/numaguard"), format: .text)
        XCTAssertEqual(line(text, "user"), "trader (uid 1001, gid 1002, groups 1002,27)")
        XCTAssertEqual(line(text, "capabilities"), "kept (--keep-caps)")
        XCTAssertEqual(line(text, "launch record"), "written to /var/lib/numaguard")
        XCTAssertEqual(line(LaunchText.dryRun(launch(), format: .text), "capabilities"),
                       "cleared (ambient, effective, permitted, inheritable); no_new_privs set, so no exec regains any")
    }

    func testInheritedCPUsAndNoProgram() {
        let text = LaunchText.dryRun(launch(cpus: nil, cpuNodes: nil, program: nil, arguments: []), format: .text)
        XCTAssertEqual(line(text, "cpus"), "unchanged (inherited)")
        XCTAssertEqual(line(text, "program"), "(none given)")
    }

    func testSeveralNodesArePlural() {
        let text = LaunchText.dryRun(launch(cpus: IDSet(0...3), cpuNodes: IDSet([0, 1])), format: .text)
        XCTAssertEqual(line(text, "cpus"), "0-3 (nodes 0-1)")
    }

    func testJSONCarriesOddArgvAndWarnings() throws {
        let odd = ["engine", "a \"b\"", "c\\d", "e\nf", ""]
        let json = LaunchText.dryRun(launch(arguments: odd, warnings: ["kernel.numa_balancing is 1: \"quoted\""]), format: .json)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["format_version"] as? Int, 1)
        XCTAssertEqual(object["kind"] as? String, "run-plan")
        XCTAssertEqual(object["source"] as? String, "--cpunodebind 1 -m 1")
        XCTAssertEqual(object["program"] as? String, "/opt/engine")
        XCTAssertEqual(object["arguments"] as? [String], odd)
        XCTAssertEqual(object["cpus"] as? String, "2-3")
        XCTAssertEqual(object["cpu_nodes"] as? String, "1")
        XCTAssertEqual(object["memory_policy"] as? String, "bind:1")
        XCTAssertEqual(object["warnings"] as? [String], ["kernel.numa_balancing is 1: \"quoted\""])
        XCTAssertTrue(object["user"] is NSNull)
        XCTAssertTrue(object["record_directory"] is NSNull)
        XCTAssertEqual(object["keep_capabilities"] as? Bool, false)

        let bare = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(LaunchText.dryRun(launch(cpus: nil, cpuNodes: nil, program: nil, arguments: []), format: .json).utf8)) as? [String: Any])
        XCTAssertTrue(bare["program"] is NSNull)
        XCTAssertTrue(bare["cpus"] is NSNull)
        XCTAssertTrue(bare["cpu_nodes"] is NSNull)
        XCTAssertEqual(bare["arguments"] as? [String], [])
    }

    func testHelpNamesEveryOptionTheParserTakes() {
        for option in ["--membind", "--cpunodebind", "--physcpubind", "--preferred", "--preferred-many", "--localalloc", "--interleave",
                       "--weighted-interleave", "--static-nodes", "--allow-interleave", "--policy", "--workload", "--min-free",
                       "--require-balancing-off", "--user", "--keep-caps", "--record", "--show", "--dry-run", "--format", "--host-root", "--help"] {
            XCTAssertTrue(LaunchText.help.contains(option), option)
            XCTAssertThrowsError(try LaunchArguments.parse([option, "--unknown-after"]), option) { error in
                // Every documented option is known to the parser: the error is about what follows, not the option.
                XCTAssertFalse("\(error)".contains("unknown option \(option)"), "\(option): \(error)")
            }
        }
    }
}
