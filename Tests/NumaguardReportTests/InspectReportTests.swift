import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardReport
import TestSupport
import XCTest

@testable import NumaguardView

/// inspect's figures over processes recorded in real guests, against numastat -p recorded
/// in the same guest, and its verdicts and splits over hand-made mappings.
final class InspectReportTests: XCTestCase {
    private func report(_ name: String, _ pid: Int) throws -> InspectReport {
        let root = HostRoot(path: Fixtures.path(name))
        return InspectReport(snapshot: try ProcessReader(root: root).read(pid: pid, memory: true),
                             topology: try TopologyReader.read(root))
    }

    /// `inspect PID…` reports each PID once, in the order first given, compared one by one
    /// for a few PIDs and hashed for many: both ways give the same list.
    func testEachPIDOnceInTheOrderGiven() {
        XCTAssertEqual(Inspection.firstOfEach([7, 3, 7, 1, 3, 9]), [7, 3, 1, 9])
        XCTAssertEqual(Inspection.firstOfEach([]), [])
        var generator = SystemRandomNumberGenerator()
        for count in [5, 16, 17, 300] {
            let pids = (0..<count).map { _ in Int.random(in: 1...20, using: &generator) }
            var seen: [Int] = []
            for pid in pids where !seen.contains(pid) { seen.append(pid) }
            XCTAssertEqual(Inspection.firstOfEach(pids), seen, "\(count) PIDs")
        }
    }

    func testEveryRecordedProcessMatchesNumastat() throws {
        var compared = 0
        for name in Fixtures.names {
            for pid in try Fixtures.pids(name) {
                let memory = try XCTUnwrap(try report(name, pid).memory)
                let rows = ["Huge": memory.huge, "Heap": memory.heap, "Stack": memory.stack, "Private": memory.private, "Total": memory.total]
                Oracle.assertNumastatAgrees(try Fixtures.oracle(name, "numastat-p-\(pid).txt"), "\(name) PID \(pid)") { label, column in
                    compared += 1
                    guard let values = rows[label] else { return nil }
                    return column == "Total" ? values.total : Int(column).map { values[$0] }
                }
            }
        }
        XCTAssertGreaterThan(compared, 200, "every fixture PID was compared")
    }

    func testHugetlbIsHugeAndCountedInHugePages() throws {
        let hugetlb = try report("linux-6.1-2node", 172)
        XCTAssertEqual(hugetlb.memory?.huge[0], 8 << 20, "4 huge pages of 2 MiB on node 0")
        XCTAssertEqual(hugetlb.memory?.huge.total, 8 << 20)
    }

    func testMembindVerdictAndPolicyRows() throws {
        let membind = try report("linux-6.1-2node", 122)
        XCTAssertTrue(membind.verdict.hasPrefix("100.0% of anonymous memory ("), membind.verdict)
        XCTAssertTrue(membind.verdict.hasSuffix("on node 1"), membind.verdict)
        XCTAssertEqual(membind.policies.map(\.policy.kernelSpelling), ["bind:1"])
        XCTAssertEqual(membind.policies.first?.bytes.total, membind.memory?.total.total)

        let interleave = try report("linux-6.1-2node", 139)
        let anonymous = try XCTUnwrap(interleave.backing?.anonymous)
        XCTAssertEqual(Double(anonymous[0]) / Double(anonymous.total), 0.5, accuracy: 0.02)
        XCTAssertTrue(interleave.verdict.contains("% on node"), "both nodes are named: \(interleave.verdict)")
    }

    func testFileBackedPagesAreCountedApart() throws {
        let filebacked = try report("linux-6.1-2node", 152)
        let backing = try XCTUnwrap(filebacked.backing)
        XCTAssertGreaterThan(backing.file.total, 0)
        XCTAssertEqual(backing.anonymous.total + backing.file.total + backing.mixed.total, filebacked.memory?.total.total)
        XCTAssertTrue(filebacked.notes.contains { $0.contains("file-backed page cache is counted apart") }, "\(filebacked.notes)")
    }

