#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import NumaguardHost
import NumaguardCore
import CLinux
import XCTest

/// A root other than `/` is a tree of untrusted files: its paths resolve inside it, only
/// regular files are read, and no read is unbounded (issue 12). Real files, real links.
final class HostRootConfinementTests: XCTestCase {
    var base: URL!
    var root: URL!
    /// A file outside the root whose content must never come back.
    var secret: URL!
    static let secretText = "outside-secret-7d1c"

    override func setUpWithError() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-confine-\(UUID().uuidString)")
        root = base.appendingPathComponent("a/b/root")
        secret = base.appendingPathComponent("secret")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("proc/1"), withIntermediateDirectories: true)
        try Self.secretText.write(to: secret, atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(at: base.appendingPathComponent("outside-dir/\(Self.secretText)"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: base)
    }

    func write(_ relative: String, _ text: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: false, encoding: .utf8)
    }

    func link(_ relative: String, _ target: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    var host: HostRoot { HostRoot(path: root.path) }

    /// The read fails with a refusal naming the file, and nothing of the secret shows.
    func assertRefused(_ relative: String, _ words: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try host.readText(relative), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(root.appendingPathComponent(relative).path), text, file: file, line: line)
            XCTAssertTrue(text.contains(words), text, file: file, line: line)
            XCTAssertFalse(text.contains(Self.secretText), text, file: file, line: line)
            XCTAssertFalse((error as? HostError)?.isMissing ?? true, "a refusal, not an absent file: \(text)", file: file, line: line)
        }
    }

    func testAbsoluteLinkOutOfTheRootIsNotFollowed() throws {
        try link("proc/1/cmdline", secret.path)
        assertRefused("proc/1/cmdline", "leads outside the host root")
        XCTAssertFalse(host.exists("proc/1/cmdline"))
    }

    func testDotDotLinkOutOfTheRootIsNotFollowed() throws {
        // proc/1 -> proc -> root -> b -> a -> base: one `..` too many for the root, enough for the real tree.
        try link("proc/1/cmdline", "../../../../../secret")
        assertRefused("proc/1/cmdline", "leads outside the host root")
        try link("proc/1/environ", "../../../../../../../../../../../..\(secret.path)")
        assertRefused("proc/1/environ", "leads outside the host root")
    }

    /// A `/` before a combining mark separates names like any other: split by Characters,
    /// `../\u{301}esc` was one name, and the kernel resolved its `..` above the root, both in
    /// the walk without openat2 (`byComponents`) and in `resolve`'s lstat of each name.
    func testASlashBeforeACombiningMarkDoesNotClimbOut() throws {
        let outside = root.deletingLastPathComponent().appendingPathComponent("\u{301}esc")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Self.secretText.write(to: outside.appendingPathComponent("secret"), atomically: false, encoding: .utf8)
        try link("proc/1/cmdline", "../../../\u{301}esc/secret")
        let rootFD = open(root.path, clinux_o_path | O_DIRECTORY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(rootFD, 0)
        defer { close(rootFD) }
        for path in ["proc/1/cmdline", "proc/../../\u{301}esc/secret"] {
            // Opened, it would be the secret: the walk must end inside the root, where nothing is.
            XCTAssertThrowsError(try RootedOpen.byComponents(rootFD: rootFD, path, flags: O_RDONLY, display: path), path)
        }
        assertRefused("proc/1/cmdline", "leads outside the host root")
        try link("sys/class/net/x", "../../../../\u{301}esc")
        // Resolved outside, it would name the directory beside the root.
        XCTAssertThrowsError(try host.resolve("sys/class/net/x"), "\((try? host.resolve("sys/class/net/x"))?.path ?? "")")
    }

    func testDirectoryLinkOutOfTheRootIsNotListed() throws {
        try link("proc/2", "../../../../outside-dir")
        XCTAssertThrowsError(try host.list("proc/2")) { error in
            XCTAssertFalse("\(error)".contains(Self.secretText), "\(error)")
        }
        try link("proc/3", base.appendingPathComponent("outside-dir").path)
        XCTAssertThrowsError(try host.list("proc/3"))
        XCTAssertThrowsError(try host.readText("proc/3/\(Self.secretText)/../../secret"))
    }

    func testLinkToDevZeroIsResolvedInsideTheRoot() throws {
        try link("proc/1/cmdline", "/dev/zero")
        assertRefused("proc/1/cmdline", "leads outside the host root")
        // A device node inside the captured tree (mknod needs CAP_MKNOD): refused by type.
        let node = root.appendingPathComponent("dev/zero")
        try FileManager.default.createDirectory(at: node.deletingLastPathComponent(), withIntermediateDirectories: true)
        if mknod(node.path, S_IFCHR | 0o666, 0x105 /* makedev(1, 5) */) == 0 {
            assertRefused("proc/1/cmdline", "a character device, not a regular file")
            assertRefused("dev/zero", "a character device, not a regular file")
        }
    }

    /// (A FIFO is tested end to end, under timeout(1): InspectConfinementTests.)

    func testLinksInsideTheRootStillResolve() throws {
        try write("sys/devices/pci0000:00/0000:3b:00.0/numa_node", "1\n")
        try link("sys/class/net/ens1f0", "../../devices/pci0000:00/0000:3b:00.0/net/ens1f0")
        try link("sys/devices/pci0000:00/0000:3b:00.0/net/ens1f0/device", "../../../0000:3b:00.0")
        XCTAssertEqual(try host.readText("sys/class/net/ens1f0/device/numa_node"), "1\n")
        XCTAssertEqual(try host.list("sys/class/net/ens1f0/device").sorted(), ["net", "numa_node"])
        // An absolute link means the captured host's path: it is found in the capture.
        try write("etc/real", "inside\n")
        try link("etc/alias", "/etc/real")
        XCTAssertEqual(try host.readText("etc/alias"), "inside\n")
        XCTAssertTrue(host.exists("etc/alias"))
        XCTAssertEqual(try host.readLink("etc/alias"), "/etc/real")
        // A link that climbs out and back in stays usable.
        try link("proc/self", "1")
        try write("proc/1/comm", "probe\n")
        XCTAssertEqual(try host.readText("proc/self/comm"), "probe\n")
        XCTAssertEqual(try host.readText("proc/1/../../../../proc/1/comm"), "probe\n")
    }

    func testLinkLoopIsRefused() throws {
        try link("proc/1/a", "b")
        try link("proc/1/b", "a")
        assertRefused("proc/1/a", "symbolic links")
    }

    /// The walk used where openat2 is missing (kernels before 5.6, seccomp): same answers.
    func testComponentWalkAgreesWithOpenat2() throws {
        try write("etc/real", "inside\n")
        try link("etc/alias", "/etc/real")
        try link("proc/1/cmdline", secret.path)
        try link("proc/1/up", "../../../../../secret")
        let rootFD = try RootedOpen.openRoot(root.path, display: root.path)
        defer { close(rootFD) }
        func read(_ relative: String) throws -> String {
            let fd = try RootedOpen.byComponents(rootFD: rootFD, relative, flags: O_RDONLY, display: relative)
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = Glibc.read(fd, &buffer, buffer.count)
            return String(decoding: buffer[0..<max(0, count)], as: UTF8.self)
        }
        XCTAssertEqual(try read("etc/alias"), "inside\n")
        XCTAssertEqual(try read("etc/../etc/./alias"), "inside\n")
        for escaping in ["proc/1/cmdline", "proc/1/up"] {
            XCTAssertThrowsError(try read(escaping)) { error in
                XCTAssertTrue("\(error)".contains("leads outside the host root"), "\(error)")
            }
        }
    }

    func testReadsAreCapped() throws {
        // Sparse: reads as zeros, costs no disk.
        let big = root.appendingPathComponent("proc/vmstat")
        XCTAssertTrue(FileManager.default.createFile(atPath: big.path, contents: nil))
        let handle = try FileHandle(forWritingTo: big)
        try handle.truncate(atOffset: UInt64(HostRoot.maximumFileBytes + 1))
        try handle.close()
        assertRefused("proc/vmstat", "more than 16 MiB")
        // The live root is capped too (an absolute path through the live root).
        XCTAssertThrowsError(try HostRoot.live.readBytes(String(big.path.dropFirst()))) { error in
            XCTAssertTrue("\(error)".contains("more than 16 MiB"), "\(error)")
        }
        // A streamed file gets the larger cap, and is refused past it.
        let handle2 = try FileHandle(forWritingTo: big)
        try handle2.truncate(atOffset: UInt64(HostRoot.maximumStreamedBytes + 1))
        try handle2.close()
        var seen = 0
        XCTAssertThrowsError(try host.streamContents("proc/vmstat") { (chunk: UnsafeBufferPointer<UInt8>) throws(Never) in
            seen += chunk.count
        }.get()) { error in
            XCTAssertTrue("\(error)".contains("more than 64 MiB"), "\(error)")
        }
        XCTAssertLessThanOrEqual(seen, HostRoot.maximumStreamedBytes)
    }
}
