import Foundation
import NumaguardCore
import NumaguardHost
import TestSupport
import XCTest

/// The process reader over recorded guests, and over copies altered to look like a
/// process that exits mid-read.
final class ProcessReaderTests: XCTestCase {
    func testReadsEveryRecordedProcess() throws {
        for name in Fixtures.names {
            let reader = ProcessReader(root: HostRoot(path: Fixtures.path(name)))
            let pids = try Fixtures.pids(name)
            // The cgroup fixtures' proc/1 holds init's mountinfo alone: not a captured process.
            XCTAssertEqual(try reader.pids().filter { $0 != 1 }, pids, name)
            for pid in pids {
                let snapshot = try reader.read(pid: pid, memory: true)
                XCTAssertEqual(snapshot.pid, pid)
                XCTAssertEqual(snapshot.comm, "probe", "\(name) \(pid)")
                XCTAssertEqual(snapshot.exe, "/bin/probe", "\(name) \(pid)")
                XCTAssertFalse(snapshot.threads.isEmpty, "\(name) \(pid)")
                XCTAssertGreaterThan(snapshot.identity.startTime, 0)
                XCTAssertGreaterThan(snapshot.memory?.mappings ?? 0, 0, "\(name) \(pid)")
                let mappings = try reader.mappings(of: snapshot.identity, comm: snapshot.comm)
                XCTAssertEqual(mappings.count, snapshot.memory?.mappings)
                var tally = MemoryTally()
                for mapping in mappings { tally.add(mapping) }
                XCTAssertEqual(tally, snapshot.memory, "streamed sums equal sums over every mapping")
                XCTAssertTrue(mappings.contains { $0.file == "/bin/probe" }, "file paths are kept")
                XCTAssertFalse(snapshot.cpusAllowed.isEmpty)
                XCTAssertFalse(snapshot.memsAllowed.isEmpty)
            }
        }
    }

    func testPoliciesAsTheKernelPrintedThem() throws {
        func policies(_ name: String, _ pid: Int) throws -> Set<String> {
            let snapshot = try ProcessReader(root: HostRoot(path: Fixtures.path(name))).read(pid: pid, memory: true)
            return Set((snapshot.memory?.policies ?? []).map(\.policy.kernelSpelling))
        }
        XCTAssertEqual(try policies("linux-6.1-2node", 122), ["bind:1"])
        XCTAssertEqual(try policies("linux-6.1-2node", 139), ["interleave:0-1"])
        XCTAssertEqual(try policies("linux-6.1-2node", 161), ["prefer:1"])
        XCTAssertEqual(try policies("linux-6.1-2node", 181), ["bind=balancing:1"])
        XCTAssertEqual(try policies("linux-6.12-2node", 239), ["prefer (many):0-1"])
        XCTAssertEqual(try policies("linux-6.12-2node", 246), ["weighted interleave:0-1"])
    }

    func testCpuNodeBindShowsInAllowedCPUsAndThreads() throws {
        let snapshot = try ProcessReader(root: HostRoot(path: Fixtures.path("linux-6.1-2node"))).read(pid: 152, memory: false)
        XCTAssertEqual(snapshot.cpusAllowed, IDSet([2, 3]))
        XCTAssertEqual(snapshot.memsAllowed, IDSet([0, 1]))
        XCTAssertNil(snapshot.memory, "memory: false must not read numa_maps")
        for thread in snapshot.threads { XCTAssertTrue([2, 3].contains(thread.lastCPU), "\(thread)") }
    }

    func testNoSuchProcess() {
        let reader = ProcessReader(root: HostRoot(path: Fixtures.path("linux-6.1-2node")))
        XCTAssertThrowsError(try reader.read(pid: 4_000_000, memory: true)) { error in
            guard case .noSuchProcess(4_000_000)? = error as? ProcessReadError else { return XCTFail("\(error)") }
        }
    }

    /// numa_maps gone while stat is still there: the process exited between the two reads.
    func testProcessThatExitsMidReadIsVanishedNotAnError() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("proc/122/numa_maps"))
        let reader = ProcessReader(root: HostRoot(path: copy.path))
        XCTAssertThrowsError(try reader.read(pid: 122, memory: true)) { error in
            guard case let .vanished(pid, comm, during)? = error as? ProcessReadError else { return XCTFail("\(error)") }
            XCTAssertEqual(pid, 122)
            XCTAssertEqual(comm, "probe")
            XCTAssertEqual(during, "numa_maps")
            XCTAssertEqual("\(error)", "PID 122 (probe) exited while numa_maps was being read")
        }
        // Without the memory read the same process is fine.
        XCTAssertNoThrow(try reader.read(pid: 122, memory: false))
    }

    func testZombieIsReportedAsExited() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        let statURL = copy.appendingPathComponent("proc/122/stat")
        let stat = try String(contentsOf: statURL, encoding: .utf8)
        try stat.replacingOccurrences(of: ") S ", with: ") Z ").write(to: statURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProcessReader(root: HostRoot(path: copy.path)).read(pid: 122, memory: true)) { error in
            guard case .zombie(122, "probe", _)? = error as? ProcessReadError else { return XCTFail("\(error)") }
        }
    }

    func testCorruptNumaMapsNamesFileAndLine() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        let url = copy.appendingPathComponent("proc/122/numa_maps")
        try (String(contentsOf: url, encoding: .utf8) + "7f00 bind:1 N1=oops kernelpagesize_kB=4\n").write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProcessReader(root: HostRoot(path: copy.path)).read(pid: 122, memory: true)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("proc/122/numa_maps"), text)
            XCTAssertTrue(text.contains("numa_maps line"), text)
            XCTAssertTrue(text.contains("N1"), text)
        }
    }
}