    func testBackingOfHandMadeMappings() throws {
        let topology = try TopologyReader.read(HostRoot(path: Fixtures.path("linux-6.1-2node")))
        let lines = """
            00400000 default file=/bin/app mapped=10 N0=10 kernelpagesize_kB=4
            00600000 default file=/bin/app anon=4 dirty=4 N1=4 kernelpagesize_kB=4
            00700000 default file=/bin/app anon=1 dirty=2 N0=1 N1=1 kernelpagesize_kB=4
            7f0000000000 bind:1 anon=100 dirty=100 N1=100 kernelpagesize_kB=4
            7f1000000000 bind:1 file=/anon_hugepage\\040(deleted) huge anon=2 dirty=2 N1=2 kernelpagesize_kB=2048
            7f2000000000 interleave:0-1
            """
        var tally = MemoryTally()
        for mapping in try NumaMapsParser.parse(lines) { tally.add(mapping) }
        let snapshot = ProcessSnapshot(
            identity: .init(pid: 1, startTime: 1), comm: "app", exe: nil, cmdline: [], uid: 0, cgroups: [],
            cpusAllowed: IDSet([0]), memsAllowed: IDSet([0, 1]), threads: [], memory: tally, residentBytes: nil)
        let report = InspectReport(snapshot: snapshot, topology: topology)
        let backing = try XCTUnwrap(report.backing)
        XCTAssertEqual(backing.file[0], 10 * 4096, "read-only text: page cache")
        XCTAssertEqual(backing.anonymous[1], (4 + 100) * 4096 + 2 * 2 << 20, "private copies, anon and hugetlb")
        XCTAssertEqual(backing.mixed.total, 2 * 4096, "split unknown: reported apart")
        XCTAssertEqual(report.memory?.huge[1], 4 << 20)
        XCTAssertEqual(report.memory?.private.total, (10 + 4 + 2 + 100) * 4096)
        XCTAssertTrue(report.verdict.hasPrefix("100.0% of anonymous memory"), report.verdict)
        let interleaveRow = report.policies.first { $0.policy.mode == .interleave }
        XCTAssertEqual(interleaveRow?.mappings, 1)
        XCTAssertEqual(interleaveRow?.bytes.total, 0, "a mapping with no pages still shows its policy")
    }

    func testTextAndJSONRenderings() throws {
        let membind = try report("linux-6.1-2node", 122)
        let text = InspectText.render(membind)
        XCTAssertTrue(text.hasPrefix("PID 122 (probe) /bin/probe\n"), text)
        XCTAssertTrue(text.contains("  verdict: 100.0% of anonymous memory"), text)
        XCTAssertTrue(text.contains("    bind:1: "), text)
        XCTAssertTrue(text.contains("Node 0      Node 1       Total"), text)
        let json = try Command.json(try JSONDocument.render(kind: .inspect, InspectDocument(processes: [membind], failures: [
            .init(pid: 9, kind: .gone, error: "PID 9 (x) exited while numa_maps was being read"),
        ])))
        XCTAssertEqual(json["format_version"] as? Int, 1)
        let failures = try XCTUnwrap(json["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.first?["kind"] as? String, "gone")
        let process = try XCTUnwrap((json["processes"] as? [[String: Any]])?.first)
        let categories = try XCTUnwrap(process["numastat"] as? [String: [String: Int]])
        XCTAssertEqual(categories["total"]?["total"], membind.memory?.total.total)
        XCTAssertEqual(Set(categories["total"]?.keys.map { $0 } ?? []), ["0", "1", "total"])
    }

    func testTopologyTextMatchesNumactlWording() throws {
        for name in Fixtures.names {
            let text = TopologyText.render(try TopologyReader.read(HostRoot(path: Fixtures.path(name))))
            let oracle = Oracle.numactlHardware(try Fixtures.oracle(name, "numactl-hardware.txt"))
            let ours = Oracle.numactlHardware(text)
            XCTAssertEqual(ours.nodes, oracle.nodes, name)
            XCTAssertEqual(ours.cpus, oracle.cpus, name)
            XCTAssertEqual(ours.sizeMB, oracle.sizeMB, name)
            XCTAssertEqual(ours.distances, oracle.distances, name)
            let availableLine = try Fixtures.oracle(name, "numactl-hardware.txt").split(separator: "\n").first.map(String.init)
            XCTAssertEqual(text.split(separator: "\n").first.map(String.init), availableLine, name)
        }
        let cpuless = TopologyText.render(try TopologyReader.read(HostRoot(path: Fixtures.path("linux-6.1-cpuless"))))
        XCTAssertTrue(cpuless.contains("memory-only nodes (no cpus): 2\n"), cpuless)
        XCTAssertTrue(cpuless.contains("node 2 cpus:\n"), cpuless)
    }

    /// A kernel without NUMA has no numa_maps: inspect says so and reports VmRSS on node 0.
    func testInspectOnAKernelWithoutNUMA() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("sys/devices/system/node"))
        try FileManager.default.removeItem(at: copy.appendingPathComponent("proc/122/numa_maps"))
        let outcome = try Inspection.run(root: HostRoot(path: copy.path), selection: .pids([122]))
        XCTAssertEqual(outcome.status, .success, "\(outcome.failures)")
        let report = try XCTUnwrap(outcome.reports.first)
        XCTAssertNil(report.memory)
        XCTAssertTrue(report.verdict.hasPrefix("kernel without NUMA: all "), report.verdict)
        XCTAssertTrue(report.verdict.hasSuffix("resident memory is on node 0"), report.verdict)
        XCTAssertTrue(report.notes.contains { $0.contains("VmRSS") }, "\(report.notes)")
    }

    func testSizes() {
        XCTAssertEqual(Size.mebibytes(0), "0.00")
        XCTAssertEqual(Size.mebibytes(1_048_576), "1.00")
        XCTAssertEqual(Size.mebibytes(67_805_184), "64.66")
        XCTAssertEqual(Bytes.text(1536, tenths: .always), "1.5 KiB")
        XCTAssertEqual(Bytes.text(512, tenths: .always), "512 B")
        XCTAssertEqual(Size.percent(987, of: 1000), "98.7")
        XCTAssertEqual(Size.percent(1, of: 0), "0.0")
    }
}
