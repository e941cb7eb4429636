import Foundation
import NumaguardCore
@testable import NumaguardLaunch
import XCTest

/// The PATH search done before anything is applied, so 127 and 126 are told apart as the
/// shell and env(1) do, with the path that was tried.
final class ProgramLookupTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-lookup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    private func file(_ relative: String, mode: Int) throws -> String {
        let url = directory.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "#!/bin/sh\nexit 0\n".write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        return url.path
    }

    /// Runs `body` with the temporary directory as the current one (relative names resolve there).
    private func inDirectory(_ body: () throws -> Void) throws {
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try body()
    }

    private func path(_ parts: String...) -> String { parts.map { directory.appendingPathComponent($0).path }.joined(separator: ":") }

    /// The lookup works on bytes (a path need not be UTF-8); these tests speak text.
    private func resolve(_ name: String, path: String?) throws(LaunchError) -> String {
        try ProgramLookup.resolve(RawArgument(name), path: path.map { RawArgument($0) }).text
    }

    func testFoundInPATH() throws {
        let tool = try file("bin/tool", mode: 0o755)
        XCTAssertEqual(try resolve("tool", path: path("empty", "bin")), tool)
    }

    func testNotFoundIs127NamingThePATH() throws {
        let searched = path("a", "b")
        let message = assertLaunchError(.notFound, "no-such-tool: not found in PATH (\(searched))") {
            try resolve("no-such-tool", path: searched)
        }
        XCTAssertNotNil(message)
        XCTAssertEqual(LaunchError.notFound("x").exitStatus.rawValue, 127)
        assertLaunchError(.notFound, "\"\": no such file or directory") { try resolve("", path: searched) }
    }

    func testDirectoryIsNotExecutable126() throws {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("bin/tool"), withIntermediateDirectories: true)
        let candidate = directory.appendingPathComponent("bin/tool").path
        assertLaunchError(.notExecutable, "\(candidate): permission denied") { try resolve("tool", path: path("bin")) }
        assertLaunchError(.notExecutable, "\(candidate): is a directory") { try resolve(candidate, path: nil) }
        XCTAssertEqual(LaunchError.notExecutable("x").exitStatus.rawValue, 126)
    }

    func testNonExecutableFileIs126() throws {
        let plain = try file("bin/tool", mode: 0o644)
        assertLaunchError(.notExecutable, "\(plain): permission denied") { try resolve("tool", path: path("bin")) }
        assertLaunchError(.notExecutable, "\(plain): permission denied (not executable)") { try resolve(plain, path: nil) }
    }

    func testLaterExecutableWinsOverAnEarlierNonExecutable() throws {
        try file("first/tool", mode: 0o644)
        let second = try file("second/tool", mode: 0o755)
        XCTAssertEqual(try resolve("tool", path: path("first", "second")), second)
        // The first non-executable one is what 126 names when none is executable.
        let first = directory.appendingPathComponent("first/tool").path
        try file("third/tool", mode: 0o600)
        assertLaunchError(.notExecutable, "\(first): permission denied") { try resolve("tool", path: path("first", "third")) }
    }

    func testAbsoluteAndRelativePathsAreUsedAsIs() throws {
        let tool = try file("bin/tool", mode: 0o755)
        XCTAssertEqual(try resolve(tool, path: path("nowhere")), tool, "a path with a slash is not searched for")
        assertLaunchError(.notFound, "\(directory.path)/bin/missing: no such file or directory") {
            try resolve(directory.path + "/bin/missing", path: path("bin"))
        }
        // ENOTDIR (a file used as a directory) is "not found", as the shell says.
        assertLaunchError(.notFound, "\(tool)/sub: no such file or directory") {
            try resolve(tool + "/sub", path: nil)
        }
        try inDirectory { XCTAssertEqual(try resolve("bin/tool", path: "/nonexistent"), "bin/tool") }
    }

    func testEmptyPATHEntryIsTheCurrentDirectory() throws {
        try file("tool", mode: 0o755)
        try inDirectory { XCTAssertEqual(try resolve("tool", path: "/nonexistent:"), "./tool") }
    }

    func testDefaultPATHWhenUnset() throws {
        let expected = try XCTUnwrap(ProgramLookup.defaultPath.text.split(separator: ":").map { "\($0)/sh" }
            .first { FileManager.default.isExecutableFile(atPath: $0) })
        XCTAssertEqual(try resolve("sh", path: nil), expected, "the first of execvp's default directories that has it")
    }
}
