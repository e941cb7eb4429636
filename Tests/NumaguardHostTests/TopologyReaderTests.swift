import Foundation
import NumaguardCore
import NumaguardHost
import TestSupport
import XCTest

/// The topology and kernel readers over host roots recorded from real kernels, checked
/// against numactl --hardware recorded in the same guest.
final class TopologyReaderTests: XCTestCase {
    func testEveryFixtureAgreesWithNumactlHardware() throws {
        for name in Fixtures.names {
            let topology = try TopologyReader.read(HostRoot(path: Fixtures.path(name)))
            let oracle = Oracle.numactlHardware(try Fixtures.oracle(name, "numactl-hardware.txt"))
            XCTAssertTrue(topology.numaEnabled, name)
            XCTAssertEqual(topology.nodes.map(\.id), oracle.nodes, name)
            for node in topology.nodes {
                XCTAssertEqual(node.cpus.members, oracle.cpus[node.id] ?? [], "\(name) node \(node.id) cpus")
                XCTAssertEqual(node.memTotal >> 20, oracle.sizeMB[node.id], "\(name) node \(node.id) size")
                // numactl ran just after the capture; free memory moved by a few MB at most.
                XCTAssertEqual(Double(node.memFree >> 20), Double(oracle.freeMB[node.id] ?? 0), accuracy: 16, "\(name) node \(node.id) free")
            }
            XCTAssertEqual(topology.nodes.map(\.distances), oracle.distances, name)
        }
    }

    func testMemoryOnlyNodeAndAsymmetricDistances() throws {
        let cpuless = try TopologyReader.read(HostRoot(path: Fixtures.path("linux-6.1-cpuless")))
        XCTAssertEqual(cpuless.memoryOnlyNodes, IDSet([2]))
        XCTAssertEqual(cpuless.nodesWithCPU, IDSet([0, 1]))
        XCTAssertEqual(cpuless.node(2)?.cpus, IDSet())
        XCTAssertGreaterThan(cpuless.node(2)?.memTotal ?? 0, 0)
        XCTAssertEqual(cpuless.cpuOnlyNodes, IDSet())

        let asymmetric = try TopologyReader.read(HostRoot(path: Fixtures.path("linux-6.1-4node-asym")))
        let matrix = asymmetric.nodes.map(\.distances)
        XCTAssertEqual(matrix.count, 4)
        XCTAssertEqual(matrix.map { $0[$0.startIndex] }, [10, 16, 22, 30], "first column as QEMU was told (see scripts/vm/README.md)")
        XCTAssertNotEqual(matrix[0][3], matrix[3][0], "the kernel keeps the SLIT's asymmetry")
        XCTAssertEqual(asymmetric.node(ofCPU: 3), 3)
    }

    func testHugePagePoolsPerNode() throws {
        let topology = try TopologyReader.read(HostRoot(path: Fixtures.path("linux-6.1-2node")))
        let node0 = try XCTUnwrap(topology.node(0))
        XCTAssertEqual(node0.hugePages.map(\.sizeKiB), [2048, 1_048_576])
        // The recording set 8 2 MiB pages on node 0; the hugetlb probe holds 4 of them.
        XCTAssertEqual(node0.hugePages.first, HugePagePool(sizeKiB: 2048, total: 8, free: 4, surplus: 0))
        XCTAssertEqual(topology.node(1)?.hugePages.first?.total, 0)
    }

    func testKernelKnobsIncludingAnAbsentSysctl() throws {
        let kernel = try KernelReader.read(HostRoot(path: Fixtures.path("linux-6.1-2node")))
        XCTAssertEqual(kernel.release, "6.1.0-56-amd64")
        XCTAssertEqual(kernel.numaBalancing, Int(try String(contentsOfFile: Fixtures.path("linux-6.1-2node") + "/proc/sys/kernel/numa_balancing", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertNotNil(kernel.zoneReclaimMode)
        XCTAssertNotNil(kernel.transparentHugepage)
        XCTAssertTrue(kernel.commandLine.contains("console=ttyS0"))

        let rt = try KernelReader.read(HostRoot(path: Fixtures.path("linux-rt-2node")))
        XCTAssertNil(rt.numaBalancing, "Debian's RT kernel has no kernel.numa_balancing")
        XCTAssertTrue(rt.release.contains("rt"), rt.release)
        XCTAssertEqual(KernelState.describeNumaBalancing(nil), "absent")
        XCTAssertEqual(KernelState.describeNumaBalancing(0), "off (0)")
        XCTAssertEqual(KernelState.describeNumaBalancing(2), "on: tiering (2)")
        XCTAssertEqual(KernelState.describeNumaBalancing(3), "on: normal+tiering (3)")
    }

    /// A kernel without NUMA has no /sys/devices/system/node: one node 0, said plainly.
    func testKernelWithoutNUMAIsOneNodeZero() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("sys/devices/system/node"))
        let topology = try TopologyReader.read(HostRoot(path: copy.path))
        XCTAssertFalse(topology.numaEnabled)
        XCTAssertEqual(topology.nodes.map(\.id), [0])
        XCTAssertEqual(topology.nodes[0].cpus, topology.onlineCPUs)
        let meminfo = try MeminfoParser.parse(String(contentsOf: copy.appendingPathComponent("proc/meminfo"), encoding: .utf8))
        XCTAssertEqual(topology.nodes[0].memTotal, meminfo["MemTotal"])
    }

    func testMalformedAndMissingFilesNameThePath() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        let distance = copy.appendingPathComponent("sys/devices/system/node/node1/distance")
        try "21 ten\n".write(to: distance, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TopologyReader.read(HostRoot(path: copy.path))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("node1/distance"), text)
            XCTAssertTrue(text.contains("ten"), text)
        }
        try FileManager.default.removeItem(at: distance)
        XCTAssertThrowsError(try TopologyReader.read(HostRoot(path: copy.path))) { error in
            XCTAssertTrue("\(error)".contains("cannot read \(copy.path)/sys/devices/system/node/node1/distance"), "\(error)")
        }
    }
}
