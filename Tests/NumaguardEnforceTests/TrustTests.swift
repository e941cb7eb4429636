import Foundation
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import XCTest

/// A plan and the journal are files: what they name is never trusted as a path. Knobs are
/// rebuilt from their names, the drop-in is the only file, a missing `after` is not "no
/// check", the live actuator never follows a link, and the journal is a regular file with one
/// link, read from the descriptor that was checked, with no size cap. Real files in a
/// temporary directory; the live actuator over a temporary host root.
final class TrustTests: XCTestCase {
    var directory = ""
    var path: String { directory + "/journal.jsonl" }
    let balancing = Knob.sysctl("kernel.numa_balancing")

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("trust-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(directory, 0o700), 0)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func applier(_ host: any Actuator, _ command: String, _ run: String) throws -> Applier {
        Applier(actuator: host, privileges: Privileges(uid: 0, effective: ApplierTests.all), journal: try Journal(path: path),
                command: command, run: run, protection: .none, clock: { "2026-11-21T10:00:00Z" })
    }

    func line(_ fields: String) -> String {
        "{\"action\":\"set_knob\",\"command\":\"apply\",\"detail\":\"\",\"run\":\"A\",\"time\":\"2026-11-21T10:00:00Z\",\(fields)}\n"
    }

    func testOnlyKnownKnobNamesRebuildToTheirOwnPaths() {
        XCTAssertEqual(KnownTargets.knob(named: "kernel.numa_balancing"), balancing)
        XCTAssertEqual(KnownTargets.knob(named: "transparent_hugepage.enabled"), .transparentHugepage)
        XCTAssertEqual(KnownTargets.knob(named: "node1.hugepages-1048576kB.nr_hugepages"), .hugePages(node: 1, sizeKiB: 1_048_576))
        for name in ["kernel.core_pattern", "node01.hugepages-2048kB.nr_hugepages", "node0.hugepages-2048kB.nr_hugepages/../x",
                     "node+1.hugepages-2048kB.nr_hugepages", "node0.hugepages-kB.nr_hugepages", "node.hugepages-2048kB.nr_hugepages",
                     "node0.hugepages-99999999999999999999999kB.nr_hugepages", ""] {
            XCTAssertNil(KnownTargets.knob(named: name), name)
        }
        var forged = balancing
        forged.path = "etc/shadow"
        XCTAssertNotNil(KnownTargets.refusal(forged))
        XCTAssertNil(KnownTargets.refusal(balancing))
    }

    /// The reviewer's repro: one intent line whose knob is named as a managed one but whose
    /// path is any file; undo wrote the recorded "before" there as root.
    func testUndoRefusesAJournalKnobWhosePathIsNotItsOwn() throws {
        try line("\"phase\":\"intent\",\"subject\":\"kernel.numa_balancing\",\"before\":\"owned\",\"after\":\"x\","
                 + "\"knob\":{\"name\":\"kernel.numa_balancing\",\"path\":\"etc/victim\",\"kind\":\"sysctl\"}")
            .write(toFile: path, atomically: false, encoding: .utf8)
        let host = MemoryHost()
        host.knobs["etc/victim"] = "x"
        let selection = try XCTUnwrap(try Undo.select(try Journal.read(path)))
        let report = try applier(host, "undo", "U").undo(selection)
        XCTAssertEqual(report.results.map(\.outcome), [.refused])
        XCTAssertTrue(report.results[0].detail.contains("numaguard writes it at /proc/sys/kernel/numa_balancing"), report.results[0].detail)
        XCTAssertEqual(host.calls, [])
        XCTAssertEqual(host.knobs["etc/victim"], "x")
    }

