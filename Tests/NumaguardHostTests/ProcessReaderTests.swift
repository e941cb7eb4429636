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

    /// Runs of alike lines (a 32k-mapping process is mostly runs): each repeat is added from the
    /// last classification, and the sums are those of every mapping added on its own, across
    /// read chunks.
    func testRunsOfAlikeMappingsTallyAsEveryMapping() throws {
        let root = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: root) }
        var lines: [String] = []
        for page in 0..<20_000 {
            let address = String(0x7f00_0000_0000 + page * 4096, radix: 16)
            switch page {
            case 5000..<5002: lines.append("\(address) bind:1 anon=1 dirty=1 N1=1 kernelpagesize_kB=4")
            case 9000: lines.append("\(address) default file=/usr/lib/x.so mapped=3 mapmax=9 N0=3 kernelpagesize_kB=4")
            case 12_000..<12_010: lines.append("\(address) default")
            case 15_000..<15_004: lines.append("\(address) default file=/anon_hugepage\\040(deleted) huge anon=1 dirty=1 N1=1 kernelpagesize_kB=2048")
            default: lines.append("\(address) default anon=1 dirty=1 active=0 N0=1 kernelpagesize_kB=4")
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(to: root.appendingPathComponent("proc/122/numa_maps"), atomically: true, encoding: .utf8)
        let reader = ProcessReader(root: HostRoot(path: root.path))
        let snapshot = try reader.read(pid: 122, memory: true)
        let tally = try XCTUnwrap(snapshot.memory)
        var every = MemoryTally()
        for mapping in try reader.mappings(of: snapshot.identity, comm: snapshot.comm) { every.add(mapping) }
        XCTAssertEqual(tally, every)
        XCTAssertEqual(tally.mappings, 20_000)
        XCTAssertEqual(tally.bytes(.private, on: 0), (20_000 - 2 - 10 - 4) * 4096 + (3 - 1) * 4096, "the file mapping's 3 pages in place of one")
        XCTAssertEqual(tally.bytes(.private, on: 1), 2 * 4096)
        XCTAssertEqual(tally.bytes(.huge, on: 1), 4 * 2048 * 1024)
        XCTAssertEqual(tally.policies.map(\.mappings), [19_998, 2], "default, then bind:1")
        XCTAssertEqual(tally.bytes(.file, on: 0), 3 * 4096)
    }
}
