import Foundation

/// Where QEMU was told to put each PCI device of a `run-guest.sh --pci` guest, read back from
/// the QEMU command line the harness recorded (`qemu-cmdline`), never from the guest: tests
/// compare what the guest's kernel says against this, so the expectation cannot drift with
/// the thing it checks.
///
/// The harness's recipe (scripts/vm/run-guest.sh): `-device pxb-pcie,id=pxbN,bus_nr=B,
/// numa_node=N,...` per node, `-device pcie-root-port,id=rpI,bus=pxbN|pcie.0,...,addr=0xS`
/// per device, and the device itself (`virtio-net-pci`, `nvme` or `bochs-display`) with `bus=rpI`. A root
/// port on `pcie.0` sits on bus 0, whose host bridge has no _PXM: the kernel reports -1.
public struct QEMUPlacement: Sendable, Equatable {
    /// `virtio-net-pci`, `nvme` or `bochs-display` (`--pci gpu@N`).
    public let driver: String
    /// The root port's PCI address as the guest spells it (`0000:20:00.0`).
    public let port: String
    /// The host bridge directory under /sys/devices (`pci0000:20`).
    public let hostBridge: String
    /// The node QEMU was told, or nil behind pcie.0 (no locality: numa_node -1).
    public let node: Int?

    /// The numa_node file's expected content.
    public var expectedNumaNode: Int { node ?? -1 }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Every `-device` argument of a shell-quoted QEMU command line, as (driver, properties).
    public static func devices(_ commandLine: String) -> [(driver: String, properties: [String: String])] {
        let words = commandLine.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        var result: [(String, [String: String])] = []
        for (index, word) in words.enumerated() where word == "-device" && index + 1 < words.count {
            let parts = words[index + 1].split(separator: ",").map(String.init)
            guard let driver = parts.first else { continue }
            var properties: [String: String] = [:]
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { properties[pair[0]] = pair[1] }
            }
            result.append((driver, properties))
        }
        return result
    }

    /// The devices behind root ports, in command-line order.
    public static func parse(_ commandLine: String) throws(ParseError) -> [QEMUPlacement] {
        let all = devices(commandLine)
        var expanders: [String: (bus: Int, node: Int)] = [:]
        var ports: [String: (bus: String, slot: Int)] = [:]
        for (driver, properties) in all {
            switch driver {
            case "pxb-pcie":
                guard let id = properties["id"], let bus = properties["bus_nr"].flatMap({ Int($0) }),
                      let node = properties["numa_node"].flatMap({ Int($0) }) else {
                    throw ParseError(description: "pxb-pcie without id, bus_nr or numa_node: \(properties)")
                }
                expanders[id] = (bus, node)
            case "pcie-root-port":
                guard let id = properties["id"], let bus = properties["bus"], let addr = properties["addr"],
                      addr.hasPrefix("0x"), let slot = Int(addr.dropFirst(2), radix: 16) else {
                    throw ParseError(description: "pcie-root-port without id, bus or addr=0x..: \(properties)")
                }
                ports[id] = (bus, slot)
            default:
                continue
            }
        }
        var placements: [QEMUPlacement] = []
        for (driver, properties) in all where ["virtio-net-pci", "nvme", "bochs-display"].contains(driver) {
            guard let portID = properties["bus"], let port = ports[portID] else {
                throw ParseError(description: "\(driver) is not behind a declared pcie-root-port: \(properties)")
            }
            let busNumber: Int
            let node: Int?
            if port.bus == "pcie.0" {
                (busNumber, node) = (0, nil)
            } else if let expander = expanders[port.bus] {
                (busNumber, node) = (expander.bus, expander.node)
            } else {
                throw ParseError(description: "root port \(portID) on unknown bus \(port.bus)")
            }
            let bus = String(format: "%02x", busNumber)
            placements.append(QEMUPlacement(driver: driver, port: "0000:\(bus):" + String(format: "%02x", port.slot) + ".0",
                                            hostBridge: "pci0000:\(bus)", node: node))
        }
        return placements
    }

    /// The endpoint behind the root port in a sysfs tree (`ROOT/sys/devices/pci0000:BB/PORT/`):
    /// the one child named like a PCI function. Found by path, never by probe order.
    public func endpoint(in root: String) throws -> String {
        let portDirectory = "\(root)/sys/devices/\(hostBridge)/\(port)"
        let children = try FileManager.default.contentsOfDirectory(atPath: portDirectory)
            .filter { $0.range(of: #"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$"#, options: .regularExpression) != nil }
        guard children.count == 1, let child = children.first else {
            throw ParseError(description: "\(portDirectory): want one PCI function below the root port, found \(children)")
        }
        return "\(portDirectory)/\(child)"
    }
}
