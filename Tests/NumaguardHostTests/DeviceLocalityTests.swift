#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NumaguardCore
@testable import NumaguardHost
import TestSupport
import XCTest

/// The device reader and resolver over sysfs trees laid out as the kernel lays them out
/// (real directories and real symlinks with the kernel's link texts, `DeviceTree`), and over
/// hostile captures.
final class DeviceLocalityTests: XCTestCase {
    private var tree: DeviceTree!
    private var root: HostRoot { HostRoot(path: tree.path) }

    override func setUpWithError() throws { tree = try DeviceTree.make() }
    override func tearDown() { tree?.remove() }

    private func address(_ text: String) throws -> PCIAddress { try XCTUnwrap(PCIAddress(sysfsName: text)) }

    // MARK: read

    func testTheInventoryHasEveryBusDeviceAndNoVirtualOne() throws {
        let inventory = DeviceLocality.read(root)
        XCTAssertEqual(inventory.problems.map(\.error.description), [])
        let listed = inventory.devices.map { "\($0.kind.rawValue) \($0.name)" }
        XCTAssertEqual(listed, ["net eth0", "net eth1", "nvme nvme0", "block nvme0n1", "block sda", "gpu card0", "pci 0000:00:05.0"],
                       "lo, eth0.100 and dm-0 are virtual; nvme0n1p1 is a partition; renderD128 is card0 again; bridges are fabric")
    }

    func testVirtioNetIsItsParentPCIFunctionWithItsVectors() throws {
        let eth0 = try XCTUnwrap(DeviceLocality.read(root).devices.first { $0.name == "eth0" })
        XCTAssertEqual(eth0.address, try address("0000:21:00.0"), "the endpoint, not the root port numactl reads")
        XCTAssertEqual(eth0.reportedNode, 1)
        XCTAssertEqual(eth0.numaNode, 1)
        XCTAssertEqual(eth0.numactlNode, 1)
        XCTAssertEqual(eth0.driver, "virtio_net", "the virtio device's driver names it; virtio-pci says nothing")
        XCTAssertEqual(eth0.pciClass, 0x020000)
        XCTAssertEqual(eth0.vendor, 0x1AF4)
        XCTAssertEqual(eth0.deviceID, 0x1041)
        XCTAssertEqual(eth0.busPath, "sys/devices/pci0000:20/0000:20:00.0/0000:21:00.0")
        XCTAssertEqual(eth0.irqs.map(\.irq), [40, 41, 42])
        XCTAssertEqual(eth0.irqs.map(\.mode), [.msix, .msix, .msix])
        XCTAssertEqual(eth0.irqs.map(\.affinity.requested), [IDSet(0...3), IDSet(0...3), IDSet(0...3)])
        XCTAssertEqual(eth0.irqs.map(\.affinity.effective), [IDSet([0]), IDSet([1]), IDSet([2])])
        XCTAssertEqual(eth0.irqs.map(\.affinity.actions), ["virtio1-config", "virtio1-input.0", "virtio1-output.0"])
        XCTAssertEqual(eth0.irqs.map(\.managedExpected), [false, false, false], "virtio-net asks for no managed affinity")
    }

    func testAnNVMeNamespaceIsItsControllersFunctionAndTheAdminVectorIsNotManaged() throws {
        let devices = DeviceLocality.read(root).devices
        let controller = try XCTUnwrap(devices.first { $0.name == "nvme0" })
        let namespace = try XCTUnwrap(devices.first { $0.name == "nvme0n1" })
        XCTAssertEqual(controller.address, try address("0000:11:00.0"))
        XCTAssertEqual(namespace.address, try address("0000:11:00.0"), "nvme0n1 -> nvme0 -> 0000:11:00.0")
        XCTAssertEqual(namespace.reportedNode, 0)
        XCTAssertEqual(namespace.driver, "nvme")
        XCTAssertEqual(controller.irqs.map(\.managedExpected), [false, true, true], "nvme0q0 is the admin queue: not managed")
    }

    func testTheAdminVectorIsFoundByItsHandlerNameNotOnlyByNumber() throws {
        // The admin queue's vector is not the lowest IRQ number here: its handler name says which.
        try tree.write("sys/kernel/irq/50/actions", "nvme0q1\n")
        try tree.write("sys/kernel/irq/51/actions", "nvme0q0\n")
        let controller = try XCTUnwrap(DeviceLocality.read(root).devices.first { $0.name == "nvme0" })
        XCTAssertEqual(controller.irqs.map(\.managedExpected), [true, false, true])
        // Without handler names, the lowest IRQ is taken as the admin vector.
        for irq in 50...52 { try FileManager.default.removeItem(atPath: "\(tree.path)/sys/kernel/irq/\(irq)/actions") }
        let unnamed = try XCTUnwrap(DeviceLocality.read(root).devices.first { $0.name == "nvme0" })
        XCTAssertEqual(unnamed.irqs.map(\.managedExpected), [false, true, true])
        XCTAssertEqual(unnamed.irqs.map(\.affinity.actions), [nil, nil, nil])
    }

