import Foundation

/// A host with PCI devices laid out exactly as the kernel lays them out for QEMU's q35 with
/// pxb-pcie expanders (the issue 15 recipe): every class entry is a real symlink whose text is
/// the kernel's, so the readers follow the links they follow on a real host.
///
/// - eth0: virtio-net behind root port 0000:20:00.0 of expander pci0000:20 (node 1), endpoint
///   0000:21:00.0, MSI-X vectors 40-42 (config, input, output).
/// - nvme0 / nvme0n1 (+ partition nvme0n1p1): behind root port 0000:10:00.0 of pci0000:10
///   (node 0), endpoint 0000:11:00.0, MSI-X vectors 50-52 (nvme0q0 admin, q1, q2).
/// - eth1: virtio-net behind root port 0000:00:02.0 on pcie.0 (no _PXM: numa_node -1).
/// - sda: AHCI 0000:00:1f.2 on the root bus (node 0), INTx line 16 only.
/// - card0: a display function 0000:00:01.0 (class 0x030000, node 0) with drm card0.
/// - 0000:00:05.0: a timing card without a driver or class device (class 0xff0000, node 0).
/// - lo and eth0.100 (a VLAN): virtual, no device link; dm-0 likewise.
public struct DeviceTree {
    public let host: SyntheticHost
    public var path: String { host.path }

    public static func make() throws -> DeviceTree {
        let tree = DeviceTree(host: SyntheticHost(root: try Fixtures.copy("linux-6.1-2node")))
        try tree.build()
        return tree
    }

    public func write(_ relative: String, _ contents: String) throws { try host.write(relative, contents) }
    public func link(_ relative: String, _ target: String) throws { try host.link(relative, target) }
    public func remove() { host.remove() }

    private func pci(_ path: String, node: Int, pciClass: String, vendor: String = "0x1af4", device: String = "0x1041",
                     driver: String? = nil) throws {
        let directory = "sys/devices/\(path)"
        try write("\(directory)/numa_node", "\(node)\n")
        try write("\(directory)/class", "\(pciClass)\n")
        try write("\(directory)/vendor", "\(vendor)\n")
        try write("\(directory)/device", "\(device)\n")
        try write("\(directory)/irq", "0\n")
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let depth = path.split(separator: "/").count
        try link("sys/bus/pci/devices/\(name)", String(repeating: "../", count: 3) + "devices/\(path)")
        if let driver {
            try link("\(directory)/driver", String(repeating: "../", count: depth + 1) + "bus/pci/drivers/\(driver)")
            try write("sys/bus/pci/drivers/\(driver)/bind", "")
        }
    }

    private func irq(_ number: Int, requested: String, effective: String, actions: String) throws {
        try write("proc/irq/\(number)/smp_affinity_list", "\(requested)\n")
        try write("proc/irq/\(number)/effective_affinity_list", "\(effective)\n")
        try write("proc/irq/\(number)/node", "0\n")
        try write("sys/kernel/irq/\(number)/actions", "\(actions)\n")
    }

