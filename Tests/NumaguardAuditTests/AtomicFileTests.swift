import Foundation
import NumaguardHost
import XCTest

final class AtomicFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private var entries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()) ?? [] }

    func testWritesWithMode0644AndLeavesNoTemporaryFile() throws {
        let path = directory.appendingPathComponent("numaguard.prom").path
        try AtomicFile.write("numaguard_audit_compliant 1\n", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "numaguard_audit_compliant 1\n")
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)
        XCTAssertEqual(mode.intValue, 0o644)
        XCTAssertEqual(entries, ["numaguard.prom"])
    }

    func testWritesEmptyAndNonASCIIContents() throws {
        let path = directory.appendingPathComponent("x").path
        try AtomicFile.write("", to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)).count, 0)
        try AtomicFile.write("é 日本\n", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "é 日本\n")
    }

    func testReplacesByRenameSoAnOpenReaderKeepsTheOldFile() throws {
        let path = directory.appendingPathComponent("report.xml").path
        try AtomicFile.write("old\n", to: path)
        let before = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)
        let reader = try XCTUnwrap(FileHandle(forReadingAtPath: path))
        defer { try? reader.close() }
        try AtomicFile.write("new contents\n", to: path)
        let after = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)
        XCTAssertNotEqual(before, after, "the target was rewritten in place, not replaced")
        XCTAssertEqual(String(decoding: try reader.readToEnd() ?? Data(), as: UTF8.self), "old\n")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "new contents\n")
        XCTAssertEqual(entries, ["report.xml"])
    }

    func testConcurrentReadersNeverSeeAPartialFile() throws {
        let path = directory.appendingPathComponent("big.prom").path
        let versions = (0..<2).map { String(repeating: "\($0)", count: 512 * 1024) }
        try AtomicFile.write(versions[0], to: path)
        let done = ManagedAtomicFlag()
        let reads = DispatchGroup()
        let bad = ManagedAtomicFlag()
        DispatchQueue.global().async(group: reads) {
            while !done.value {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { bad.set(); continue }
                if !versions.contains(text) { bad.set() }
            }
        }
        for round in 0..<40 { try AtomicFile.write(versions[round % 2], to: path) }
        done.set()
        reads.wait()
        XCTAssertFalse(bad.value, "a reader saw a missing or partial file")
        XCTAssertEqual(entries, ["big.prom"])
    }

    func testMissingDirectoryIsAClearErrorAndCreatesNothing() throws {
        let missing = directory.appendingPathComponent("no/such/dir").path
        do {
            try AtomicFile.write("x", to: missing + "/numaguard.prom")
            XCTFail("wrote into a missing directory")
        } catch {
            XCTAssertEqual(error.errno, .noEntry)
            XCTAssertTrue(error.description.contains("open(\(missing))"), "the directory is opened first: \(error.description)")
            XCTAssertTrue(error.description.contains("No such file or directory"), error.description)
        }
        XCTAssertEqual(entries, [])
    }

    func testFailedRenameRemovesTheTemporaryFileAndKeepsTheTarget() throws {
        // A directory in the target's place: rename(2) refuses (EISDIR) after the write.
        let target = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        do {
            try AtomicFile.write("x", to: target.path)
            XCTFail("renamed over a directory")
        } catch {
            XCTAssertEqual(error.call, "rename")
            XCTAssertTrue(error.description.contains(target.path), error.description)
        }
        XCTAssertEqual(entries, ["occupied"])
    }

    func testRejectsAPathWithoutAFileName() {
        XCTAssertThrowsError(try AtomicFile.write("x", to: directory.path + "/")) { error in
            XCTAssertEqual((error as? SystemCallError)?.errno, .invalid)
        }
        XCTAssertEqual(entries, [])
    }

    func testRelativePathWritesInTheCurrentDirectory() throws {
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try AtomicFile.write("rel\n", to: "relative.prom")
        XCTAssertEqual(try String(contentsOfFile: directory.appendingPathComponent("relative.prom").path, encoding: .utf8), "rel\n")
        XCTAssertEqual(entries, ["relative.prom"])
    }
}

/// A flag set from one thread and read from another.
private final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}
