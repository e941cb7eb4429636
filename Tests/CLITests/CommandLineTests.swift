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

    /// The front alone, without numaguard-tool beside it: a part of numaguard is missing
    /// (69, EX_UNAVAILABLE), not an unreadable host, and the message says what to install.
    func testTheFrontWithoutTheToolExits69() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("front-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let front = directory.appendingPathComponent("numaguard").path
        try FileManager.default.copyItem(atPath: Command.numaguard, toPath: front)
        let result = try Command.run(front, ["topology"])
        XCTAssertEqual(result.status, 69, result.stderr)
        XCTAssertEqual(result.stderr, "numaguard: cannot run \(directory.path)/numaguard-tool: No such file or directory "
                       + "(install numaguard-tool beside numaguard)\n")
        XCTAssertEqual(result.stdout, "")
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
