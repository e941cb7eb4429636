import Foundation
import NumaguardHost
import TestSupport
import XCTest

/// OutputFile.check against OutputFile.write, case by case over real files, directories,
/// links, FIFOs, devices and sockets: a path write refuses is refused by the check with the
/// same reason (the same words where numaguard decides, the same errno where the kernel
/// does), a path write takes passes, and the check changes nothing (the tree's entries,
/// inodes and the directories' times are the same after it). Before, watch judged its
/// textfile with a check of its own that followed links, took a socket and, to see whether a
/// file could be created, created one (changing the directory). The tests run as root (chown
/// to nobody stands in for another user; capabilities dropped for one call stand in for a
/// service user); the cases that need root skip otherwise.
final class OutputCheckTests: XCTestCase {
    private var directory = ""
    private let nobody: uid_t = 65534
    private var sockets: [UnixSocketFile] = []

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-check-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(directory, 0o700), 0)
    }

    override func tearDownWithError() throws {
        for socket in sockets { socket.close() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    enum Expected {
        case accepted
        /// numaguard's own decision: the check's error is write's (path and reason), and says this.
        case refused(String)
        /// The kernel's: the same errno, and the check's reason says this.
        case kernel(Int32, String)
    }

    struct Case {
        var name: String
        var expected: Expected
        var root = false
        /// Taken out of the effective set for the check and the write (root without them is a
        /// service user as far as these permissions go).
        var without: [Capabilities.Capability] = []
        /// A reader holds the FIFO open, so a non-blocking write through it succeeds.
        var reader = false
        /// Makes what the case needs inside its own directory and returns the output path.
        var make: (String) throws -> String
    }

    private func shared(_ base: String, owner: uid_t = 0, mode: mode_t = 0o1777) -> String {
        let shared = base + "/shared"
        XCTAssertEqual(mkdir(shared, 0o700), 0)
        XCTAssertEqual(chmod(shared, mode), 0)
        XCTAssertEqual(chown(shared, owner, owner), 0)
        return shared
    }

    private func file(_ path: String, owner: uid_t = 0) throws -> String {
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(chown(path, owner, owner), 0)
        return path
    }

    private var cases: [Case] {
        [
            Case(name: "a new file", expected: .accepted) { $0 + "/numaguard.prom" },
            Case(name: "an existing regular file", expected: .accepted) { try self.file($0 + "/numaguard.prom") },
            // Replaced by rename, so the other name keeps the old contents: nothing to refuse.
            Case(name: "a regular file with two hard links", expected: .accepted) {
                let path = try self.file($0 + "/numaguard.prom")
                XCTAssertEqual(link(path, $0 + "/other"), 0)
                return path
            },
            Case(name: "a trusted link to a regular file", expected: .accepted) {
                _ = try self.file($0 + "/real.prom")
                XCTAssertEqual(symlink("real.prom", $0 + "/numaguard.prom"), 0)
                return $0 + "/numaguard.prom"
            },
            Case(name: "a trusted link on the way", expected: .accepted) {
                XCTAssertEqual(mkdir($0 + "/run", 0o755), 0)
                XCTAssertEqual(symlink("run", $0 + "/varrun"), 0)
                return $0 + "/varrun/numaguard.prom"
            },
            Case(name: "a character device", expected: .accepted, root: true) {
                XCTAssertEqual(mknod($0 + "/null", S_IFCHR | 0o666, dev_t((1 << 8) | 3)), 0)
                return $0 + "/null"
            },
            Case(name: "our own FIFO in a sticky shared directory", expected: .accepted, root: true, reader: true) {
                let path = self.shared($0) + "/pipe"
                XCTAssertEqual(mkfifo(path, 0o600), 0)
                return path
            },
            Case(name: "another user's file in a sticky directory, with CAP_FOWNER", expected: .accepted, root: true) {
                try self.file(self.shared($0, owner: self.nobody) + "/numaguard.prom", owner: self.nobody)
            },

            Case(name: "a directory", expected: .refused("is a directory")) {
                XCTAssertEqual(mkdir($0 + "/sub", 0o755), 0)
                return $0 + "/sub"
            },
            Case(name: "a trailing slash", expected: .refused("names no file")) { $0 + "/numaguard.prom/" },
            Case(name: "dot-dot", expected: .refused("names no file")) { $0 + "/.." },
            Case(name: "a missing directory", expected: .refused("No such file or directory")) { $0 + "/missing/numaguard.prom" },
            Case(name: "a file on the way", expected: .refused("is not a directory")) {
                try self.file($0 + "/plain") + "/numaguard.prom"
            },
            Case(name: "a block device", expected: .refused("is a block device"), root: true) {
                XCTAssertEqual(mknod($0 + "/disk", S_IFBLK | 0o600, dev_t((7 << 8) | 0)), 0)
                return $0 + "/disk"
            },
            // open(2) of a socket is ENXIO: write failed at every sample, the old check took it.
            Case(name: "a socket", expected: .refused("is a socket")) {
                let socket = try UnixSocketFile($0 + "/s")
                self.sockets.append(socket)
                return socket.path
            },
            Case(name: "a dangling link", expected: .refused("to nothing")) {
                XCTAssertEqual(symlink($0 + "/absent", $0 + "/numaguard.prom"), 0)
                return $0 + "/numaguard.prom"
            },
            Case(name: "a link loop", expected: .refused("to nothing")) {
                XCTAssertEqual(symlink("b", $0 + "/a"), 0)
                XCTAssertEqual(symlink("a", $0 + "/b"), 0)
                return $0 + "/a"
            },
            Case(name: "a trusted link to a directory", expected: .refused("is a directory")) {
                XCTAssertEqual(mkdir($0 + "/sub", 0o755), 0)
                XCTAssertEqual(symlink("sub", $0 + "/numaguard.prom"), 0)
                return $0 + "/numaguard.prom"
            },
            // The old check followed every link (stat) and probed the target's directory.
            Case(name: "a link another user planted in a sticky shared directory", expected: .refused("owned by uid 65534"), root: true) {
                _ = try self.file($0 + "/victim")
                let link = self.shared($0) + "/numaguard.prom"
                XCTAssertEqual(symlink($0 + "/victim", link), 0)
                XCTAssertEqual(lchown(link, self.nobody, self.nobody), 0)
                return link
            },
            Case(name: "a link another user planted on the way", expected: .refused("a symbolic link on the way owned by uid 65534"), root: true) {
                XCTAssertEqual(mkdir($0 + "/etc", 0o755), 0)
                let link = self.shared($0) + "/reports"
                XCTAssertEqual(symlink($0 + "/etc", link), 0)
                XCTAssertEqual(lchown(link, self.nobody, self.nobody), 0)
                return link + "/numaguard.prom"
            },
            Case(name: "a trusted link to a link another user planted", expected: .refused("owned by uid 65534"), root: true) {
                _ = try self.file($0 + "/victim")
                let planted = self.shared($0) + "/planted"
                XCTAssertEqual(symlink($0 + "/victim", planted), 0)
                XCTAssertEqual(lchown(planted, self.nobody, self.nobody), 0)
                XCTAssertEqual(symlink(planted, $0 + "/numaguard.prom"), 0)
                return $0 + "/numaguard.prom"
            },
            Case(name: "another user's FIFO in a sticky shared directory", expected: .refused("is a FIFO owned by uid 65534"), root: true) {
                let path = self.shared($0) + "/pipe"
                XCTAssertEqual(mkfifo(path, 0o666), 0)
                XCTAssertEqual(chown(path, self.nobody, self.nobody), 0)
                return path
            },
            Case(name: "another user's device in a sticky shared directory", expected: .refused("is a character device owned by uid 65534"),
                 root: true) {
                let path = self.shared($0) + "/null"
                XCTAssertEqual(mknod(path, S_IFCHR | 0o666, dev_t((1 << 8) | 3)), 0)
                XCTAssertEqual(chown(path, self.nobody, self.nobody), 0)
                return path
            },
            Case(name: "our own link in a shared directory that is not sticky", expected: .refused("is writable by others (mode 777)"), root: true) {
                _ = try self.file($0 + "/real.prom")
                let link = self.shared($0, mode: 0o777) + "/numaguard.prom"
                XCTAssertEqual(symlink($0 + "/real.prom", link), 0)
                return link
            },
            Case(name: "our own FIFO in another user's directory", expected: .refused("belongs to uid 65534"), root: true) {
                let path = self.shared($0, owner: self.nobody, mode: 0o755) + "/pipe"
                XCTAssertEqual(mkfifo(path, 0o600), 0)
                return path
            },
            Case(name: "a directory numaguard's user cannot list", expected: .refused("Permission denied"), root: true,
                 without: [.dacOverride, .dacReadSearch]) {
                XCTAssertEqual(mkdir($0 + "/locked", 0o300), 0)
                return $0 + "/locked/numaguard.prom"
            },

            // What the kernel refuses: the old check asked as root, or not at all.
            Case(name: "a directory numaguard's user cannot write", expected: .kernel(EACCES, "Permission denied"), root: true,
                 without: [.dacOverride]) {
                XCTAssertEqual(mkdir($0 + "/ro", 0o555), 0)
                return $0 + "/ro/numaguard.prom"
            },
            Case(name: "another user's file in their sticky directory, without CAP_FOWNER",
                 expected: .kernel(EPERM, "only they (or CAP_FOWNER) may replace it"), root: true, without: [.fowner]) {
                try self.file(self.shared($0, owner: self.nobody) + "/numaguard.prom", owner: self.nobody)
            },
            Case(name: "a FIFO numaguard's user cannot write", expected: .kernel(EACCES, "Permission denied"), root: true,
                 without: [.dacOverride], reader: true) {
                XCTAssertEqual(mkfifo($0 + "/pipe", 0o400), 0)
                return $0 + "/pipe"
            },
        ]
    }

    func testTheCheckDecidesAsTheWriteDoesAndChangesNothing() throws {
        for (index, testCase) in cases.enumerated() {
            if testCase.root && geteuid() != 0 { continue }
            let base = directory + "/\(index)"
            XCTAssertEqual(mkdir(base, 0o700), 0)
            let path = try testCase.make(base)
            var reader: Int32 = -1
            if testCase.reader { reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
            defer { if reader >= 0 { close(reader) } }

            let before = tree()
            let checked = try without(testCase.without) { () -> OutputError? in
                do throws(OutputError) { try OutputFile.check(path) } catch { return error }
                return nil
            }
            XCTAssertEqual(tree(), before, "\(testCase.name): the check changed the tree")
            let written = try without(testCase.without) { () -> OutputError? in
                do throws(OutputError) { try OutputFile.write("numaguard 1\n", to: path, blocking: false) } catch { return error }
                return nil
            }

            switch testCase.expected {
            case .accepted:
                XCTAssertNil(checked, "\(testCase.name): \(checked.map { "\($0)" } ?? "")")
                XCTAssertNil(written, "\(testCase.name): \(written.map { "\($0)" } ?? "")")
            case let .refused(words):
                guard let checked, let written else {
                    XCTFail("\(testCase.name): check \(checked.map { "\($0)" } ?? "passed"), write \(written.map { "\($0)" } ?? "passed")")
                    continue
                }
                XCTAssertEqual("\(checked)", "\(written)", testCase.name)
                XCTAssertEqual(checked.errno, written.errno, testCase.name)
                XCTAssertTrue("\(checked)".contains(words), "\(testCase.name): \(checked)")
            case let .kernel(number, words):
                guard let checked, let written else {
                    XCTFail("\(testCase.name): check \(checked.map { "\($0)" } ?? "passed"), write \(written.map { "\($0)" } ?? "passed")")
                    continue
                }
                XCTAssertEqual(written.errno, Errno(number), "\(testCase.name): \(written)")
                XCTAssertEqual(checked.errno, Errno(number), "\(testCase.name): \(checked)")
                XCTAssertEqual(checked.path, written.path, testCase.name)
                XCTAssertTrue("\(checked)".hasPrefix("cannot write \(path): "), "\(testCase.name): \(checked)")
                XCTAssertTrue("\(checked)".contains(words), "\(testCase.name): \(checked)")
            }
        }
    }

    /// Standard output is checked, not written: `-` passes while descriptor 1 is open for writing.
    func testStandardOutputIsCheckedWithoutWriting() throws {
        try OutputFile.check("-")
    }

    /// A FIFO's reader keeps waiting for the first bytes: the check did not open the FIFO for
    /// writing (its close would have been the reader's end of input) and nobody read anything.
    func testAFIFOIsNotOpenedByTheCheck() throws {
        let fifo = directory + "/pipe"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        XCTAssertGreaterThanOrEqual(watch, 0)
        defer { close(watch) }
        XCTAssertGreaterThanOrEqual(inotify_add_watch(watch, fifo, UInt32(IN_OPEN | IN_MODIFY | IN_ATTRIB | IN_CLOSE)), 0)
        try OutputFile.check(fifo)
        var buffer = [UInt8](repeating: 0, count: 4096)
        // inotify queues an event as the open happens, so an empty queue now means no open.
        XCTAssertEqual(read(watch, &buffer, buffer.count), -1)
        XCTAssertEqual(errno, EAGAIN, "the FIFO was opened, changed or closed by the check")
    }

    // MARK: - Helpers

    /// Every entry under the test directory with what a create, a removal, a rename or a write
    /// would change (the directories' mtime and ctime record even an entry made and removed).
    private func tree() -> [String: String] {
        var entries: [String: String] = [:]
        func visit(_ path: String) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            entries[path] = "\(info.st_ino) \(String(info.st_mode, radix: 8)) \(info.st_uid) \(info.st_nlink) \(info.st_size) "
                + "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
            guard info.st_mode & S_IFMT == S_IFDIR, let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
            for name in names { visit(path + "/" + name) }
        }
        visit(directory)
        return entries
    }

    /// `body` run with `capabilities` out of this thread's effective set.
    private func without<T>(_ capabilities: [Capabilities.Capability], _ body: () -> T) throws -> T {
        try without(capabilities[...], body)
    }

    private func without<T>(_ capabilities: ArraySlice<Capabilities.Capability>, _ body: () -> T) throws(SystemCallError) -> T {
        guard let first = capabilities.first else { return body() }
        return try Capabilities.withoutEffective(first) { () throws(SystemCallError) -> T in
            try without(capabilities.dropFirst(), body)
        }
    }
}
