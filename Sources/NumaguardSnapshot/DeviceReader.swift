import NumaguardCore
import NumaguardHost

/// Where network interfaces and NVMe controllers sit: the node their bus device hangs off
/// and the CPUs their interrupts go to. A NIC on the far node, or its queues' IRQs on the
/// trading cores, costs as much as a misplaced process.
///
/// A mapper over `DeviceLocality`, the reader audit, run and watch share, so a snapshot
/// cannot place a NIC elsewhere than they do.
enum DeviceReader {
    static let classes = ["net", "nvme"]

    static func read(_ reads: inout OptionalReads) -> [SnapshotDevice] {
        let inventory = DeviceLocality.read(reads.root, classes: classes)
        for problem in inventory.problems {
            let device = inventory.devices.first { problem.subject == $0.name || problem.subject.hasPrefix("\($0.name) IRQ ") }
            reads.record(device.map { "device.\($0.kind.rawValue).\($0.name)" } ?? "device.\(problem.subject)", problem.error)
        }
        // Only devices with a bus device carrying numa_node: virtual interfaces (lo, bridges,
        // veth, bonds) have nothing to place.
        return inventory.devices.compactMap { device in
            guard let bus = device.busPath else { return nil }
            return SnapshotDevice(
                kind: device.kind.rawValue, name: device.name, address: String(PathText.names(in: bus).last ?? ""),
                numaNode: device.numaNode,
                irqs: device.irqs.map { SnapshotDevice.IRQ(irq: $0.irq, mode: $0.mode.rawValue, affinity: $0.affinity.requested) })
        }
    }
}
