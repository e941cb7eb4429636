import Foundation
import NumaguardHost
@testable import NumaguardWatch
import TestSupport
import XCTest

/// `watch --series PATH` on real files: opened by --events' rules (a link planted at PATH
/// refused, a FIFO written through, a socket refused), bounded by rotation to PATH.1 (a link
/// planted there replaced as an entry, never followed), whole lines only.
final class SeriesSinkTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-series-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func text(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    /// A line of `count` bytes with its newline, saying which it is.
    private func line(_ number: Int, _ count: Int = 1000) -> String {
        let head = "{\"n\":\(number),\"pad\":\""
        return head + String(repeating: "x", count: count - head.count - 3) + "\"}\n"
    }

    private func numbers(_ name: String) throws -> [Int] {
        try text(name).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map {
            try XCTUnwrap(Command.json(String($0))["n"] as? Int)
        }
    }

    func testRotatesToPath1AtTheBound() throws {
        let sink = try SeriesSink(path: path("samples.jsonl"), maxSize: 4096)
        for n in 0..<4 { try sink.write(line(n)) }
        XCTAssertEqual(try numbers("samples.jsonl"), [0, 1, 2, 3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("samples.jsonl.1")))
        try sink.write(line(4))
        XCTAssertEqual(try numbers("samples.jsonl.1"), [0, 1, 2, 3], "4000 + 1000 bytes would pass 4096: rotated first")
        XCTAssertEqual(try numbers("samples.jsonl"), [4])
        for n in 5..<9 { try sink.write(line(n)) }
        XCTAssertEqual(try numbers("samples.jsonl.1"), [4, 5, 6, 7], "one generation: the old PATH.1 replaced")
        XCTAssertEqual(try numbers("samples.jsonl"), [8])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["samples.jsonl", "samples.jsonl.1"])
        for name in ["samples.jsonl", "samples.jsonl.1"] {
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path(name))[.size] as? Int)
            XCTAssertLessThanOrEqual(size, 4096)
        }
        // A line larger than the bound still goes into a file of its own, whole.
        try sink.write(line(9, 5000))
        XCTAssertEqual(try numbers("samples.jsonl"), [9])
        XCTAssertEqual(try numbers("samples.jsonl.1"), [8])
    }

    /// An existing file is appended to, and counts towards the bound from its present size.
    func testAnExistingFileIsAppendedAndCounted() throws {
        try line(0, 3500).write(toFile: path("samples.jsonl"), atomically: false, encoding: .utf8)
        let sink = try SeriesSink(path: path("samples.jsonl"), maxSize: 4096)
        try sink.write(line(1, 500))
        XCTAssertEqual(try numbers("samples.jsonl"), [0, 1])
        try sink.write(line(2, 500))
        XCTAssertEqual(try numbers("samples.jsonl.1"), [0, 1])
        XCTAssertEqual(try numbers("samples.jsonl"), [2])
    }

    func testALinkPlantedAtPathIsRefused() throws {
        let victim = path("victim")
        try "root's\n".write(toFile: victim, atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(victim, path("samples.jsonl")), 0)
        XCTAssertThrowsError(try SeriesSink(path: path("samples.jsonl"))) { error in
            XCTAssertTrue("\(error)".contains("is a symbolic link (to \(victim)); numaguard does not follow a link here"), "\(error)")
        }
        XCTAssertEqual(symlink(path("nothing"), path("dangling")), 0)
        XCTAssertThrowsError(try SeriesSink(path: path("dangling")), "a dangling link is not created through either")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("nothing")))
        XCTAssertEqual(try text("victim"), "root's\n")
    }

    /// Rotation renames over PATH.1 as an entry: a link planted there is replaced, its target untouched.
    func testALinkPlantedAtPath1IsReplacedNotFollowed() throws {
        let victim = path("victim")
        try "root's\n".write(toFile: victim, atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(victim, path("samples.jsonl.1")), 0)
        let sink = try SeriesSink(path: path("samples.jsonl"), maxSize: 4096)
        for n in 0..<5 { try sink.write(line(n)) }
        XCTAssertEqual(try text("victim"), "root's\n")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path("samples.jsonl.1"))[.type] as? FileAttributeType, .typeRegular)
        XCTAssertEqual(try numbers("samples.jsonl.1"), [0, 1, 2, 3])
        XCTAssertEqual(try numbers("samples.jsonl"), [4])
    }

    /// When PATH.1 cannot be replaced (a directory), the line is dropped and said, never written
    /// past the bound; once it can, the next line rotates.
    func testARotationThatFailsDropsTheLineInsteadOfGrowing() throws {
        try FileManager.default.createDirectory(atPath: path("samples.jsonl.1"), withIntermediateDirectories: false)
        let sink = try SeriesSink(path: path("samples.jsonl"), maxSize: 4096)
        for n in 0..<4 { try sink.write(line(n)) }
        XCTAssertThrowsError(try sink.write(line(4))) { error in
            XCTAssertTrue("\(error)".contains("samples.jsonl.1: is a directory"), "\(error)")
        }
        XCTAssertEqual(try numbers("samples.jsonl"), [0, 1, 2, 3])
        try FileManager.default.removeItem(atPath: path("samples.jsonl.1"))
        try sink.write(line(5))
        XCTAssertEqual(try numbers("samples.jsonl.1"), [0, 1, 2, 3])
        XCTAssertEqual(try numbers("samples.jsonl"), [5])
    }

    /// PATH moved away by another program and a link planted in its place: the moved file is
    /// not renamed, the link is refused at the reopen (the line is dropped and said), and once
    /// the link is gone a new PATH is created.
    func testAPathReplacedByALinkWhileOpenIsNotFollowed() throws {
        let sink = try SeriesSink(path: path("samples.jsonl"), maxSize: 4096)
        try sink.write(line(0))
        XCTAssertEqual(rename(path("samples.jsonl"), path("moved")), 0)
        let victim = path("victim")
        try "root's\n".write(toFile: victim, atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(victim, path("samples.jsonl")), 0)
        for n in 1..<4 { try sink.write(line(n)) }
        XCTAssertThrowsError(try sink.write(line(4))) { error in
            XCTAssertTrue("\(error)".contains("is a symbolic link"), "\(error)")
        }
        XCTAssertEqual(try text("victim"), "root's\n")
        XCTAssertEqual(try numbers("moved"), [0, 1, 2, 3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("samples.jsonl.1")), "only the open file is ever rotated")
        XCTAssertThrowsError(try sink.write(line(5)), "still refused while the link is there")
        try FileManager.default.removeItem(atPath: path("samples.jsonl"))
        try sink.write(line(6))
        XCTAssertEqual(try numbers("samples.jsonl"), [6])
        XCTAssertEqual(try text("victim"), "root's\n")
    }

    /// A FIFO is written through, whole lines, and never rotated (it stores nothing); one
    /// nobody reads is refused at the open, as for --events.
    func testAFIFOIsWrittenThroughAndNeverRotated() throws {
        let fifo = path("samples.fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try SeriesSink(path: fifo)) { error in
            XCTAssertTrue("\(error)".contains("is a FIFO nobody is reading"), "\(error)")
        }
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        let sink = try SeriesSink(path: fifo, maxSize: 4096)
        for n in 0..<10 { try sink.write(line(n)) }
        var bytes = [UInt8](repeating: 0, count: 20_000)
        let count = read(reader, &bytes, bytes.count)
        XCTAssertEqual(count, 10_000)
        let lines = String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(try lines.map { try XCTUnwrap(Command.json(String($0))["n"] as? Int) }, Array(0..<10))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["samples.fifo"], "no PATH.1")
    }

    func testDevNullIsWrittenAndASocketRefused() throws {
        let sink = try SeriesSink(path: "/dev/null", maxSize: 4096)
        for n in 0..<10 { try sink.write(line(n)) }
        let socketPath = path("s.sock")
        let listener = try UnixSocketFile(socketPath)
        defer { listener.close() }
        XCTAssertThrowsError(try SeriesSink(path: socketPath)) { error in
            XCTAssertTrue("\(error)".contains("s.sock"), "\(error)")
        }
    }
}
