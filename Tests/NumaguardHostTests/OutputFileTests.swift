import Foundation
import NumaguardHost
import XCTest

/// What an output path is decides how it is written: special files are written through and
/// stay what they are, regular files are replaced atomically, and links another user could
/// have planted are refused. Real files, devices and FIFOs (the tests run as root on the CI
/// and build machines; the device tests skip otherwise).
final class OutputFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-output-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(directory, 0o700), 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func kind(_ path: String) -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return info.st_mode & S_IFMT
    }

    private func inode(_ path: String) -> ino_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return info.st_ino
    }

    /// A character device with /dev/null's numbers, made in the test's own directory: the real
    /// /dev/null is shared by everything on the machine, and a regression must not replace it.
    func testANullDeviceStaysACharacterDeviceAndSwallowsTheBytes() throws {
        try XCTSkipUnless(geteuid() == 0, "mknod needs root")
        let null = directory + "/null"
        XCTAssertEqual(mknod(null, S_IFCHR | 0o666, dev_t((1 << 8) | 3)), 0, String(cString: strerror(errno)))
        XCTAssertEqual(chmod(null, 0o666), 0)
        try OutputFile.write("a snapshot\n", to: null)
        try OutputFile.write([0, 1, 2], to: null, mode: 0o600)
        XCTAssertEqual(kind(null), S_IFCHR, "still a character device, not a regular file")
        var info = stat()
        XCTAssertEqual(stat(null, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o666, "its mode is untouched")
        XCTAssertEqual(FileManager.default.contentsOfDirectory(atPath: directory, or: []), ["null"], "no temporary file left")
    }

    func testTheRealDevNullIsWrittenThrough() throws {
        // Safe to run now that the fix is in: before it, this replaced the machine's /dev/null.
        try OutputFile.write("x\n", to: "/dev/null")
        XCTAssertEqual(kind("/dev/null"), S_IFCHR)
    }

    func testAFIFOWithAReaderReceivesTheBytes() throws {
        let fifo = directory + "/pipe"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let received = Received()
        let reader = Thread {
            // Blocks until the writer opens; reads to EOF (the writer's close).
            let fd = open(fifo, O_RDONLY | O_CLOEXEC)
            var buffer = [UInt8](repeating: 0, count: 65536)
            while fd >= 0 {
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { break }
                received.data.append(contentsOf: buffer[..<count])
            }
            if fd >= 0 { close(fd) }
            received.done.signal()
        }
        reader.start()
        let payload = String(repeating: "numaguard_watch_samples_total 3\n", count: 4000) // more than a pipe buffer
        do {
            try OutputFile.write(payload, to: fifo)
        } catch {
            // Let the reader go rather than hang the suite.
            let release = open(fifo, O_WRONLY | O_NONBLOCK)
            if release >= 0 { close(release) }
            received.done.wait()
            throw error
        }
        received.done.wait()
        XCTAssertEqual(String(decoding: received.data, as: UTF8.self), payload)
        XCTAssertEqual(kind(fifo), S_IFIFO, "still a FIFO")
    }

    func testARegularFileIsReplacedAtomicallyAsBefore() throws {
        let path = directory + "/snapshot.json"
        try OutputFile.write("old\n", to: path)
        let before = inode(path)
        let reader = try XCTUnwrap(FileHandle(forReadingAtPath: path))
        defer { try? reader.close() }
        try OutputFile.write("new\n", to: path)
        XCTAssertNotEqual(inode(path), before, "replaced by rename, not rewritten in place")
        XCTAssertEqual(String(decoding: try reader.readToEnd() ?? Data(), as: UTF8.self), "old\n", "a reader keeps the old file")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "new\n")
        XCTAssertEqual(kind(path), S_IFREG)
        XCTAssertEqual(FileManager.default.contentsOfDirectory(atPath: directory, or: []), ["snapshot.json"])
    }

    /// watch's textfile (`synced: false`, no fsync: it is rewritten every interval) is still
    /// replaced by rename: a reader (node_exporter) never sees half a file.
    func testAnUnsyncedReplaceIsStillAtomic() throws {
        let path = directory + "/numaguard.prom"
        try OutputFile.write("old\n", to: path, blocking: false, synced: false)
        let before = inode(path)
        let reader = try XCTUnwrap(FileHandle(forReadingAtPath: path))
        defer { try? reader.close() }
        try OutputFile.write("new\n", to: path, blocking: false, synced: false)
        XCTAssertNotEqual(inode(path), before, "replaced by rename, not rewritten in place")
        XCTAssertEqual(String(decoding: try reader.readToEnd() ?? Data(), as: UTF8.self), "old\n")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "new\n")
        XCTAssertEqual(FileManager.default.contentsOfDirectory(atPath: directory, or: []), ["numaguard.prom"])
    }

    func testATrustedLinkToARegularFileKeepsTheLinkAndReplacesItsTarget() throws {
        let target = directory + "/real.prom", link = directory + "/numaguard.prom"
        try "old\n".write(toFile: target, atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(target, link), 0)
        try OutputFile.write("new\n", to: link)
        XCTAssertEqual(kind(link), S_IFLNK, "the link stays a link")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "new\n")
    }

    func testALinkAnotherUserPlantedInAStickyWorldWritableDirectoryIsNotFollowed() throws {
        try XCTSkipUnless(geteuid() == 0, "lchown to another user needs root")
        let shared = directory + "/tmp"
        XCTAssertEqual(mkdir(shared, 0o777), 0)
        XCTAssertEqual(chmod(shared, 0o1777), 0)
        let victim = directory + "/shadow"
        try "secret\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let link = shared + "/capture.tar"
        XCTAssertEqual(symlink(victim, link), 0)
        XCTAssertEqual(lchown(link, 65534, 65534), 0)
        XCTAssertThrowsError(try OutputFile.write("report\n", to: link)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("cannot write \(link): is a symbolic link (to \(victim)) owned by uid 65534 and its directory "
                                         + "\(shared) is writable by others (mode 1777)"), text)
        }
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "secret\n", "the target is untouched")
        XCTAssertEqual(kind(link), S_IFLNK)

        // A FIFO another user made there is not written through either (it would hand them the output).
        let fifo = shared + "/events"
        XCTAssertEqual(mkfifo(fifo, 0o666), 0)
        XCTAssertEqual(lchown(fifo, 65534, 65534), 0)
        XCTAssertThrowsError(try OutputFile.write("report\n", to: fifo))
    }

    func testADanglingLinkIsRefusedAndNothingIsCreatedThroughIt() throws {
        let shared = directory + "/tmp"
        XCTAssertEqual(mkdir(shared, 0o777), 0)
        XCTAssertEqual(chmod(shared, 0o1777), 0)
        let target = directory + "/etc-file"
        let link = shared + "/numaguard.prom"
        XCTAssertEqual(symlink(target, link), 0)
        // Our own link (trusted in a sticky directory) is still never a way to create a file.
        XCTAssertThrowsError(try OutputFile.write("x\n", to: link)) { error in
            XCTAssertTrue("\(error)".contains("is a symbolic link (to \(target)) to nothing"), "\(error)")
        }
        XCTAssertThrowsError(try OutputFile.openAppend(link, mode: 0o644)) { error in
            XCTAssertTrue("\(error)".contains("cannot write \(link): is a symbolic link (to \(target)); numaguard does not follow"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
    }

    func testADirectoryIsRefused() throws {
        let sub = directory + "/sub"
        XCTAssertEqual(mkdir(sub, 0o755), 0)
        XCTAssertThrowsError(try OutputFile.write("x\n", to: sub)) { error in
            XCTAssertTrue("\(error)".hasSuffix("is a directory"), "\(error)")
        }
    }

    func testAppendingCreatesOnceThenAppends() throws {
        let path = directory + "/events.jsonl"
        let first = try OutputFile.openAppend(path, mode: 0o600)
        XCTAssertTrue(first.created)
        let line = Array("{\"event\":\"start\"}\n".utf8)
        try line.withUnsafeBufferPointer { try FileHandleWriter.appendLine(first.fd, $0, subject: path) }
        close(first.fd)
        let second = try OutputFile.openAppend(path, mode: 0o600)
        XCTAssertFalse(second.created)
        try line.withUnsafeBufferPointer { try FileHandleWriter.appendLine(second.fd, $0, subject: path) }
        close(second.fd)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"event\":\"start\"}\n{\"event\":\"start\"}\n")
    }

    /// A line that does not fit (RLIMIT_FSIZE stands in for a full disk: the kernel writes
    /// what fits, then refuses) is cut back off the file, so the next line is not glued to it.
    func testALineCutShortIsRemovedNotLeftTorn() throws {
        let path = directory + "/events.jsonl"
        let opened = try OutputFile.openAppend(path, mode: 0o600)
        defer { close(opened.fd) }
        let first = Array("{\"n\":1}\n".utf8)
        try first.withUnsafeBufferPointer { try FileHandleWriter.appendLine(opened.fd, $0, subject: path) }
        var saved = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved), 0)
        let previous = signal(SIGXFSZ, SIG_IGN)
        var small = saved
        small.rlim_cur = 20
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &small), 0)
        let long = Array("{\"n\":2,\"message\":\"longer than what fits\"}\n".utf8)
        var failure: SystemCallError?
        long.withUnsafeBufferPointer { bytes in
            do throws(SystemCallError) { try FileHandleWriter.appendLine(opened.fd, bytes, subject: path) } catch { failure = error }
        }
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved), 0)
        signal(SIGXFSZ, previous)
        XCTAssertEqual(failure?.errno, Errno(EFBIG))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"n\":1}\n", "the partial line was cut back")
        try first.withUnsafeBufferPointer { try FileHandleWriter.appendLine(opened.fd, $0, subject: path) }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"n\":1}\n{\"n\":1}\n")
    }
}

/// What the FIFO reader thread got.
private final class Received: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}

private extension FileManager {
    func contentsOfDirectory(atPath path: String, or fallback: [String]) -> [String] {
        ((try? contentsOfDirectory(atPath: path)) ?? fallback).sorted()
    }
}