    func testApplyRefusesAKnobNumaguardDoesNotManageAndAPersistToAnotherFile() throws {
        let host = MemoryHost()
        let core = Knob.sysctl("kernel.core_pattern")
        host.knobs[core.path] = "core"
        let knob = Action(kind: .setKnob, checks: [], subject: core.name, knob: core, value: "|/tmp/x", before: "core", after: "|/tmp/x")
        let passwd = Action(kind: .persist, checks: [], subject: "/etc/passwd", value: "kernel.numa_balancing = 0\n", file: "/etc/passwd",
                            before: "absent", after: "x")
        let dropIn = KnownTargets.dropIn
        let smuggled = Action(kind: .persist, checks: [], subject: dropIn, value: "kernel.core_pattern = |/tmp/x\n", file: dropIn,
                              before: "absent", after: "x")
        host.knobs[balancing.path] = "1"
        let twoValues = Action(kind: .setKnob, checks: [], subject: balancing.name, knob: balancing, value: "0\n1", before: "1", after: "0")
        let report = try applier(host, "apply", "A").apply([knob, passwd, smuggled, twoValues])
        XCTAssertEqual(report.results.map(\.outcome), [.refused, .refused, .refused, .refused])
        XCTAssertEqual(host.calls, [])
        XCTAssertEqual(host.files, [:])
        XCTAssertEqual(host.knobs[core.path], "core")
        XCTAssertEqual(host.knobs[balancing.path], "1")
        XCTAssertNil(KnownTargets.refusal(.transparentHugepage, value: "madvise"))
        XCTAssertNotNil(KnownTargets.refusal(.transparentHugepage, value: "[never]"))
        XCTAssertNotNil(KnownTargets.refusal(balancing, value: "-1"))
    }

    /// An outcome line without `after` does not say what the run left: before, undo took
    /// that as "no check" and overwrote whatever the knob held.
    func testUndoOfALineWithoutAfterLeavesTheKnobAlone() throws {
        try line("\"result\":\"done\",\"subject\":\"kernel.numa_balancing\",\"before\":\"1\","
                 + "\"knob\":{\"name\":\"kernel.numa_balancing\",\"path\":\"proc/sys/kernel/numa_balancing\",\"kind\":\"sysctl\"}")
            .write(toFile: path, atomically: false, encoding: .utf8)
        let host = MemoryHost()
        host.knobs[balancing.path] = "2"
        let selection = try XCTUnwrap(try Undo.select(try Journal.read(path)))
        let report = try applier(host, "undo", "U").undo(selection)
        XCTAssertEqual(report.results.map(\.outcome), [.skipped])
        XCTAssertTrue(report.results[0].detail.hasPrefix("the journal does not record what that run left"), report.results[0].detail)
        XCTAssertEqual(host.knobs[balancing.path], "2")
        XCTAssertEqual(host.calls, [])
    }

    /// The live actuator over a temporary host root: a knob's file that is a symbolic link
    /// (to a file root must not write) is refused by O_NOFOLLOW; a regular file is truncated
    /// before the value is written (O_TRUNC); a forged path or another file is refused.
    func testTheLiveActuatorNeverFollowsALinkTruncatesAndWritesOnlyItsOwnFiles() throws {
        let root = directory + "/host"
        let knobDirectory = root + "/proc/sys/kernel"
        try FileManager.default.createDirectory(atPath: knobDirectory, withIntermediateDirectories: true)
        let victim = directory + "/victim"
        try "secret\n".write(toFile: victim, atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(victim, knobDirectory + "/numa_balancing"), 0)
        let live = LiveActuator(root: HostRoot(path: root), dropIn: directory + "/90-numaguard.conf")
        XCTAssertThrowsError(try live.write(balancing, "0")) { error in
            XCTAssertEqual((error as? ActuationError)?.errno, Errno(ELOOP), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "secret\n", "nothing written through the link")

        XCTAssertEqual(unlink(knobDirectory + "/numa_balancing"), 0)
        try "1234\n".write(toFile: knobDirectory + "/numa_balancing", atomically: false, encoding: .utf8)
        try live.write(balancing, "0")
        XCTAssertEqual(try String(contentsOfFile: knobDirectory + "/numa_balancing", encoding: .utf8), "0\n", "O_TRUNC: no stale tail")

        var forged = balancing
        forged.path = "../victim"
        XCTAssertThrowsError(try live.write(forged, "0"))
        XCTAssertThrowsError(try live.replaceFile(victim, with: nil))
        XCTAssertThrowsError(try live.replaceFile(directory + "/90-numaguard.conf", with: "kernel.core_pattern = x\n"))
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "secret\n")
        try live.replaceFile(directory + "/90-numaguard.conf", with: "# numaguard\nkernel.numa_balancing = 0\n")
        XCTAssertEqual(try live.readFile(directory + "/90-numaguard.conf"), "# numaguard\nkernel.numa_balancing = 0\n")
    }