    func testINTxOnlyWhenThereAreNoMSIVectors() throws {
        let sda = try XCTUnwrap(DeviceLocality.read(root).devices.first { $0.name == "sda" })
        XCTAssertEqual(sda.address, try address("0000:00:1f.2"), "sda sits five levels below its AHCI function")
        XCTAssertEqual(sda.irqs.map(\.irq), [16])
        XCTAssertEqual(sda.irqs.map(\.mode), [.intx])
        // MSI present beside an INTx line: MSI wins.
        try tree.write("sys/devices/pci0000:00/0000:00:1f.2/msi_irqs/70", "msi\n")
        try tree.write("proc/irq/70/smp_affinity_list", "1\n")
        let msi = try XCTUnwrap(DeviceLocality.read(root).devices.first { $0.name == "sda" })
        XCTAssertEqual(msi.irqs.map(\.irq), [70])
        XCTAssertEqual(msi.irqs.map(\.mode), [.msi])
        XCTAssertNil(msi.irqs.first?.affinity.effective, "no effective_affinity_list: unknown, never empty")
    }

    func testMinusOneIsKeptAndNeverANode() throws {
        let eth1 = try XCTUnwrap(DeviceLocality.read(root).devices.first { $0.name == "eth1" })
        XCTAssertEqual(eth1.reportedNode, -1)
        XCTAssertNil(eth1.numaNode)
        XCTAssertNil(eth1.numactlNode)
    }

    func testGPUsAndOtherPCIFunctions() throws {
        let devices = DeviceLocality.read(root).devices
        let card = try XCTUnwrap(devices.first { $0.name == "card0" })
        XCTAssertEqual(card.kind, .gpu)
        XCTAssertEqual(card.pciClass, 0x030000)
        XCTAssertEqual(card.driver, "bochs-drm")
        let timing = try XCTUnwrap(devices.first { $0.name == "0000:00:05.0" })
        XCTAssertEqual(timing.kind, .pci)
        XCTAssertNil(timing.driver)
        XCTAssertEqual(timing.irqs, [], "irq 0: no line")
        // A display function without a drm driver is a GPU all the same.
        try FileManager.default.removeItem(atPath: "\(tree.path)/sys/class/drm/card0")
        XCTAssertEqual(DeviceLocality.read(root).devices.first { $0.name == "0000:00:01.0" }?.kind, .gpu)
    }

    // MARK: resolve

    private func node(_ specifier: DeviceSpecifier, _ rule: DeviceLocality.Rule) -> Int? {
        try? DeviceLocality.resolve(specifier, in: root, rule: rule).get()
    }

    private func refusal(_ specifier: DeviceSpecifier, _ rule: DeviceLocality.Rule, file: StaticString = #filePath,
                         line: UInt = #line) -> DeviceRefusal? {
        switch DeviceLocality.resolve(specifier, in: root, rule: rule) {
        case let .success(node):
            XCTFail("\(specifier) resolved to node \(node)", file: file, line: line)
            return nil
        case let .failure(refusal): return refusal
        }
    }

    func testBothRulesAgreeOnAnUntouchedHost() {
        for rule in [DeviceLocality.Rule.endpoint, .numactl] {
            XCTAssertEqual(node(.netdev("eth0"), rule), 1)
            XCTAssertEqual(node(.block("nvme0n1"), rule), 0)
            XCTAssertEqual(node(.block("sda"), rule), 0)
            XCTAssertEqual(node(.block("nvme0n1p1"), rule), 0, "a partition has no device link: its disk carries it")
        }
    }

    func testNumactlsRuleReadsTheFirstDeviceUnderTheHostBridge() throws {
        // A node written by hand on the root port only: numactl reads the port, the audit the endpoint.
        try tree.write("sys/devices/pci0000:20/0000:20:00.0/numa_node", "0\n")
        XCTAssertEqual(node(.netdev("eth0"), .numactl), 0)
        XCTAssertEqual(node(.netdev("eth0"), .endpoint), 1)
        let located = try DeviceLocality.locate(.netdev("eth0"), in: root, rule: .numactl).get()
        XCTAssertEqual(located.device, "eth0 (\(tree.path)/sys/devices/pci0000:20/0000:20:00.0)")
        XCTAssertEqual(DeviceLocality.read(root).devices.first { $0.name == "eth0" }?.numactlNode, 0)
    }

