import Foundation
import TestSupport
import XCTest

/// A q35 guest with real PCI devices on NUMA nodes (`run-guest.sh --pci`): a virtio-net NIC
/// behind a pxb-pcie on node 1, an NVMe behind one on node 0, and a NIC behind a root port on
/// pcie.0 (no locality). What the guest kernel says is checked against what QEMU was told,
/// read from the guest's recorded QEMU command line (`QEMUPlacement`). Devices are found by
/// their PCI path, never by probe order (the pcie.0 NIC is probed first and becomes eth0).
final class DeviceGuestTests: XCTestCase {
    static let devices = "net@1,nvme@0,net@none"

    /// Every endpoint below a root port: "HOSTBRIDGE/PORT ENDPOINT NUMA_NODE PORT_NUMA_NODE
    /// DRIVER VECTORS", every virtio device's IRQs by their action names, every NIC's class
    /// link with what `numactl -N netdev:NIC -m netdev:NIC` allowed, and the same for the NVMe
    /// namespace by `block:` and `file:`.
    static let script = #"""
        # A PCI function's name (a port also has service children such as 0000:20:00.0:pcie001).
        F='[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]'
        for port in /sys/devices/pci0000:*/$F; do
            [ -d "$port" ] || continue
            for ep in "$port"/$F; do
                [ -d "$ep" ] || continue
                drv=$(readlink "$ep/driver"); vectors=$(ls "$ep/msi_irqs" 2>/dev/null | tr '\n' ,)
                echo "${port#/sys/devices/} ${ep##*/} $(cat "$ep/numa_node") $(cat "$port/numa_node") ${drv##*/} $vectors"
            done
        done >$OUT/endpoints
        for v in /sys/bus/virtio/devices/virtio*; do
            name=${v##*/}; parent=$(readlink -f "$v/.."); irqs=
            for a in /sys/kernel/irq/*/actions; do
                case "$(cat "$a")" in "$name"-*) n=${a%/actions}; irqs="$irqs${n##*/}," ;; esac
            done
            echo "$name ${parent##*/} $irqs"
        done >$OUT/virtio-irqs
        # allowed SPEC: the CPUs and nodes numactl -N SPEC -m SPEC gives a child, and its status.
        allowed() {
            out=$(numactl -N "$1" -m "$1" grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status 2>/tmp/numactl.err)
            rc=$?
            echo "$1 exit=$rc $(echo "$out" | tr -d '\t' | tr '\n' ' ')$(head -n1 /tmp/numactl.err)"
        }
        for n in /sys/class/net/*; do
            [ "${n##*/}" = lo ] && continue
            echo "${n##*/} $(readlink "$n")" >>$OUT/nics
            allowed "netdev:${n##*/}" >>$OUT/numactl
        done
        echo "nvme0n1 $(readlink /sys/class/block/nvme0n1)" >>$OUT/nics
        allowed block:nvme0n1 >>$OUT/numactl
        allowed file:/dev/nvme0n1 >>$OUT/numactl
        for node in 0 1; do echo "$node $(cat /sys/devices/system/node/node$node/cpulist)"; done >$OUT/node-cpus
        """#

    func testLinux61DevicesOnNodes() throws {
        try check(try Guest.boot(.linux61, .twoNode, pci: Self.devices, script: Self.script))
    }

    func testLinux612DevicesOnNodes() throws {
        try check(try Guest.boot(.linux612, .twoNode, pci: Self.devices, script: Self.script))
    }

    private func lines(_ guest: Guest, _ name: String) throws -> [[String]] {
        try guest.text(name).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    }

    private func check(_ guest: Guest, file: StaticString = #filePath, line: UInt = #line) throws {
        let placements = try QEMUPlacement.parse(try guest.text("qemu-cmdline"))
        XCTAssertEqual(placements.map(\.node), [1, 0, nil], "the recipe of \(Self.devices)", file: file, line: line)
        let endpoints = try lines(guest, "endpoints")
        let nodeCPUs = Dictionary(uniqueKeysWithValues: try lines(guest, "node-cpus").map { ($0[0], $0[1]) })

        // Each device's numa_node (and its root port's) is the node QEMU was told; -1 on pcie.0.
        var endpointOf: [String: String] = [:]
        for placement in placements {
            let below = endpoints.filter { $0.first == "\(placement.hostBridge)/\(placement.port)" }
            XCTAssertEqual(below.count, 1, "one endpoint behind \(placement.port): \(endpoints)", file: file, line: line)
            guard let entry = below.first, entry.count >= 5 else { continue }
            endpointOf[placement.port] = entry[1]
            XCTAssertEqual(entry[2], "\(placement.expectedNumaNode)", "\(placement.driver) \(entry[1]) numa_node", file: file, line: line)
            XCTAssertEqual(entry[3], "\(placement.expectedNumaNode)", "root port \(placement.port) numa_node", file: file, line: line)
            XCTAssertEqual(entry[4], placement.driver == "nvme" ? "nvme" : "virtio-pci", entry[1], file: file, line: line)
        }

        // virtio-net's vectors belong to the parent PCI device: in its msi_irqs/.
        let vectorsOf = Dictionary(uniqueKeysWithValues: endpoints.filter { $0.count >= 6 }.map {
            ($0[1], Set($0[5].split(separator: ",").map(String.init)))
        })
        let virtio = try lines(guest, "virtio-irqs")
        XCTAssertEqual(virtio.count, 2, "two virtio devices: \(virtio)", file: file, line: line)
        for device in virtio {
            XCTAssertEqual(device.count, 3, "\(device)", file: file, line: line)
            guard device.count == 3 else { continue }
            let irqs = Set(device[2].split(separator: ",").map(String.init))
            XCTAssertGreaterThanOrEqual(irqs.count, 3, "\(device[0]): config, input.0, output.0", file: file, line: line)
            XCTAssertTrue(irqs.isSubset(of: vectorsOf[device[1]] ?? []),
                          "\(device[0])'s IRQs \(irqs.sorted()) are in \(device[1])/msi_irqs \(vectorsOf[device[1]] ?? [])",
                          file: file, line: line)
        }

        // numactl -N netdev:NIC binds the CPUs of the NIC's node; the NIC with no locality is refused.
        let nics = try lines(guest, "nics")
        let numactl = try guest.text("numactl").split(separator: "\n").map(String.init)
        func result(_ spec: String) -> String { numactl.first { $0.hasPrefix(spec + " ") } ?? "(no line for \(spec))" }
        for placement in placements where placement.driver == "virtio-net-pci" {
            let nic = nics.first { $0.count == 2 && $0[1].contains("/\(placement.port)/\(endpointOf[placement.port] ?? "?")/") }
            guard let name = nic?.first else {
                XCTFail("no NIC below \(placement.port): \(nics)", file: file, line: line)
                continue
            }
            let outcome = result("netdev:\(name)")
            if let node = placement.node {
                XCTAssertTrue(outcome.hasPrefix("netdev:\(name) exit=0 Cpus_allowed_list:\(nodeCPUs["\(node)"] ?? "?") Mems_allowed_list:"),
                              outcome, file: file, line: line)
            } else {
                XCTAssertTrue(outcome.hasPrefix("netdev:\(name) exit=1 "), outcome, file: file, line: line)
                XCTAssertTrue(outcome.contains("Kernel does not know node mask for device"), outcome, file: file, line: line)
            }
        }
        // The NVMe namespace is a child of its controller (no multipath head), node 0 by either specifier.
        let namespace = nics.first { $0.first == "nvme0n1" }
        XCTAssertTrue(namespace?.last?.hasSuffix("/0000:10:00.0/\(endpointOf["0000:10:00.0"] ?? "?")/nvme/nvme0/nvme0n1") ?? false,
                      "\(String(describing: namespace))", file: file, line: line)
        for spec in ["block:nvme0n1", "file:/dev/nvme0n1"] {
            XCTAssertTrue(result(spec).hasPrefix("\(spec) exit=0 Cpus_allowed_list:\(nodeCPUs["0"] ?? "?") "), result(spec), file: file, line: line)
        }
    }
}
