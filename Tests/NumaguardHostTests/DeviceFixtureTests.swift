import Foundation
import TestSupport
import XCTest

/// The device fixtures say what QEMU was told: each device's numa_node in the capture equals
/// the node its pxb-pcie was given on the recorded QEMU command line (-1 behind pcie.0), and
/// the recorded package is the kernel that ran. Read from the files directly, with no
/// numaguard reader in between, so a re-record that moved a device or changed the kernel
/// shows up here first.
final class DeviceFixtureTests: XCTestCase {
    private func text(_ name: String, _ file: String) throws -> String {
        try String(contentsOfFile: Fixtures.path(name) + "/" + file, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testQEMUCommandLineHoldsTheDeviceRecipe() throws {
        for name in Fixtures.deviceNames {
            let commandLine = try text(name, "qemu-cmdline")
            XCTAssertTrue(commandLine.contains(" -machine q35 "), name)
            XCTAssertTrue(commandLine.contains("-device pxb-pcie,id=pxb1,bus_nr=32,numa_node=1,bus=pcie.0"), name)
            XCTAssertTrue(commandLine.contains("-device pxb-pcie,id=pxb0,bus_nr=16,numa_node=0,bus=pcie.0"), name)
            XCTAssertTrue(commandLine.contains("-netdev user,id=n0,restrict=on -device virtio-net-pci,bus=rp0,netdev=n0"), name)
            XCTAssertTrue(commandLine.contains("-device nvme,serial=ng1,drive=d1,bus=rp1"), name)
            XCTAssertTrue(commandLine.contains("-device pcie-root-port,id=rp2,bus=pcie.0,"), name)
            let placements = try QEMUPlacement.parse(commandLine)
            XCTAssertEqual(placements.map(\.driver), ["virtio-net-pci", "nvme", "virtio-net-pci"], name)
            XCTAssertEqual(placements.map(\.node), [1, 0, nil], name)
            XCTAssertEqual(placements.map(\.port), ["0000:20:00.0", "0000:10:00.0", "0000:00:12.0"], name)
            // pci-map (what the guest was told) agrees with the command line.
            let map = try text(name, "pci-map").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            XCTAssertEqual(map.map { $0.count == 4 ? $0[3] : "?" }, placements.map(\.port), name)
            XCTAssertEqual(map.map { $0.count == 4 ? $0[2] : "?" }, placements.map { $0.node.map(String.init) ?? "none" }, name)
        }
    }

    func testEachDeviceIsOnTheNodeQEMUWasTold() throws {
        for name in Fixtures.deviceNames {
            let root = Fixtures.path(name)
            for placement in try QEMUPlacement.parse(try text(name, "qemu-cmdline")) {
                let endpoint = try placement.endpoint(in: root)
                let what = "\(name) \(placement.driver) behind \(placement.port)"
                XCTAssertEqual(try String(contentsOfFile: endpoint + "/numa_node", encoding: .utf8), "\(placement.expectedNumaNode)\n", what)
                // The root port is the device numactl reads (the first below the host bridge).
                let port = root + "/sys/devices/\(placement.hostBridge)/\(placement.port)"
                XCTAssertEqual(try String(contentsOfFile: port + "/numa_node", encoding: .utf8), "\(placement.expectedNumaNode)\n", what)
                let (pciClass, driver) = placement.driver == "nvme" ? ("0x010802", "nvme") : ("0x020000", "virtio-pci")
                XCTAssertEqual(try String(contentsOfFile: endpoint + "/class", encoding: .utf8), pciClass + "\n", what)
                let driverLink = try FileManager.default.destinationOfSymbolicLink(atPath: endpoint + "/driver")
                XCTAssertEqual((driverLink as NSString).lastPathComponent, driver, what)
                // Its vectors are in its msi_irqs/ (virtio's too: the PCI parent holds them),
                // each with its affinity files captured.
                let vectors = try FileManager.default.contentsOfDirectory(atPath: endpoint + "/msi_irqs")
                XCTAssertGreaterThanOrEqual(vectors.count, placement.driver == "nvme" ? 2 : 3, what)
                for vector in vectors {
                    XCTAssertEqual(try String(contentsOfFile: endpoint + "/msi_irqs/" + vector, encoding: .utf8), "msix\n", what)
                    XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/proc/irq/\(vector)/effective_affinity_list"), what)
                    let action = try String(contentsOfFile: root + "/sys/kernel/irq/\(vector)/actions", encoding: .utf8)
                    XCTAssertTrue(action.hasPrefix(placement.driver == "nvme" ? "nvme" : "virtio"), "\(what): IRQ \(vector) is \(action)")
                }
            }
        }
    }

    func testClassLinksAreLinksIntoTheDeviceTree() throws {
        for name in Fixtures.deviceNames {
            let root = Fixtures.path(name)
            let placements = try QEMUPlacement.parse(try text(name, "qemu-cmdline"))
            let nics = try FileManager.default.contentsOfDirectory(atPath: root + "/sys/class/net").filter { $0 != "lo" }
            var ports: [String] = []
            for nic in nics {
                let link = try FileManager.default.destinationOfSymbolicLink(atPath: root + "/sys/class/net/" + nic)
                XCTAssertTrue(link.hasPrefix("../../devices/pci0000:"), "\(name) \(nic) -> \(link)")
                ports += placements.map(\.port).filter { link.contains("/\($0)/") }
                // The class directory resolves inside the capture.
                XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/sys/class/net/\(nic)/device"), "\(name) \(nic)")
            }
            XCTAssertEqual(ports.sorted(), placements.filter { $0.driver == "virtio-net-pci" }.map(\.port).sorted(), name)
            let namespace = try FileManager.default.destinationOfSymbolicLink(atPath: root + "/sys/class/block/nvme0n1")
            XCTAssertTrue(namespace.hasPrefix("../../devices/pci0000:10/0000:10:00.0/"), "\(name): \(namespace)")
            XCTAssertTrue(namespace.hasSuffix("/nvme/nvme0/nvme0n1"), "\(name): a controller's namespace, not a multipath head: \(namespace)")
        }
    }

    /// `package` names the kernel that ran (Debian's linux-image-RELEASE), and the README says the same.
    func testPackageIsTheKernelThatRan() throws {
        for name in Fixtures.deviceNames {
            let package = try text(name, "package")
            let release = try text(name, "proc/sys/kernel/osrelease")
            XCTAssertEqual(package, "linux-image-" + release, name)
            XCTAssertTrue(try text(name, "README.md").contains("Debian package `\(package)`"), name)
        }
    }

    func testIsolatedFixtureBootedWithIsolation() throws {
        let name = "linux-6.1-2node-isolated"
        let flags = "isolcpus=managed_irq,domain,3 nohz_full=3"
        XCTAssertTrue(try text(name, "qemu-cmdline").contains("-append 'console=ttyS0 panic=-1 quiet \(flags)'"))
        XCTAssertTrue(try text(name, "proc/cmdline").hasSuffix(flags))
        XCTAssertEqual(try text(name, "sys/devices/system/cpu/isolated"), "3")
        XCTAssertEqual(try text(name, "sys/devices/system/cpu/nohz_full"), "3")
        for device in Fixtures.deviceNames where device != name {
            XCTAssertEqual(try text(device, "sys/devices/system/cpu/isolated"), "", device)
        }
    }
}