    private func build() throws {
        // Host bridges (the expanders) and root ports.
        try write("sys/devices/pci0000:20/power/control", "auto\n")
        try pci("pci0000:20/0000:20:00.0", node: 1, pciClass: "0x060400", vendor: "0x1b36", device: "0x000c", driver: "pcieport")
        try pci("pci0000:10/0000:10:00.0", node: 0, pciClass: "0x060400", vendor: "0x1b36", device: "0x000c", driver: "pcieport")
        try pci("pci0000:00/0000:00:02.0", node: -1, pciClass: "0x060400", vendor: "0x1b36", device: "0x000c", driver: "pcieport")

        // eth0: virtio-net on node 1.
        let eth0 = "pci0000:20/0000:20:00.0/0000:21:00.0"
        try pci(eth0, node: 1, pciClass: "0x020000", driver: "virtio-pci")
        for (irq, actions) in [(40, "virtio1-config"), (41, "virtio1-input.0"), (42, "virtio1-output.0")] {
            try write("sys/devices/\(eth0)/msi_irqs/\(irq)", "msix\n")
            try self.irq(irq, requested: "0-3", effective: "\(irq - 40)", actions: actions)
        }
        try link("sys/devices/\(eth0)/virtio1/driver", "../../../../../bus/virtio/drivers/virtio_net")
        try write("sys/bus/virtio/drivers/virtio_net/bind", "")
        try link("sys/devices/\(eth0)/virtio1/net/eth0/device", "../../../virtio1")
        try link("sys/class/net/eth0", "../../devices/\(eth0)/virtio1/net/eth0")

        // nvme0 on node 0, its namespace and a partition.
        let nvme = "pci0000:10/0000:10:00.0/0000:11:00.0"
        try pci(nvme, node: 0, pciClass: "0x010802", vendor: "0x1b36", device: "0x0010", driver: "nvme")
        for (irq, actions) in [(50, "nvme0q0"), (51, "nvme0q1"), (52, "nvme0q2")] {
            try write("sys/devices/\(nvme)/msi_irqs/\(irq)", "msix\n")
            try self.irq(irq, requested: irq == 50 ? "0-3" : "\(irq - 51)", effective: "\(irq - 50)", actions: actions)
        }
        try link("sys/devices/\(nvme)/nvme/nvme0/device", "../../../0000:11:00.0")
        try link("sys/class/nvme/nvme0", "../../devices/\(nvme)/nvme/nvme0")
        try write("sys/devices/\(nvme)/nvme/nvme0/nvme0n1/dev", "259:0\n")
        try link("sys/devices/\(nvme)/nvme/nvme0/nvme0n1/device", "../../nvme0")
        try link("sys/class/block/nvme0n1", "../../devices/\(nvme)/nvme/nvme0/nvme0n1")
        try write("sys/devices/\(nvme)/nvme/nvme0/nvme0n1/nvme0n1p1/partition", "1\n")
        try write("sys/devices/\(nvme)/nvme/nvme0/nvme0n1/nvme0n1p1/dev", "259:1\n")
        try link("sys/class/block/nvme0n1p1", "../../devices/\(nvme)/nvme/nvme0/nvme0n1/nvme0n1p1")

        // eth1: virtio-net behind a root port of pcie.0, no locality.
        let eth1 = "pci0000:00/0000:00:02.0/0000:01:00.0"
        try pci(eth1, node: -1, pciClass: "0x020000", driver: "virtio-pci")
        try write("sys/devices/\(eth1)/msi_irqs/60", "msix\n")
        try irq(60, requested: "0-3", effective: "2", actions: "virtio2-input.0")
        try link("sys/devices/\(eth1)/virtio2/net/eth1/device", "../../../virtio2")
        try link("sys/class/net/eth1", "../../devices/\(eth1)/virtio2/net/eth1")

        // sda: AHCI on the root bus, INTx only.
        let ahci = "pci0000:00/0000:00:1f.2"
        try pci(ahci, node: 0, pciClass: "0x010601", vendor: "0x8086", device: "0x2922", driver: "ahci")
        try write("sys/devices/\(ahci)/irq", "16\n")
        try irq(16, requested: "0-3", effective: "0", actions: "ahci[0000:00:1f.2]")
        let scsi = "\(ahci)/ata1/host0/target0:0:0/0:0:0:0"
        try write("sys/devices/\(scsi)/block/sda/dev", "8:0\n")
        try link("sys/devices/\(scsi)/block/sda/device", "../../../0:0:0:0")
        try link("sys/class/block/sda", "../../devices/\(scsi)/block/sda")

        // card0: a GPU on the root bus.
        let gpu = "pci0000:00/0000:00:01.0"
        try pci(gpu, node: 0, pciClass: "0x030000", vendor: "0x1234", device: "0x1111", driver: "bochs-drm")
        try link("sys/devices/\(gpu)/drm/card0/device", "../../../0000:00:01.0")
        try link("sys/class/drm/card0", "../../devices/\(gpu)/drm/card0")
        try link("sys/devices/\(gpu)/drm/renderD128/device", "../../../0000:00:01.0")
        try link("sys/class/drm/renderD128", "../../devices/\(gpu)/drm/renderD128")

        // A timing card: no driver, no class device.
        try pci("pci0000:00/0000:00:05.0", node: 0, pciClass: "0xff0000", vendor: "0x1d6c", device: "0x0001")

        // Virtual devices.
        try write("sys/devices/virtual/net/lo/mtu", "65536\n")
        try link("sys/class/net/lo", "../../devices/virtual/net/lo")
        try write("sys/devices/virtual/net/eth0.100/mtu", "1500\n")
        try link("sys/class/net/eth0.100", "../../devices/virtual/net/eth0.100")
        try write("sys/devices/virtual/block/dm-0/dev", "253:0\n")
        try link("sys/class/block/dm-0", "../../devices/virtual/block/dm-0")
    }
}
