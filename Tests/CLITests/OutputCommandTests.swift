import Foundation
import TestSupport
import XCTest

/// Output options end to end: `-` and /dev/stdout are standard output, a device stays a
/// device, and an events file that is a link another user could have planted is refused
/// (exit 73) without anything being created.
final class OutputCommandTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-out-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func testDashAndDevStdoutAreStandardOutput() throws {
        let root = Fixtures.path("linux-6.1-2node")
        let plain = try Command.numaguard(["snapshot", "--host-root", root])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        for out in ["-", "/dev/stdout"] {
            let result = try Command.numaguard(["snapshot", "--host-root", root, "--out", out])
            XCTAssertEqual(result.status, 0, "\(out): \(result.stderr)")
            XCTAssertEqual(try Command.json(result.stdout)["kind"] as? String, "snapshot", out)
            XCTAssertEqual(result.stdout.count, plain.stdout.count, out)
        }
        XCTAssertEqual(FileManager.default.fileExists(atPath: "-"), false, "no file named -")
    }

    /// A device with /dev/null's numbers in the test's own directory (a regression must not
    /// replace the machine's /dev/null, which every other process shares).
    func testCaptureIntoANullDeviceLeavesItADevice() throws {
        try XCTSkipUnless(geteuid() == 0, "mknod needs root")
        let null = directory + "/null"
        XCTAssertEqual(mknod(null, S_IFCHR | 0o666, dev_t((1 << 8) | 3)), 0)
        let result = try Command.numaguard(["capture", "--host-root", Fixtures.path("linux-6.1-2node"), "--out", null])
        XCTAssertEqual(result.status, 0, result.stderr)
        var info = stat()
        XCTAssertEqual(lstat(null, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "still a character device")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["null"])
    }

    func testWatchRefusesADanglingEventsLinkInAStickyWorldWritableDirectory() throws {
        let shared = directory + "/tmp"
        XCTAssertEqual(mkdir(shared, 0o777), 0)
        XCTAssertEqual(chmod(shared, 0o1777), 0)
        let target = directory + "/etc-numaguard-events"
        let link = shared + "/events.jsonl"
        XCTAssertEqual(symlink(target, link), 0)
        if geteuid() == 0 { XCTAssertEqual(lchown(link, 65534, 65534), 0, "planted by nobody") }
        let policy = directory + "/p.yaml"
        try "version: 1\n".write(toFile: policy, atomically: false, encoding: .utf8)
        let result = try Command.numaguard(["watch", "--policy", policy, "--events", link, "--count", "1",
                                            "--host-root", Fixtures.path("linux-6.1-2node")])
        XCTAssertEqual(result.status, 73, result.stderr)
        XCTAssertTrue(result.stderr.contains("cannot open --events \(link): is a symbolic link (to \(target))"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "nothing created through the link")
    }
}
