import Foundation
import TestSupport
import XCTest

/// The command line as a newcomer meets it: help, typos, colour.
final class CommandLineTests: XCTestCase {
    func testHelpRunIsRunsOwnHelp() throws {
        let direct = try Command.numaguard(["run", "--help"])
        let viaHelp = try Command.numaguard(["help", "run"])
        XCTAssertEqual(direct.status, 0)
        XCTAssertEqual(viaHelp.status, 0, viaHelp.stderr)
        XCTAssertEqual(viaHelp.stdout, direct.stdout, "numaguard help run prints run --help unchanged")
        XCTAssertTrue(direct.stdout.contains("--membind"), direct.stdout)
    }

    func testAMistypedCommandGetsASuggestionAndExit64() throws {
        let result = try Command.numaguard(["audt", "--policy", "x.yaml"])
        XCTAssertEqual(result.status, 64)
        XCTAssertEqual(result.stderr, "numaguard: unknown command 'audt'; did you mean 'audit'?\nsee: numaguard --help\n")
        XCTAssertEqual(result.stdout, "")
        let far = try Command.numaguard(["frobnicate"])
        XCTAssertEqual(far.status, 64)
        XCTAssertEqual(far.stderr, "numaguard: unknown command 'frobnicate'\nsee: numaguard --help\n")
    }

