import Foundation
import NumaguardHost
import XCTest

/// What the reviewer found in OutputFile: a hard link accepted for appending, FIFOs that
/// block a service forever, a symbolic link above the last directory followed, an existing
/// directory of another user's taken for certify's output; and TrustedInput, which keeps a
/// plan another user could have written from choosing what root changes. Real files, links
/// and FIFOs in a temporary directory (the tests run as root: chown to nobody stands in for
/// another user).
final class OutputTrustTests: XCTestCase {
    private var directory = ""
    private let nobody: uid_t = 65534

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-trust-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(directory, 0o700), 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func shared() -> String {
        let shared = directory + "/shared"
        XCTAssertEqual(mkdir(shared, 0o777), 0)
        XCTAssertEqual(chmod(shared, 0o1777), 0)
        return shared
    }

    func testAHardLinkIsNotAppendedTo() throws {
        let victim = directory + "/victim"
        try "root's\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let events = directory + "/events.jsonl"
        XCTAssertEqual(link(victim, events), 0)
        XCTAssertThrowsError(try OutputFile.openAppend(events, mode: 0o644)) { error in
            XCTAssertTrue("\(error)".contains("is a regular file with 2 hard links"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "root's\n")
    }

    func testAFIFONobodyReadsFailsInsteadOfBlockingWhenNotBlocking() throws {
        let fifo = directory + "/numaguard.prom"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // Before the fix these opens waited for a reader forever (the test would hang).
        XCTAssertThrowsError(try OutputFile.write("x 1\n", to: fifo, blocking: false)) { error in
            XCTAssertEqual((error as? OutputError)?.errno, Errno(ENXIO), "\(error)")
            XCTAssertTrue("\(error)".contains("is a FIFO nobody is reading"), "\(error)")
        }
        XCTAssertThrowsError(try OutputFile.openAppend(fifo, mode: 0o644)) { error in
            XCTAssertEqual((error as? OutputError)?.errno, Errno(ENXIO), "\(error)")
        }
    }

    /// A full pipe is a failed write, not a wait: a reader that opened it and reads nothing.
    func testAFullPipeFailsInsteadOfBlockingWhenNotBlocking() throws {
        let fifo = directory + "/numaguard.prom"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        let payload = String(repeating: "numaguard_watch_samples_total 3\n", count: 100_000) // far more than a pipe holds
        XCTAssertThrowsError(try OutputFile.write(payload, to: fifo, blocking: false)) { error in
            XCTAssertEqual((error as? OutputError)?.errno, Errno(EAGAIN), "\(error)")
        }
    }

    /// The reviewer's example: nobody makes `shared/reports` a link to a directory of root's;
    /// root's `--textfile shared/reports/x.conf` replaced the file there.
    func testALinkAnotherUserPlantedAboveTheFileIsNotFollowed() throws {
        try XCTSkipUnless(geteuid() == 0, "lchown to another user needs root")
        let shared = shared()
        let victimDirectory = directory + "/etc"
        XCTAssertEqual(mkdir(victimDirectory, 0o755), 0)
        try "root's\n".write(toFile: victimDirectory + "/x.conf", atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(victimDirectory, shared + "/reports"), 0)
        XCTAssertEqual(lchown(shared + "/reports", nobody, nobody), 0)
        XCTAssertThrowsError(try OutputFile.write("numaguard 1\n", to: shared + "/reports/x.conf")) { error in
            XCTAssertTrue("\(error)".contains("cannot write \(shared)/reports/x.conf: \(shared)/reports is a symbolic link on the way owned by uid 65534"), "\(error)")
        }
        XCTAssertThrowsError(try OutputFile.openAppend(shared + "/reports/x.conf", mode: 0o644))
        XCTAssertThrowsError(try OutputFile.makeDirectory(shared + "/reports/certificate"))
        XCTAssertEqual(try String(contentsOfFile: victimDirectory + "/x.conf", encoding: .utf8), "root's\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: victimDirectory + "/certificate"))
    }

    /// The same link, reached through a `/` before a combining mark: split by Characters the
    /// path's last `/` was the one before `reports`, so `reports/\u{301}x.conf` was taken as
    /// one name in the shared directory and opened through the planted links.
    func testALinkBehindASlashBeforeACombiningMarkIsNotFollowed() throws {
        try XCTSkipUnless(geteuid() == 0, "lchown to another user needs root")
        let shared = shared()
        let victimDirectory = directory + "/etc"
        XCTAssertEqual(mkdir(victimDirectory, 0o755), 0)
        for name in ["reports", ".reports"] {
            XCTAssertEqual(symlink(victimDirectory, shared + "/" + name), 0)
            XCTAssertEqual(lchown(shared + "/" + name, nobody, nobody), 0)
        }
        let output = shared + "/reports/\u{301}x.conf"
        XCTAssertThrowsError(try OutputFile.write("numaguard 1\n", to: output)) { error in
            XCTAssertTrue("\(error)".contains("\(shared)/reports is a symbolic link on the way owned by uid 65534"), "\(error)")
        }
        XCTAssertThrowsError(try OutputFile.openAppend(output, mode: 0o644))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: victimDirectory), [])
    }

    /// A path beginning with `/` is absolute whatever its first name begins with: `/\u{301}x/out`
    /// was taken as relative (`hasPrefix("/")` compared Characters) and written below the
    /// working directory.
    func testAnAbsolutePathIsAbsoluteWhateverItsFirstName() throws {
        let name = "\u{301}numaguard-\(UUID().uuidString)"
        XCTAssertEqual(mkdir(directory + "/" + name, 0o755), 0)
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        XCTAssertThrowsError(try OutputFile.write("numaguard 1\n", to: "/" + name + "/out"))
        XCTAssertThrowsError(try OutputFile.openAppend("/" + name + "/events", mode: 0o644))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/" + name), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/" + name))
    }

    /// A link in a directory only root can write (as /var/run -> /run) is followed, and a
    /// relative one too; the file is replaced where the link leads.
    func testASystemLinkAboveTheFileIsFollowed() throws {
        let real = directory + "/run"
        XCTAssertEqual(mkdir(real, 0o755), 0)
        XCTAssertEqual(symlink("run", directory + "/varrun"), 0)
        try OutputFile.write("numaguard 1\n", to: directory + "/varrun/numaguard.prom")
        XCTAssertEqual(try String(contentsOfFile: real + "/numaguard.prom", encoding: .utf8), "numaguard 1\n")
        let appended = try OutputFile.openAppend(directory + "/varrun/events.jsonl", mode: 0o644)
        close(appended.fd)
        XCTAssertTrue(FileManager.default.fileExists(atPath: real + "/events.jsonl"))
    }

    /// certify's files go in relative to the directory that was checked: a directory swapped in
    /// at the same path afterwards (its parent writable by the attacker) receives nothing.
    func testFilesGoInTheCheckedDirectoryEvenIfItsPathIsSwapped() throws {
        let checked = directory + "/cert"
        let descriptor = try OutputFile.makeDirectory(checked)
        defer { close(descriptor) }
        XCTAssertEqual(rename(checked, directory + "/real"), 0)
        XCTAssertEqual(mkdir(checked, 0o777), 0)  // the attacker's, at the checked path
        try OutputFile.write("certified?\n", in: descriptor, name: "certificate.json", path: checked + "/certificate.json")
        XCTAssertEqual(try String(contentsOfFile: directory + "/real/certificate.json", encoding: .utf8), "certified?\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: checked + "/certificate.json"))
    }

    func testCertifyOutputMustBeADirectoryNoOneElseCanWrite() throws {
        try XCTSkipUnless(geteuid() == 0, "chown to another user needs root")
        let theirs = directory + "/theirs"
        XCTAssertEqual(mkdir(theirs, 0o755), 0)
        XCTAssertEqual(chown(theirs, nobody, nobody), 0)
        XCTAssertThrowsError(try OutputFile.makeDirectory(theirs)) { error in
            XCTAssertTrue("\(error)".contains("is a directory owned by uid 65534"), "\(error)")
        }
        let open = directory + "/open"
        XCTAssertEqual(mkdir(open, 0o755), 0)
        XCTAssertEqual(chmod(open, 0o777), 0)
        XCTAssertThrowsError(try OutputFile.makeDirectory(open)) { error in
            XCTAssertTrue("\(error)".contains("is a directory writable by others (mode 777)"), "\(error)")
        }
        let mine = directory + "/mine"
        XCTAssertEqual(mkdir(mine, 0o755), 0)
        close(try OutputFile.makeDirectory(mine))
        close(try OutputFile.makeDirectory(directory + "/new"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/new"))
    }

    func testAPlanOnlyRootOrWeCouldHaveWrittenIsRead() throws {
        let plan = directory + "/plan.json"
        try "{}".write(toFile: plan, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(plan, 0o644), 0)
        XCTAssertEqual(try TrustedInput.read(plan), Array("{}".utf8))
        XCTAssertEqual(chmod(plan, 0o666), 0)
        XCTAssertThrowsError(try TrustedInput.read(plan)) { error in
            XCTAssertTrue("\(error)".contains("is writable by others (mode 666)"), "\(error)")
        }
        XCTAssertEqual(chmod(plan, 0o644), 0)
        if geteuid() == 0 {
            XCTAssertEqual(chown(plan, nobody, nobody), 0)
            XCTAssertThrowsError(try TrustedInput.read(plan)) { error in
                XCTAssertTrue("\(error)".contains("belongs to uid 65534"), "\(error)")
            }
            XCTAssertEqual(chown(plan, 0, 0), 0)
        }
        XCTAssertEqual(symlink(plan, directory + "/link.json"), 0)
        XCTAssertThrowsError(try TrustedInput.check(directory + "/link.json"))
    }
}
