import NumaguardCore
@testable import NumaguardLaunch
import XCTest

/// A device in a node argument, as numactl's `__numa_parse_nodestring` takes it: an element
/// starting with a device kind runs to the end of the argument; numbers may precede it.
final class NumactlSetDeviceTests: XCTestCase {
    private func parse(_ text: String, _ kind: NumactlSet.Kind = .node, option: String = "-N") throws -> NumactlSet {
        try NumactlSet.parse(text, kind: kind, option: option)
    }

    func testADeviceAloneAndAfterNumbers() throws {
        let alone = try parse("netdev:eth0")
        XCTAssertEqual(alone.device, .netdev("eth0"))
        XCTAssertEqual(alone.ids, IDSet())
        let mixed = try parse("0,2-3,pci:0000:21:00.0")
        XCTAssertEqual(mixed.ids, IDSet([0, 2, 3]))
        XCTAssertEqual(mixed.device, .pci(try XCTUnwrap(PCIAddress(sysfsName: "0000:21:00.0"))))
        XCTAssertEqual(mixed.text, "0,2-3,pci:0000:21:00.0", "messages quote the argument as written")
        let inverted = try parse("!block:nvme0n1")
        XCTAssertTrue(inverted.inverted)
        XCTAssertEqual(inverted.device, .block("nvme0n1"))
    }

    func testTheDeviceEatsTheRestOfTheArgument() throws {
        // numactl looks up a device called "eth0,1", which no interface is: both refuse at resolution.
        XCTAssertEqual(try parse("netdev:eth0,1").device, .netdev("eth0,1"))
        XCTAssertEqual(try parse("netdev:eth0,1").ids, IDSet())
        XCTAssertEqual(try parse("file:/data/a,b").device, .file("/data/a,b"))
    }

    func testRefusals() {
        assertLaunchError(.usage, "-N \"+netdev:eth0\"", "\"+\" is meaningless with a device") { try parse("+netdev:eth0") }
        assertLaunchError(.usage, "-N \"!+netdev:eth0\"", "meaningless") { try parse("!+netdev:eth0") }
        assertLaunchError(.usage, "-C \"netdev:eth0\"", "a device names a node, not CPUs", "use -N/--cpunodebind netdev:eth0") {
            try parse("netdev:eth0", .cpu, option: "-C")
        }
        assertLaunchError(.usage, "-C \"0,pci:21:00.0\"", "not CPUs") { try parse("0,pci:21:00.0", .cpu, option: "-C") }
        assertLaunchError(.usage, "netdev:eth0.100", "no \"/\" or \".\"") { try parse("netdev:eth0.100") }
        assertLaunchError(.usage, "block:/dev/nvme0n1", "for a /dev path use file:") { try parse("block:/dev/nvme0n1") }
        assertLaunchError(.usage, "pci:0x21:00.0", "without 0x") { try parse("pci:0x21:00.0") }
        assertLaunchError(.usage, "pci:21:00.0junk", "expected [segment:]bus") { try parse("pci:21:00.0junk") }
        assertLaunchError(.usage, "no interface name given") { try parse("0,netdev:") }
        // A letter that starts no device kind stays the number error it always was.
        assertLaunchError(.usage, "expected node numbers", "found \"Netdev:eth0\"") { try parse("Netdev:eth0") }
        assertLaunchError(.usage, "expected cpu numbers", "found \"eth0\"") { try parse("eth0", .cpu, option: "-C") }
    }

    func testTheDeviceNodeIsNamedLikeANumber() throws {
        let allowed = IDSet([0, 1])
        let alone = try parse("netdev:eth0").resolve(allowed: allowed, deviceNode: 1)
        XCTAssertEqual(alone.named, IDSet([1]))
        XCTAssertEqual(alone.members, IDSet([1]))
        XCTAssertEqual(try parse("0,netdev:eth0").resolve(allowed: allowed, deviceNode: 1).members, IDSet([0, 1]))
        let inverted = try parse("!netdev:eth0").resolve(allowed: allowed, deviceNode: 1)
        XCTAssertEqual(inverted.members, IDSet([0]), "! complements within the allowed nodes, as for numbers")
        // A node outside the allowed set stays named, so the planner can say why.
        XCTAssertEqual(try parse("netdev:eth0").resolve(allowed: IDSet([0]), deviceNode: 3).named, IDSet([3]))
    }
}