    /// A hard link to another file (fs.protected_hardlinks=0 lets anyone make one) used to be
    /// opened as the journal, and its "torn last line" cut off by ftruncate.
    func testAJournalThatIsAHardLinkIsRefusedAndNotTruncated() throws {
        let victim = directory + "/victim"
        try "root: line one\nno newline at the end".write(toFile: victim, atomically: false, encoding: .utf8)
        XCTAssertEqual(link(victim, path), 0)
        XCTAssertThrowsError(try Journal(path: path)) { error in
            XCTAssertTrue("\(error)".contains("hard links"), "\(error)")
            XCTAssertEqual((error as? JournalError)?.cannotCreate, true)
        }
        XCTAssertThrowsError(try Journal.openExisting(path))
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "root: line one\nno newline at the end")
    }

    func testAFileThatIsNotAJournalIsNeverTruncated() throws {
        try "root: line one\nno newline at the end".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try Journal(path: path)) { error in
            XCTAssertTrue("\(error)".contains("does not look like a journal numaguard wrote; nothing cut"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "root: line one\nno newline at the end")
    }

    /// undo opens the journal once and reads it from that descriptor: a file put at the path
    /// afterwards is not what it restores from, and a missing journal is never created.
    func testUndoReadsTheDescriptorItCheckedAndNeverCreatesTheJournal() throws {
        let host = MemoryHost()
        host.knobs[balancing.path] = "1"
        _ = try applier(host, "apply", "A").apply([Action(kind: .setKnob, checks: [], subject: balancing.name, knob: balancing,
                                                          value: "0", before: "1", after: "0")])
        let opened = try Journal.openExisting(path)
        XCTAssertEqual(unlink(path), 0)
        try line("\"result\":\"done\",\"subject\":\"other\",\"before\":\"1\",\"after\":\"0\"")
            .write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(try opened.load().entries.map(\.subject), ["kernel.numa_balancing", "kernel.numa_balancing"])

        let absent = directory + "/absent.jsonl"
        XCTAssertThrowsError(try Journal.openExisting(absent)) { error in
            XCTAssertEqual((error as? JournalError)?.missing, true)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: absent))
    }

    /// HostRoot.readFile stops at 16 MiB; the journal is streamed line by line instead.
    func testAJournalPastSixteenMebibytesIsStillRead() throws {
        let detail = String(repeating: "d", count: 900_000)
        let one = line("\"result\":\"done\",\"subject\":\"kernel.numa_balancing\",\"before\":\"1\",\"after\":\"0\",\"detail2\":\"\(detail)\"")
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: { _ = FileManager.default.createFile(atPath: path, contents: nil); return path }()))
        for _ in 0..<20 { try handle.write(contentsOf: Data(one.utf8)) }
        try handle.close()
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertGreaterThan(size, HostRoot.maximumFileBytes)
        XCTAssertEqual(try Journal.read(path).count, 20)

        // One line longer than a line may be is damage, named by its line.
        let long = String(repeating: "x", count: Journal.maxLineBytes + 1)
        try (one + long + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try Journal.read(path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path):2: not a numaguard journal line (longer than"), "\(error)")
            XCTAssertEqual((error as? JournalError)?.damaged, true)
        }
    }
}