    /// A copy of the front in a new directory (the caller removes it), without numaguard-tool.
    private func frontAlone() throws -> (directory: URL, front: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("front-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let front = directory.appendingPathComponent("numaguard").path
        try FileManager.default.copyItem(atPath: Command.numaguard, toPath: front)
        return (directory, front)
    }

    /// The tool the built front would exec: the reference output.
    private static var tool: String {
        Command.numaguard.replacingOccurrences(of: "/numaguard", with: "/numaguard-tool", options: .backwards)
    }

    /// The front alone, without numaguard-tool beside it: a part of numaguard is missing
    /// (69, EX_UNAVAILABLE), not an unreadable host, and the message says what to install.
    func testTheFrontWithoutTheToolExits69() throws {
        let (directory, front) = try frontAlone()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Command.run(front, ["policy", "schema"])
        XCTAssertEqual(result.status, 69, result.stderr)
        XCTAssertEqual(result.stderr, "numaguard: cannot run \(directory.path)/numaguard-tool: No such file or directory "
                       + "(install numaguard-tool beside numaguard)\n")
        XCTAssertEqual(result.stdout, "")
    }

    /// The front serves `topology` and `inspect` itself, text and JSON (issue 17: one exec of
    /// the small binary, no Foundation), byte for byte what numaguard-tool prints; anything the
    /// quick parser does not take (`--`, help, a repeated option) still goes to the tool, which
    /// this front alone does not have (69).
    func testTheFrontServesTopologyAndInspectTextItself() throws {
        let (directory, front) = try frontAlone()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tool = Self.tool
        let child = try Child("/bin/sleep", ["303.5"])
        let fixture = Command.repositoryRoot.appendingPathComponent("Tests/Fixtures/linux-6.1-4node-asym").path
        for arguments in [["topology"], ["topology", "--host-root", fixture], ["topology", "--host-root=\(fixture)"],
                          ["topology", "--format", "json", "--host-root", fixture], ["inspect", "\(child.pid)"],
                          ["inspect", "--name", "sleep 303\\.5"], ["inspect", "--format=json", "\(child.pid)"]] {
            let served = try Command.run(front, arguments)
            let reference = try Command.run(tool, arguments)
            XCTAssertEqual(served.status, 0, "\(arguments): \(served.stderr)")
            // The live host's free memory moves between the two runs; everything else must not.
            func steady(_ text: String) -> String {
                arguments.count == 1 ? text.split(separator: "\n").filter { !$0.contains(" free: ") }.joined(separator: "\n") : text
            }
            XCTAssertEqual(steady(served.stdout), steady(reference.stdout), "\(arguments)")
            XCTAssertFalse(served.stdout.isEmpty, "\(arguments)")
        }
        for arguments in [["inspect", "--", "\(child.pid)"], ["topology", "--help"], ["topology", "--format", "text", "--format", "text"],
                          ["topology", "--format", "yaml"]] {
            let handed = try Command.run(front, arguments)
            XCTAssertEqual(handed.status, 69, "\(arguments) should go to numaguard-tool: \(handed.stdout)")
        }
        let bad = try Command.run(front, ["inspect", "--name", "(unclosed"])
        let badReference = try Command.run(tool, ["inspect", "--name", "(unclosed"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertEqual(bad.stderr, badReference.stderr)
    }

    /// The front alone (no numaguard-tool beside it) serves `policy check FILE` and
    /// `run --policy` (issue 17: the policy loader is libyaml's events, no Foundation), byte for
    /// byte what numaguard-tool prints, for a valid policy, an invalid one and a missing file.
    func testTheFrontServesPolicyCheckAndRunPolicyItself() throws {
        let (directory, front) = try frontAlone()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tool = Self.tool
        let invalid = directory.appendingPathComponent("invalid.yaml")
        try "version: 1\nversion: 1\nworkloads:\n  - {name: a, match: {comm: a}, memory: {policy: bind}}\n"
            .write(to: invalid, atomically: true, encoding: .utf8)
        let notUTF8 = directory.appendingPathComponent("latin1.yaml")
        try Data("version: 1\nhost: {forbid_processes: [caf\u{E9}]}\n".utf8.map { $0 == 0xC3 ? 0xE9 : $0 }.filter { $0 != 0xA9 })
            .write(to: notUTF8)
        let shipped = Command.repositoryRoot.appendingPathComponent("policies/trading-host.yaml").path
        for (file, status) in [(shipped, Int32(0)), (invalid.path, 78), (notUTF8.path, 78), (directory.appendingPathComponent("missing.yaml").path, 66)] {
            let served = try Command.run(front, ["policy", "check", file])
            let reference = try Command.run(tool, ["policy", "check", "--", file])
            XCTAssertEqual(served.status, status, "\(file): \(served.stderr)")
            XCTAssertEqual(served.stdout, reference.stdout, file)
            XCTAssertEqual(served.stderr, reference.stderr, file)
        }
        let located = try Command.run(front, ["policy", "check", invalid.path])
        XCTAssertTrue(located.stderr.hasPrefix("\(invalid.path):2:1: error: duplicate key \"version\" (first at line 1, column 1)\n"), located.stderr)
        XCTAssertTrue(located.stderr.hasSuffix("numaguard: \(invalid.path): 2 errors; nothing was inspected\n"), located.stderr)
        let latin1 = try Command.run(front, ["policy", "check", notUTF8.path])
        XCTAssertTrue(latin1.stderr.hasPrefix("\(notUTF8.path):2:30: error: invalid YAML: invalid trailing UTF-8 octet\n"), latin1.stderr)

        let arguments = ["run", "--dry-run", "--host-root", Command.fixture("linux-rt-2node"), "--policy", shipped,
                         "--workload", "trading-engine", "--", "trading_engine"]
        let served = try Command.run(front, arguments)
        let reference = try Command.run(tool, arguments)
        XCTAssertEqual(served.status, 0, served.stderr)
        XCTAssertEqual(served.stdout, reference.stdout)
        XCTAssertTrue(served.stdout.contains("  placement from: workload \"trading-engine\" of \(shipped)\n"), served.stdout)
    }

    /// `policy check FILE` skips ArgumentParser (FastPath); with `--` it goes through it.
    /// Both must print and exit the same, for a valid policy, an invalid one and a missing file.
    func testPolicyCheckFastPathAndArgumentParserAgree() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let invalid = directory.appendingPathComponent("invalid.yaml")
        try "version: 1\nworkloads:\n  engine:\n    match: {comm: engine}\n    cpus: {nodes: [zero]}\n".write(to: invalid, atomically: true, encoding: .utf8)
        let shipped = Command.repositoryRoot.appendingPathComponent("policies/trading-host.yaml").path
        for (file, status) in [(shipped, Int32(0)), (invalid.path, 78), (directory.appendingPathComponent("missing.yaml").path, 66)] {
            let fast = try Command.numaguard(["policy", "check", file])
            let parsed = try Command.numaguard(["policy", "check", "--", file])
            XCTAssertEqual(fast.status, status, fast.stderr)
            XCTAssertEqual(parsed.status, status, parsed.stderr)
            XCTAssertEqual(fast.stdout, parsed.stdout)
            XCTAssertEqual(fast.stderr, parsed.stderr)
        }
    }

    func testFailOnHelpOffersOnlyWhatItAccepts() throws {
        let help = try Command.numaguard(["audit", "--help"])
        let line = try XCTUnwrap(help.stdout.split(separator: "\n").first { $0.contains("--fail-on") }, help.stdout)
        XCTAssertTrue(help.stdout.contains("values: warning, critical"), help.stdout)
        XCTAssertFalse(line.contains("info"), String(line))
    }

    /// Colour only on a terminal, and not when NO_COLOR is set: `script` gives the audit a pty.
    func testNoColorTurnsColourOff() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw XCTSkip("script(1) from util-linux is needed to give the audit a terminal")
        }
        let policy = Command.repositoryRoot.appendingPathComponent("policies/latency-baseline.yaml").path
        let root = Command.fixture("linux-6.1-2node")
        let command = "'\(Command.numaguard)' audit --policy '\(policy)' --host-root '\(root)'"
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NO_COLOR")
        let coloured = try Command.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: environment)
        XCTAssertTrue(coloured.stdout.contains("\u{1B}["), "a terminal gets colour: \(coloured.stdout.prefix(400))")
        environment["NO_COLOR"] = "1"
        let plain = try Command.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: environment)
        XCTAssertFalse(plain.stdout.contains("\u{1B}["), "NO_COLOR: \(plain.stdout.prefix(400))")
        XCTAssertTrue(plain.stdout.contains("numaguard audit of"), plain.stdout)
    }
}
