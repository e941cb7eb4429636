import Foundation
import NumaguardHost
import XCTest

/// `InputFile.read`, the read behind every command's policy: a bounded read of a path given
/// absolute or relative to the working directory, and the errno's words when it fails.
final class InputFileTests: XCTestCase {
    private func file(_ bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("input-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        return url
    }

    func testReadsWholeFileShorterThanTheLimit() throws {
        let contents = Array("version: 1\n".utf8)
        let url = try file(contents)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertEqual(try InputFile.read(url.path, atMost: 1 << 20), contents)
    }

    /// A caller refusing files over N bytes asks for N + 1: it gets exactly that many, across
    /// several 64 KiB reads, and no more is read.
    func testStopsAtTheLimitAcrossChunks() throws {
        let contents = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let url = try file(contents)
        defer { try? FileManager.default.removeItem(at: url) }
        for limit in [1, 65_536, 65_537, 200_001, 299_999, 300_000, 300_001] {
            XCTAssertEqual(try InputFile.read(url.path, atMost: limit), Array(contents.prefix(limit)), "limit \(limit)")
        }
    }

    func testRelativePathIsReadFromTheWorkingDirectory() throws {
        let url = try file(Array("relative\n".utf8))
        defer { try? FileManager.default.removeItem(at: url) }
        let saved = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(url.deletingLastPathComponent().path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(saved) }
        XCTAssertEqual(try InputFile.read(url.lastPathComponent, atMost: 100), Array("relative\n".utf8))
    }

    func testMissingFileAndDirectoryAreErrorsWithTheReason() {
        let missing = "/nonexistent/numaguard/input.yaml"
        XCTAssertThrowsError(try InputFile.read(missing, atMost: 10)) { error in
            XCTAssertEqual(error as? InputFileError, InputFileError(path: missing, reason: "No such file or directory"))
            XCTAssertEqual("\(error)", "No such file or directory")
        }
        XCTAssertThrowsError(try InputFile.read("/", atMost: 10)) { error in
            XCTAssertEqual((error as? InputFileError)?.path, "/")
        }
    }

    /// `--policy <(command)`: the path is a pipe whose writer may not have written when it is
    /// opened (the live root opens without blocking). It is read to the writer's end, as cat
    /// reads it, instead of failing with "Resource temporarily unavailable".
    func testAPipeWhoseWriterIsSlowIsReadToItsEnd() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        defer { close(ends[0]) }
        let writer = ends[1]
        let contents = Array("version: 1\n".utf8) + Array(repeating: UInt8(0x23), count: 100_000)
        let thread = Thread {
            usleep(300_000)
            contents.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(writer, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
            close(writer)
        }
        thread.start()
        XCTAssertEqual(try InputFile.read("/proc/self/fd/\(ends[0])", atMost: 1 << 20), contents)
    }
}
