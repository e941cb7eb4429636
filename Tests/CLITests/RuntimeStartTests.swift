import Foundation
import TestSupport
import XCTest

/// What the static binaries do about the Swift runtime's start-up (CLinux/BacktracerSetting.c):
/// the runtime is given its backtracer settings through SWIFT_BACKTRACE before it starts, and
/// the variable is taken out again before numaguard reads or passes on the environment. These
/// run the release binaries: a dynamically linked build starts its runtime before any of this.
final class RuntimeStartTests: XCTestCase {
    /// The environment each binary's child sees, one variable a line, sorted.
    private func childEnvironment(_ binary: String, _ environment: [String: String]) throws -> [String] {
        let result = try Command.run(binary, ["run", "--", "/usr/bin/env"], environment: environment)
        XCTAssertEqual(result.status, 0, "\(binary): \(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init).sorted()
    }

    /// The program `run` execs, from the front and from the tool, inherits the environment
    /// numaguard was given, no more and no less: the setting made for the runtime is gone.
    func testProgramsInheritTheEnvironmentAsGiven() throws {
        let given = ["PATH": "/usr/bin:/bin", "NUMAGUARD_TEST_MARK": "a=b,c"]
        for binary in [try StaticBinary.numaguard(), try StaticBinary.tool()] {
            XCTAssertEqual(try childEnvironment(binary, given), ["NUMAGUARD_TEST_MARK=a=b,c", "PATH=/usr/bin:/bin"], binary)
            XCTAssertEqual(try childEnvironment(binary, [:]), [], "\(binary): an empty environment stays empty")
        }
    }

    /// An operator's own SWIFT_BACKTRACE is neither replaced nor taken out.
    func testOperatorsBacktraceSettingIsKept() throws {
        let given = ["PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=no,color=yes"]
        for binary in [try StaticBinary.numaguard(), try StaticBinary.tool()] {
            XCTAssertEqual(try childEnvironment(binary, given), ["PATH=/usr/bin:/bin", "SWIFT_BACKTRACE=enable=no,color=yes"], binary)
        }
    }

    /// Without /proc the runtime's own search for swift-backtrace aborted both binaries
    /// ("Unable to obtain Swift runtime path", SIGABRT, 134) before numaguard's code ran. Now
    /// each command that needs /proc says which file it could not read, with its exit code,
    /// and one that does not need it works.
    func testStartsWithoutProcMounted() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root: unmounting /proc in a private mount namespace") }
        let front = try StaticBinary.numaguard(), tool = try StaticBinary.tool()
        // unshare(1) gives sh its own mount namespace; /proc goes from that namespace only.
        func withoutProc(_ binary: String, _ arguments: [String]) throws -> CommandResult {
            try Command.run("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c",
                                                 #"umount -l /proc && exec "$@""#, "sh", binary] + arguments)
        }
        let topology = try withoutProc(front, ["topology"])
        XCTAssertEqual(topology.status, 71, topology.stderr)
        XCTAssertEqual(topology.stderr, "numaguard: cannot read /proc/sys/kernel/osrelease: No such file or directory\n")
        let run = try withoutProc(front, ["run", "--", "/bin/true"])
        XCTAssertEqual(run.status, 125, run.stderr)
        XCTAssertEqual(run.stderr, "numaguard run: failed: cannot read the host: cannot read /proc/self/status: No such file or directory\n")
        let version = try withoutProc(tool, ["--version"])
        XCTAssertEqual(version.status, 0, version.stderr)
        XCTAssertFalse(version.stdout.isEmpty)
        XCTAssertFalse(version.stderr.contains("Swift runtime"), version.stderr)
    }
}