    func testPCIBehindABridgeResolvesOnlyByTheEndpointRule() throws {
        XCTAssertEqual(node(.pci(try address("0000:21:00.0")), .endpoint), 1)
        guard case let .unknown(_, path)? = refusal(.pci(try address("0000:21:00.0")), .numactl) else { return XCTFail("not unknown") }
        XCTAssertEqual(path, "\(tree.path)/sys/devices/pci0000:21/0000:21:00.0", "numactl's path exists only for root-bus devices")
        XCTAssertEqual(node(.pci(try address("0000:20:00.0")), .numactl), 1, "the root port is on the root bus")
        XCTAssertEqual(node(.pci(try address("0000:20:00.0")), .endpoint), 1)
    }

    func testRefusals() throws {
        for rule in [DeviceLocality.Rule.endpoint, .numactl] {
            guard case let .noLocality(_, device)? = refusal(.netdev("eth1"), rule) else { return XCTFail("eth1 has -1") }
            XCTAssertTrue(device.hasPrefix("eth1 ("), device)
            guard case .virtual(_, "lo")? = refusal(.netdev("lo"), rule) else { return XCTFail("lo is virtual") }
            guard case .virtual(_, "eth0.100")? = refusal(.netdev("eth0.100"), rule) else { return XCTFail("a VLAN is virtual") }
            guard case .virtual(_, "dm-0")? = refusal(.block("dm-0"), rule) else { return XCTFail("dm-0 is virtual") }
            guard case let .unknown(_, path)? = refusal(.netdev("eth9"), rule) else { return XCTFail("eth9 is unknown") }
            XCTAssertEqual(path, "\(tree.path)/sys/class/net/eth9")
            guard case .notHere? = refusal(.file("/etc/hostname"), rule) else { return XCTFail("file: needs the live host") }
            guard case .notHere? = refusal(.ip("127.0.0.1"), rule) else { return XCTFail("ip: needs the live host") }
        }
        let text = refusal(.netdev("eth1"), .numactl)?.description ?? ""
        XCTAssertTrue(text.hasPrefix("netdev:eth1: eth1 (\(tree.path)/sys/devices/pci0000:00/0000:00:02.0) reports numa_node -1"), text)
        XCTAssertTrue(text.contains("bind by node number"), text)
        XCTAssertEqual(refusal(.netdev("eth9"), .endpoint)?.description, "netdev:eth9: no \(tree.path)/sys/class/net/eth9")
    }

    func testAClassLinkWithoutAPCIPathFallsBackToTheDeviceLink() throws {
        // A platform NIC: numactl's pattern does not match; it reads NAME/device/numa_node.
        try tree.write("sys/devices/platform/soc/eth2dev/numa_node", "1\n")
        try tree.link("sys/devices/platform/soc/eth2dev/net/eth2/device", "../../../eth2dev")
        try tree.link("sys/class/net/eth2", "../../devices/platform/soc/eth2dev/net/eth2")
        XCTAssertEqual(node(.netdev("eth2"), .numactl), 1)
        XCTAssertEqual(node(.netdev("eth2"), .endpoint), 1)
        let eth2 = try XCTUnwrap(DeviceLocality.read(root).devices.first { $0.name == "eth2" })
        XCTAssertNil(eth2.address, "not a PCI function")
        XCTAssertEqual(eth2.reportedNode, 1)
    }

    func testFileResolvesThroughTheBlockDeviceHoldingIt() throws {
        // The live stat of a real file, matched against a tree's sys/class/block.
        let file = "\(tree.path)/data"
        try tree.write("data", "x")
        var info = stat()
        XCTAssertEqual(stat(file, &info), 0)
        let (major, minor) = DeviceLocality.deviceNumbers(UInt64(info.st_dev))
        // Only the one disk, so no device number of the tree's can stand in by chance.
        for name in ["dm-0", "nvme0n1", "nvme0n1p1", "sda"] { try FileManager.default.removeItem(atPath: "\(tree.path)/sys/class/block/\(name)") }
        try tree.write("sys/devices/pci0000:20/0000:20:00.0/0000:21:00.0/virtio3/block/vdb/dev", "\(major):\(minor)\n")
        try tree.link("sys/devices/pci0000:20/0000:20:00.0/0000:21:00.0/virtio3/block/vdb/device", "../../../virtio3")
        try tree.link("sys/class/block/vdb", "../../devices/pci0000:20/0000:20:00.0/0000:21:00.0/virtio3/block/vdb")
        let result = DeviceLocality.locate(file: file, .file(file), sysfs: root, rule: .numactl)
        if major == 0 {
            guard case let .failure(.notHere(_, reason)) = result else { return XCTFail("\(result)") }
            XCTAssertTrue(reason.contains("a filesystem without a block device"), reason)
        } else {
            XCTAssertEqual(try result.get().node, 1)
        }
        guard case let .failure(.notHere(_, reason)) = DeviceLocality.locate(file: "/dev/null", .file("/dev/null"), sysfs: root, rule: .numactl)
        else { return XCTFail("a character device") }
        XCTAssertTrue(reason.contains("character device"), reason)
        guard case let .failure(.unreadable(_, error)) = DeviceLocality.locate(file: "\(tree.path)/nope", .file("nope"), sysfs: root, rule: .numactl)
        else { return XCTFail("a missing file") }
        XCTAssertTrue(error.isMissing)
    }

