#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import XCTest

/// `--host-root` trees that are hostile (issue 12): numbers that overflow, links out of the
/// tree, FIFOs and devices. Each ends in exit 3 (incomplete) with a message naming the file,
/// never a crash, a hang or a byte of a file outside the tree. Run under timeout(1) with a
/// generous limit, only so that a regression fails instead of hanging the suite.
final class InspectConfinementTests: XCTestCase {
    static let pid = 122
    static let secretText = "outside-secret-5be0"

    func inspect(_ root: String, _ extra: [String] = []) throws -> CommandResult {
        let result = try Command.run("/usr/bin/timeout", ["300", Command.numaguard, "inspect", "\(Self.pid)", "--host-root", root] + extra)
        XCTAssertNotEqual(result.status, 124, "inspect hung")
        return result
    }

    func testOverflowingNumaMapsCountIsReportedNotACrash() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        let url = copy.appendingPathComponent("proc/\(Self.pid)/numa_maps")
        let before = try String(contentsOf: url, encoding: .utf8)
        let line = before.split(separator: "\n").count + 1
        try (before + "7f00 default anon=1 N0=9007199254740993 kernelpagesize_kB=1048576\n").write(to: url, atomically: true, encoding: .utf8)
        for format in ["text", "json"] {
            let result = try inspect(copy.path, ["--format", format])
            XCTAssertEqual(result.status, 3, result.stderr)
            XCTAssertTrue(result.stderr.contains("\(url.path):\(line): "), result.stderr)
            XCTAssertTrue(result.stderr.contains("N0=9007199254740993 pages of 1048576 kB overflows"), result.stderr)
        }
    }

    /// Replaces the process's cmdline with `make(path)` and inspects.
    func assertCmdlineRefused(_ words: String, file: StaticString = #filePath, line: UInt = #line,
                              _ make: (_ cmdline: URL, _ root: URL, _ secret: URL) throws -> Void) throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-secret-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: copy)
            try? FileManager.default.removeItem(at: secret)
        }
        try Self.secretText.write(to: secret, atomically: false, encoding: .utf8)
        let cmdline = copy.appendingPathComponent("proc/\(Self.pid)/cmdline")
        try FileManager.default.removeItem(at: cmdline)
        try make(cmdline, copy, secret)
        let result = try inspect(copy.path)
        XCTAssertEqual(result.status, 3, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains("cannot read \(cmdline.path): "), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(words), result.stderr, file: file, line: line)
        XCTAssertFalse((result.stdout + result.stderr).contains(Self.secretText), file: file, line: line)
    }

    func testAbsoluteLinkOutOfTheTree() throws {
        try assertCmdlineRefused("leads outside the host root") { cmdline, _, secret in
            try FileManager.default.createSymbolicLink(atPath: cmdline.path, withDestinationPath: secret.path)
        }
    }

    func testDotDotLinkOutOfTheTree() throws {
        try assertCmdlineRefused("leads outside the host root") { cmdline, _, secret in
            // Enough `..` to reach / from anywhere in the temporary directory.
            let up = String(repeating: "../", count: 32)
            try FileManager.default.createSymbolicLink(atPath: cmdline.path, withDestinationPath: up + secret.path.dropFirst())
        }
    }

    func testFIFO() throws {
        try assertCmdlineRefused("a FIFO (named pipe), not a regular file") { cmdline, _, _ in
            XCTAssertEqual(mkfifo(cmdline.path, 0o600), 0)
        }
    }

    func testLinkToDevZero() throws {
        try assertCmdlineRefused("leads outside the host root") { cmdline, _, _ in
            try FileManager.default.createSymbolicLink(atPath: cmdline.path, withDestinationPath: "/dev/zero")
        }
    }

    /// A tree whose links stay inside it (sys/class links) inspects as before.
    func testTreeWithInsideLinksInspectsAsBefore() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        let result = try inspect(host.path, ["--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let processes = try XCTUnwrap(try Command.json(result.stdout)["processes"] as? [[String: Any]])
        XCTAssertEqual((processes.first?["process"] as? [String: Any])?["cmdline"] as? [String], ["probe", "64"])
    }
}
