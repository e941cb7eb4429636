import NumaguardCore
import NumaguardHost

/// Where network interfaces and NVMe controllers sit: the node their bus device hangs off
/// and the CPUs their interrupts go to. A NIC on the far node, or its queues' IRQs on the
/// trading cores, costs as much as a misplaced process.
enum DeviceReader {
    static let classes = ["net", "nvme"]

    static func read(_ reads: inout OptionalReads) -> [SnapshotDevice] {
        var devices: [SnapshotDevice] = []
        for kind in classes {
            for name in reads.list("sys/class/\(kind)", id: "device.\(kind)") {
                if let device = readDevice(kind: kind, name: name, &reads) { devices.append(device) }
            }
        }
        return devices
    }

    static func readDevice(kind: String, name: String, _ reads: inout OptionalReads) -> SnapshotDevice? {
        let root = reads.root
        let link = "sys/class/\(kind)/\(name)/device"
        // Virtual interfaces (lo, bridges, veth, bonds) have no device: nothing to place.
        guard root.exists(link) else { return nil }
        // numa_node sits on the bus device: the class device's own (a PCI NIC or NVMe
        // controller) or its parent's when a transport sits between them (virtio-net).
        guard let bus = [link, "\(link)/.."].first(where: { root.exists("\($0)/numa_node") }) else { return nil }
        let id = "device.\(kind).\(name)"
        let node = reads.parsed("\(bus)/numa_node", id: "\(id).numa_node") { text throws(ParseError) in
            // -1: the firmware does not say.
            Lex.trimmed(text) == "-1" ? -1 : try Lex.number(text, what: "numa_node")
        }
        var address = ""
        do {
            address = String(try root.resolve(bus).path.split(separator: "/").last ?? "")
        } catch {
            reads.record("\(id).address", error)
        }
        // MSI/MSI-X vectors (one per queue) when there are any, each file saying which;
        // else the legacy INTx line.
        var vectors = reads.list("\(bus)/msi_irqs", id: "\(id).irqs").compactMap { name in
            Lex.decimal(name).map { ($0, reads.text("\(bus)/msi_irqs/\(name)", id: "\(id).irqs") ?? "") }
        }.sorted { $0.0 < $1.0 }
        if vectors.isEmpty, let line = reads.parsed("\(bus)/irq", id: "\(id).irqs", { text throws(ParseError) in
            try Lex.number(text, what: "irq")
        }), line > 0 {
            vectors = [(line, "intx")]
        }
        return SnapshotDevice(
            kind: kind, name: name, address: address, numaNode: node.flatMap { $0 < 0 ? nil : $0 },
            irqs: vectors.map { irq, mode in
                SnapshotDevice.IRQ(irq: irq, mode: mode, affinity: reads.parsed("proc/irq/\(irq)/smp_affinity_list", id: "\(id).irqs") {
                    text throws(ParseError) in try IDListParser.parse(text)
                })
            })
    }
}
