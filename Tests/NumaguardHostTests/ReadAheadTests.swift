import Foundation
@testable import NumaguardHost
import XCTest

/// `streamContents` reads a large file one chunk ahead on a second thread: the bytes must
/// arrive whole and in order, and a consumer that stops early must not hang or leak the thread.
final class ReadAheadTests: XCTestCase {
    private struct Stop: Error {}

    private func largeFile(bytes count: Int) throws -> (root: HostRoot, contents: [UInt8], directory: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("readahead-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Lines of varying length, as numa_maps has, so chunk edges fall mid-line.
        var contents: [UInt8] = []
        var line = 0
        while contents.count < count {
            contents += Array("7f\(String(line, radix: 16)) bind:0 anon=\(line % 97) N0=\(line % 89)\(String(repeating: " x", count: line % 13))\n".utf8)
            line += 1
        }
        try Data(contents).write(to: directory.appendingPathComponent("big"))
        return (HostRoot(path: directory.path), contents, directory)
    }

    func testChunksArriveWholeAndInOrder() throws {
        let (root, contents, directory) = try largeFile(bytes: 3 * 1024 * 1024 + 12345)
        defer { try? FileManager.default.removeItem(at: directory) }
        for chunkSize in [64 * 1024, 256 * 1024] {
            var received: [UInt8] = []
            var chunks = 0
            try root.streamContents("big", chunkSize: chunkSize) { (chunk) throws(Never) in
                received.append(contentsOf: chunk)
                chunks += 1
            }.get()
            XCTAssertEqual(received.count, contents.count, "chunk size \(chunkSize)")
            XCTAssertTrue(received == contents, "chunk size \(chunkSize): the bytes differ")
            XCTAssertGreaterThanOrEqual(chunks, contents.count / chunkSize, "chunk size \(chunkSize)")
        }
    }

    func testAConsumerThatStopsEarlyGetsItsErrorAndTheReaderStops() throws {
        let (root, _, directory) = try largeFile(bytes: 2 * 1024 * 1024)
        defer { try? FileManager.default.removeItem(at: directory) }
        for stopAt in [1, 2, 3, 5] {
            var seen = 0
            let outcome = try root.streamContents("big", chunkSize: 64 * 1024) { (_) throws(Stop) in
                seen += 1
                if seen == stopAt { throw Stop() }
            }
            XCTAssertThrowsError(try outcome.get(), "stopped at chunk \(stopAt)")
            XCTAssertEqual(seen, stopAt, "no chunk is handed over after the consumer stopped")
        }
    }

    /// A file shorter than one chunk is read without a second thread and arrives the same.
    func testSmallFilesStayOnTheCallersThread() throws {
        let (root, contents, directory) = try largeFile(bytes: 10 * 1024)
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertEqual(try root.readBytes("big"), contents)
    }
}