    func testDeviceNumbersSplitAsGlibcDoes() {
        XCTAssertTrue(DeviceLocality.deviceNumbers(0x0803) == (8, 3))
        // makedev(259, 70000): minor above 255 goes to the high bits.
        let device: UInt64 = (259 & 0xFFF) << 8 | (70000 & 0xFF) | (UInt64(70000) & ~0xFF) << 12
        XCTAssertTrue(DeviceLocality.deviceNumbers(device) == (259, 70000))
    }

    // MARK: a hostile capture

    func testALinkLeadingOutOfTheRootIsRefused() throws {
        try tree.write("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
        try tree.link("sys/devices/pci0000:00/0000:00:09.0/net/evil/device", "../../../../../../../../../../etc")
        try tree.write("sys/devices/pci0000:00/0000:00:09.0/numa_node", "0\n")
        try tree.link("sys/class/net/evil", "../../devices/pci0000:00/0000:00:09.0/net/evil")
        try tree.link("sys/devices/virtual/net/abs/device", "/etc")
        try tree.link("sys/class/net/abs", "../../devices/virtual/net/abs")
        let inventory = DeviceLocality.read(root)
        XCTAssertNil(inventory.devices.first { $0.name == "evil" || $0.name == "abs" })
        XCTAssertEqual(Set(inventory.problems.map(\.subject)), ["evil", "abs"])
        XCTAssertTrue(inventory.problems.allSatisfy { $0.error.description.contains("outside sys/devices") }, "\(inventory.problems)")
        guard case .unreadable? = refusal(.netdev("evil"), .endpoint) else { return XCTFail("evil resolved") }
        // numactl's rule matches the class link (no `..` can come out of the pattern) and reads 0000:00:09.0.
        XCTAssertEqual(node(.netdev("evil"), .numactl), 0)
    }

    func testAnOverLongLinkAndALinkLoopAreProblemsNotCrashes() throws {
        let long = String(repeating: "/devices/pci0", count: 300) + ".0"   // 3,902 bytes, no match
        try tree.link("sys/class/net/long", long)
        try tree.link("sys/class/net/loop", "loop")
        let inventory = DeviceLocality.read(root)
        XCTAssertNil(inventory.devices.first { $0.name == "long" || $0.name == "loop" })
        // An absolute link text out of a capture is refused by the confined open; a loop hits the link limit.
        XCTAssertEqual(Set(inventory.problems.map(\.subject)), ["long", "loop"])
        XCTAssertNotNil(refusal(.netdev("long"), .numactl))
        XCTAssertNotNil(refusal(.netdev("loop"), .numactl))
        XCTAssertNotNil(refusal(.netdev("loop"), .endpoint))
    }

    func testTooManyVectorsIsAProblemNotATruncation() throws {
        let directory = "\(tree.path)/sys/devices/pci0000:00/0000:00:1f.2/msi_irqs"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for irq in 1000...(1000 + DeviceVectors.maximumVectors) {
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory)/\(irq)", contents: Data("msix\n".utf8)))
        }
        let inventory = DeviceLocality.read(root)
        let sda = try XCTUnwrap(inventory.devices.first { $0.name == "sda" })
        XCTAssertEqual(sda.irqs, [], "neither a cut-short MSI list nor the INTx line stands in")
        XCTAssertTrue(inventory.problems.contains { $0.subject == "sda" && $0.error.description.contains("more than 2048 entries") },
                      "\(inventory.problems.map(\.error.description))")
    }

    func testAnIRQNumberBeyondTheBoundIsAProblem() throws {
        try tree.write("sys/devices/pci0000:00/0000:00:05.0/irq", "99999999\n")
        let inventory = DeviceLocality.read(root)
        XCTAssertEqual(inventory.devices.first { $0.name == "0000:00:05.0" }?.irqs, [])
        XCTAssertTrue(inventory.problems.contains { $0.subject == "0000:00:05.0" && $0.error.description.contains("above the largest IRQ number") },
                      "\(inventory.problems.map(\.error.description))")
    }

    func testAFIFOInPlaceOfNumaNodeIsRefusedWithoutBlocking() throws {
        let path = "\(tree.path)/sys/devices/pci0000:00/0000:00:05.0/numa_node"
        try FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let inventory = DeviceLocality.read(root)
        XCTAssertNil(inventory.devices.first { $0.name == "0000:00:05.0" }?.reportedNode)
        XCTAssertTrue(inventory.problems.contains { $0.error.description.contains("FIFO") })
    }
}
