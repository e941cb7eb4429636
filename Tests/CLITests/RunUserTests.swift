import Foundation
import TestSupport
import XCTest

/// `run --user` and `run`'s argv end to end. The release binary is fully static, and glibc's
/// NSS in it dlopens libnss_systemd.so (Debian's `passwd: files systemd`), which crashed it
/// with SIGSEGV (139) for every --user, known or not: these run that binary on this host.
final class RunUserTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-runuser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// `numaguard` must be built from this source: a stale release build fails here (139).
    private func assertUserSwitch(_ numaguard: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let switched = try Command.run(numaguard, ["run", "--user", "nobody", "--", "id"])
        XCTAssertEqual(switched.status, 0, "\(numaguard): \(switched.stderr)", file: file, line: line)
        let oracle = try Command.run("/usr/bin/id", ["nobody"])   // dynamic: glibc's own NSS
        XCTAssertEqual(switched.stdout, oracle.stdout, numaguard, file: file, line: line)

        let numeric = try Command.run(numaguard, ["run", "--user", "65534", "--", "id", "-u"])
        XCTAssertEqual(numeric.status, 0, numeric.stderr, file: file, line: line)
        XCTAssertEqual(numeric.stdout, "65534\n", file: file, line: line)

        let marker = scratch.appendingPathComponent("touched").path
        let unknown = try Command.run(numaguard, ["run", "--user", "no-such-user-ng", "--", "touch", marker])
        XCTAssertEqual(unknown.status, 125, "\(numaguard) (a stale build? scripts/build-release): \(unknown.stderr)", file: file, line: line)
        XCTAssertEqual(unknown.stderr, "numaguard run: refused: --user no-such-user-ng: no such user \"no-such-user-ng\": not in /etc/passwd; "
                       + "getent passwd no-such-user-ng (nsswitch \(try passwdLine())) found none\n", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "nothing executed", file: file, line: line)

        let unknownUID = try Command.run(numaguard, ["run", "--user", "4242424", "--", "touch", marker])
        XCTAssertEqual(unknownUID.status, 125, unknownUID.stderr, file: file, line: line)
        XCTAssertTrue(unknownUID.stderr.contains("no passwd entry for uid 4242424: not in /etc/passwd"), unknownUID.stderr, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), file: file, line: line)
    }

    /// This host's passwd line as numaguard prints it (`passwd: files systemd` on Debian).
    private func passwdLine() throws -> String {
        let text = try String(contentsOfFile: "/etc/nsswitch.conf", encoding: .utf8)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("passwd:") })
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    func testStaticBinarySwitchesUserUnderThisHostsNsswitch() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root: switching to nobody needs CAP_SETUID and CAP_SETGID") }
        try assertUserSwitch(try StaticBinary.numaguard())
    }

    func testBuiltBinarySwitchesUser() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root: switching to nobody needs CAP_SETUID and CAP_SETGID") }
        try assertUserSwitch(Command.numaguard)
    }

    /// A program path and arguments that are not UTF-8 reach execve byte for byte, through
    /// the front and through numaguard-tool (numactl passes them on unchanged too). Foundation
    /// cannot spell such arguments, so sh builds them with printf.
    func testArgumentsAndProgramPathThatAreNotUTF8PassThroughUnchanged() throws {
        let program = scratch.appendingPathComponent("prog").path
        try "#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\" > \"$(dirname \"$0\")/argv\"\n".write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        let tool = URL(fileURLWithPath: Command.numaguard).deletingLastPathComponent().appendingPathComponent("numaguard-tool").path
        for binary in [Command.numaguard, tool] {
            try? FileManager.default.removeItem(at: scratch.appendingPathComponent("argv"))
            let script = #"cp "$1/prog" "$1/$(printf 'prog\377')" && exec "$0" run -- "$1/$(printf 'prog\377')" "$(printf 'caf\351')" "$(printf '\342\202')" ''"#
            let result = try Command.run("/bin/sh", ["-c", script, binary, scratch.path])
            XCTAssertEqual(result.status, 0, "\(binary): \(result.stderr)")
            let argv = try Data(contentsOf: scratch.appendingPathComponent("argv"))
            let expected = Data(scratch.path.utf8) + Data([0x2F, 0x70, 0x72, 0x6F, 0x67, 0xFF, 0])
                + Data([0x63, 0x61, 0x66, 0xE9, 0]) + Data([0xE2, 0x82, 0]) + Data([0])
            XCTAssertEqual(Array(argv), Array(expected), "\(binary): the path and each argument as given, no U+FFFD (EF BF BD)")
        }
    }
}
