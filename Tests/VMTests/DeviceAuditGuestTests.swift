import Foundation
import TestSupport
import XCTest

/// `numaguard audit --policy` with `devices:` rules inside a q35 guest with real PCIe devices
/// (`run-guest.sh --pci net@1,nvme@0,net@none,gpu@1`): each device is named by interface, PCI
/// address or class (the GPU, a display-class function without a driver, by class) with the node QEMU was told, found in the guest by its PCI path (the pxb
/// of node N is bus 16*(N+1); the NIC on pcie.0 has no locality), never by probe order. A
/// workload whose CPUs are "the node of the NIC" is matched against a probe that
/// `numaguard run -N netdev:NIC` started, so the audit's device checks and run's device
/// specifiers are proved to agree on one real host.
final class DeviceAuditGuestTests: XCTestCase {
    static let devices = "net@1,nvme@0,net@none,gpu@1"

    static let script = #"""
        [ -w /proc/sys/kernel/numa_balancing ] && echo 0 >/proc/sys/kernel/numa_balancing
        FASTNIC=; BARENIC=
        for d in /sys/class/net/*; do
            case "$(readlink $d)" in
                */devices/pci0000:20/0000:20:00.0/*) FASTNIC=${d##*/} ;;
                */devices/pci0000:00/*) BARENIC=${d##*/} ;;
            esac
        done
        # The NIC's PCI function (the parent of its virtio device) and the NVMe controller's.
        FASTPCI=$(basename "$(readlink -f /sys/class/net/$FASTNIC/device/..)")
        DISKPCI=$(basename "$(readlink -f /sys/class/nvme/nvme0/device)")
        echo "$FASTNIC $BARENIC $FASTPCI $DISKPCI" >$OUT/names
        start engine numaguard run -N netdev:$FASTNIC -- probe 16
        cat /proc/$(pid_of engine)/status >$OUT/engine-status
        cat >/tmp/devices.yaml <<EOF
        version: 1
        devices:
          - {name: fast-nic, match: {interface: $FASTNIC}, numa_node: 1}
          - {name: fast-pci, match: {pci: "$FASTPCI"}, numa_node: 1}
          - {name: journal, match: {class: nvme}, numa_node: 0}
          - {name: wrong, match: {pci: "$DISKPCI"}, numa_node: 1}
          - {name: bare-nic, match: {interface: $BARENIC}, numa_node: 0}
          - {name: display, match: {class: gpu}, numa_node: 1}
          - {name: display-wrong, match: {class: gpu}, numa_node: 0}
        workloads:
          - {name: engine, match: {cmdline: "^probe 16$"}, running: {min: 1, max: 1}, cpus: {nodes: ["netdev:$FASTNIC"]}}
        EOF
        cp /tmp/devices.yaml $OUT/devices.yaml
        numaguard audit --policy /tmp/devices.yaml --format json --today 2026-12-02 >$OUT/audit.json 2>$OUT/audit.err
        echo $? >$OUT/audit.status
        """#

    func testLinux61AuditNamesDevicesByInterfacePCIAndClass() throws { try audit(.linux61) }
    func testLinux612AuditNamesDevicesByInterfacePCIAndClass() throws { try audit(.linux612) }
    func testRTAuditNamesDevicesByInterfacePCIAndClass() throws { try audit(.rt) }

    private func audit(_ kernel: Guest.Kernel, file: StaticString = #filePath, line: UInt = #line) throws {
        let guest = try Guest.boot(kernel, .twoNode, pci: Self.devices, script: Self.script)
        // The script's constants (node 1 under pci0000:20, node 0 under pci0000:10, none on pcie.0)
        // are what QEMU was told: read back from the recorded command line.
        let placements = try QEMUPlacement.parse(try guest.text("qemu-cmdline"))
        XCTAssertEqual(placements.map(\.node), [1, 0, nil, 1], file: file, line: line)
        XCTAssertEqual(placements.map(\.hostBridge), ["pci0000:20", "pci0000:10", "pci0000:00", "pci0000:20"], file: file, line: line)
        let names = try guest.text("names").split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(names.count, 4, "both NICs and both PCI functions found by path: \(names)", file: file, line: line)
        XCTAssertTrue(names.allSatisfy { !$0.isEmpty }, "\(names)", file: file, line: line)
        // The probe numaguard run started on the NIC's node runs on node 1's CPUs.
        XCTAssertEqual(Status(try guest.text("engine-status"))["Cpus_allowed_list"], "2-3", file: file, line: line)

        let status = try guest.text("audit.status").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(status, "1", "two wrong nodes and one device with no locality: \((try? guest.text("audit.err")) ?? "")",
                       file: file, line: line)
        let document = try guest.json("audit.json")
        let findings = try XCTUnwrap(document["findings"] as? [[String: Any]]
                                         ?? (document["audit"] as? [String: Any])?["findings"] as? [[String: Any]],
                                     "findings in \(document.keys.sorted())", file: file, line: line)
        func outcomes(_ check: String) -> [String] { findings.filter { $0["check"] as? String == check }.compactMap { $0["outcome"] as? String } }
        let expected: [(String, [String])] = [
            ("device.fast-nic.present", ["pass"]),
            ("device.fast-pci.present", ["pass"]),
            ("device.journal.present", ["pass"]),
            ("device.wrong.present", ["pass"]),
            ("device.bare-nic.present", ["pass"]),
            ("device.display.present", ["pass"]),
            ("device.display.numa_node", ["pass"]),
            ("device.display-wrong.numa_node", ["fail"]),
            ("device.fast-nic.numa_node", ["pass"]),
            ("device.fast-pci.numa_node", ["pass"]),
            ("device.journal.numa_node", ["pass"]),
            ("device.wrong.numa_node", ["fail"]),
            ("device.bare-nic.locality", ["fail"]),
            ("device.bare-nic.numa_node", []),
            ("workload.engine.device", ["pass"]),
            ("workload.engine.cpus", ["pass"]),
            ("workload.engine.running", ["pass"]),
        ]
        for (check, outcome) in expected {
            XCTAssertEqual(outcomes(check), outcome, "\(check): \(findings.filter { $0["check"] as? String == check })",
                           file: file, line: line)
        }
        func actual(_ check: String) -> String? { findings.first { $0["check"] as? String == check }?["actual"] as? String }
        // The interface rule and the PCI rule find the same function; the class rule the controller.
        XCTAssertEqual(actual("device.fast-pci.numa_node"), "\(names[0]) (\(names[2])) on node 1", file: file, line: line)
        XCTAssertEqual(actual("device.wrong.numa_node"), "nvme0 (\(names[3])) on node 0", file: file, line: line)
        XCTAssertEqual(actual("workload.engine.device"), "node 1", file: file, line: line)
        XCTAssertEqual(actual("workload.engine.cpus"), "Cpus_allowed_list 2-3", file: file, line: line)
        // Nothing else fails: the two failures above are the whole verdict.
        let failing = findings.filter { $0["outcome"] as? String == "fail" }.compactMap { $0["check"] as? String }.sorted()
        XCTAssertEqual(failing, ["device.bare-nic.locality", "device.display-wrong.numa_node", "device.wrong.numa_node"], file: file, line: line)
    }
}
