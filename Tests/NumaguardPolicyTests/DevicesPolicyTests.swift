import Foundation
import NumaguardCore
@testable import NumaguardPolicy
import XCTest

/// `devices:` and device references in workloads' node lists: what loads, and every mistake
/// located to its line and column with the offending value named.
final class DevicesPolicyTests: XCTestCase {
    /// A policy whose third line is `  - ITEM` under `devices:`.
    private func devices(_ item: String, topology: String = "") -> String {
        "version: 1\ndevices:\n  - \(item)\n" + topology
    }

    /// Asserts `item` (a `devices:` entry) fails once at the column where `needle` starts.
    private func assertDeviceError(_ item: String, at needle: String, _ fragments: String..., suggestion: String? = nil,
                                   file: StaticString = #filePath, line: UInt = #line) {
        guard let range = item.range(of: needle) else { return XCTFail("no \(needle) in \(item)", file: file, line: line) }
        let column = 5 + item.unicodeScalars.distance(from: item.unicodeScalars.startIndex, to: range.lowerBound)
        let diagnostics = PolicyText.diagnostics(devices(item), sourceFile: file, line: line)
        guard diagnostics.count == 1, let diagnostic = diagnostics.first else {
            return XCTFail("expected one diagnostic, got \(diagnostics.count):\n\(PolicyErrors(diagnostics: diagnostics))", file: file, line: line)
        }
        assertDiagnostic(diagnostic, in: devices(item), line: 3, column: column, fragments, suggestion: suggestion, file: file, sourceLine: line)
    }

    /// A policy whose engine workload has `cpus: {nodes: NODES}` on line 5.
    private func workload(cpus nodes: String) -> String {
        "version: 1\nworkloads:\n  - name: engine\n    match: {comm: engine}\n    cpus: {nodes: \(nodes)}\n"
    }

    private func assertReferenceError(_ nodes: String, at needle: String, _ fragments: String..., suggestion: String? = nil,
                                      file: StaticString = #filePath, line: UInt = #line) {
        let text = workload(cpus: nodes)
        guard let range = nodes.range(of: needle) else { return XCTFail("no \(needle) in \(nodes)", file: file, line: line) }
        let column = 19 + nodes.unicodeScalars.distance(from: nodes.unicodeScalars.startIndex, to: range.lowerBound)
        let diagnostics = PolicyText.diagnostics(text, sourceFile: file, line: line)
        guard diagnostics.count == 1, let diagnostic = diagnostics.first else {
            return XCTFail("expected one diagnostic, got \(diagnostics.count):\n\(PolicyErrors(diagnostics: diagnostics))", file: file, line: line)
        }
        assertDiagnostic(diagnostic, in: text, line: 5, column: column, fragments, suggestion: suggestion, file: file, sourceLine: line)
    }

    /// The 1-based column where `needle` first starts on `line` of `text`.
    private func column(_ text: String, _ line: Int, _ needle: String) -> Int {
        let row = String(text.split(separator: "\n", omittingEmptySubsequences: false)[line - 1])
        guard let range = row.range(of: needle) else { return 0 }
        return row.unicodeScalars.distance(from: row.unicodeScalars.startIndex, to: range.lowerBound) + 1
    }

    // MARK: what loads

    func testEveryMatchKeyAndTheDefaults() throws {
        let policy = try XCTUnwrap(PolicyText.loads("""
            version: 1
            devices:
              - name: md-nic
                match: {interface: ens1f0, pci: "0000:21:00.0", driver: mlx5_core, class: net}
                numa_node: 0
                irqs: {cpus: "0-1", allow_managed: true}
              - {name: journal-disk, match: {block: /dev/nvme0n1}, numa_node: 1, irqs: {nodes: [1]}}
              - {name: gpus, match: {class: gpu}, numa_node: 1, count: {min: 2}}
              - {name: spare_NIC, match: {driver: ixgbe}, count: {min: 0, max: 0}}
            """))
        XCTAssertEqual(policy.devices.map(\.name), ["md-nic", "journal-disk", "gpus", "spare_NIC"])
        let nic = policy.devices[0]
        XCTAssertEqual(nic.match, DeviceMatch(interface: "ens1f0", pci: PCIAddress(sysfsName: "0000:21:00.0"), driver: "mlx5_core", kind: .net))
        XCTAssertEqual(nic.numaNode, 0)
        XCTAssertEqual(nic.irqs, IRQPlacement(target: .cpus(IDSet([0, 1])), allowManaged: true))
        XCTAssertEqual(nic.count, RunningCount(minimum: 1), "a device must be there unless said otherwise")
        XCTAssertEqual(policy.devices[1].match.block, "nvme0n1", "a /dev path names its basename, nothing stat'ed")
        XCTAssertEqual(policy.devices[1].irqs, IRQPlacement(target: .nodes(IDSet([1]))))
        XCTAssertEqual(policy.devices[2].count, RunningCount(minimum: 2))
        XCTAssertEqual(policy.devices[3].count, RunningCount(minimum: 0, maximum: 0))
        XCTAssertNil(policy.devices[3].numaNode)
    }

    func testReferencesMixWithNumbersAndStandAlone() throws {
        let policy = try XCTUnwrap(PolicyText.loads("""
            version: 1
            workloads:
              - name: engine
                match: {comm: engine}
                cpus: {nodes: ["netdev:ens1f0", 1, "netdev:ens1f0"]}
                memory: {policy: bind, nodes: "pci:0000:3b:00.0"}
              - name: journal
                match: {comm: journal}
                cpus: {nodes: [0, 1]}
                memory: {policy: preferred, nodes: [0, "block:nvme0n1"]}
              - name: cciss
                match: {comm: cciss}
                memory: {policy: preferred, nodes: ["block:cciss!c0d0"]}
            """))
        let engine = policy.workloads[0]
        XCTAssertEqual(engine.cpus, .nodes(IDSet([1])))
        XCTAssertEqual(engine.cpuNodeDevices, [.netdev("ens1f0")], "a repeated reference is one")
        XCTAssertEqual(engine.memory?.nodes, IDSet())
        XCTAssertEqual(engine.memory?.nodeDevices, [.pci(try XCTUnwrap(PCIAddress(sysfsName: "0000:3b:00.0")))])
        XCTAssertEqual(engine.deviceReferences.map(\.description), ["netdev:ens1f0", "pci:0000:3b:00.0"])
        XCTAssertEqual(policy.workloads[1].memory?.nodes, IDSet([0]), "preferred with a number and a reference: judged once resolved")
        XCTAssertEqual(policy.workloads[1].memory?.nodeDevices, [.block("nvme0n1")])
        XCTAssertEqual(policy.workloads[1].cpuNodeDevices, [])
        XCTAssertEqual(policy.workloads[2].memory?.nodeDevices, [.block("cciss!c0d0")])
        XCTAssertTrue(policy.hasDeviceReferences)
    }

    /// The policy's grammar is run's (NumaguardCore's `DeviceSpecifier.parse(policy:)`): the issue's
    /// `block:/dev/nvme0n1` names the kernel's nvme0n1 (nothing is stat'ed), and a short PCI
    /// address is respelled as sysfs spells it.
    func testAPathAndAShortAddressAreRespelled() throws {
        let policy = try XCTUnwrap(PolicyText.loads(workload(cpus: "[\"block:/dev/nvme0n1\", \"pci:21:00.0\"]")))
        XCTAssertEqual(policy.workloads[0].cpuNodeDevices.map(\.description), ["block:nvme0n1", "pci:0000:21:00.0"])
    }

    func testADeviceWaiverIsAccepted() throws {
        let policy = try XCTUnwrap(PolicyText.loads("""
            version: 1
            waivers:
              - {check: device.md-nic.numa_node, reason: "card moves in the next window", expires: 2099-01-01}
            """))
        XCTAssertEqual(policy.waivers.first?.check, "device.md-nic.numa_node")
        assertPolicyError("version: 1\nwaivers:\n  - {check: dev.x, reason: r, expires: 2099-01-01}\n", line: 3, column: 13,
                          "waivers[0].check \"dev.x\" is not a check ID", "host., workload., node. or drift.", "device.")
    }

    // MARK: devices: mistakes

    func testTheListItself() {
        assertPolicyError("version: 1\ndevices: []\n", line: 2, column: 10, "devices is an empty list: it would assert nothing")
        assertPolicyError("version: 1\ndevices: {name: x}\n", line: 2, column: 10, "devices must be a list")
        assertPolicyError("version: 1\ndevice:\n  - {name: x, match: {class: net}}\n", line: 2, column: 1,
                          "unknown key \"device\" in the policy", suggestion: "devices")
        assertPolicyError("version: 1\ndevices:\n  - nic\n", line: 3, column: 5, "devices[0] must be a mapping with keys name, match, numa_node, irqs, count")
    }

    func testNames() {
        assertDeviceError("{name: \"a.b\", match: {class: net}}", at: "\"a.b\"", "devices[0].name \"a.b\" must be 1 to 64 of A-Z, a-z, 0-9, - and _")
        assertDeviceError("{name: nïc, match: {class: net}}", at: "nïc", "devices[0].name \"nïc\" must be 1 to 64", "metric label")
        let long = String(repeating: "n", count: 65)
        assertDeviceError("{name: \(long), match: {class: net}}", at: long, "devices[0].name \"\(long)\" must be 1 to 64")
        assertDeviceError("{match: {class: net}}", at: "{", "devices[0] needs \"name\"")
        assertDeviceError("{name: nic}", at: "{", "devices[0] needs \"match\"")
        assertDeviceError("{name: nic, match: {class: net}, numa_nod: 0}", at: "numa_nod", "unknown key \"numa_nod\" in devices[0]",
                          suggestion: "numa_node")
        XCTAssertNotNil(PolicyText.loads(devices("{name: \(String(repeating: "n", count: 64)), match: {class: net}}")))
    }

    func testTwoRulesWithOneNameAndNodesOutsideTheTopology() {
        let text = "version: 1\nhost:\n  topology: {nodes: 2}\ndevices:\n  - {name: nic, match: {class: net}}\n"
            + "  - {name: nic, match: {class: nvme}, numa_node: 2}\n  - {name: gpu, match: {class: gpu}, irqs: {nodes: [0, 3]}}\n"
        let diagnostics = PolicyText.diagnostics(text)
        XCTAssertEqual(diagnostics.count, 3, "\(PolicyErrors(diagnostics: diagnostics))")
        guard diagnostics.count == 3 else { return }
        assertDiagnostic(diagnostics[0], in: text, line: 6, column: column(text, 6, "nic"), ["device name \"nic\" is used twice"])
        assertDiagnostic(diagnostics[1], in: text, line: 6, column: column(text, 6, "2}"),
                         ["device nic.numa_node uses node 2, but host.topology.nodes declares 2 nodes"])
        assertDiagnostic(diagnostics[2], in: text, line: 7, column: column(text, 7, "[0, 3]"),
                         ["device gpu.irqs.nodes uses node 3, but host.topology.nodes declares 2 nodes"])
    }

    func testMatchMistakes() {
        assertDeviceError("{name: nic, match: {}}", at: "{}", "device nic.match is empty: it would match every device")
        assertDeviceError("{name: nic, match: {interfce: eth0}}", at: "interfce", "unknown key \"interfce\" in device nic.match",
                          suggestion: "interface")
        assertDeviceError("{name: nic, match: {interface: ens1f0-long-name}}", at: "ens1f0-long-name",
                          "device nic.match.interface \"ens1f0-long-name\" is not an interface name: an interface name has at most 15 bytes (this has 16)")
        assertDeviceError("{name: nic, match: {interface: \"a/b\"}}", at: "\"a/b\"", "device nic.match.interface \"a/b\" is not an interface name: an interface name holds no \"/\", \":\"")
        assertDeviceError("{name: nic, match: {interface: \"eth0:1\"}}", at: "\"eth0:1\"", "holds no \"/\", \":\", whitespace")
        assertDeviceError("{name: nic, match: {interface: \"..\"}}", at: "\"..\"", "device nic.match.interface \"..\" is not an interface name")
        assertDeviceError("{name: nic, match: {pci: \"0000:3B:00.0\"}}", at: "\"0000:3B", "device nic.match.pci \"0000:3B:00.0\" is not a PCI address as sysfs spells it")
        assertDeviceError("{name: nic, match: {pci: \"21:00.0\"}}", at: "\"21:00.0\"", "device nic.match.pci \"21:00.0\" is not a PCI address")
        assertDeviceError("{name: nic, match: {pci: \"0000:21:00.8\"}}", at: "\"0000:21:00.8\"", "is not a PCI address")
        assertDeviceError("{name: nic, match: {driver: \"mlx5 core\"}}", at: "\"mlx5 core\"", "device nic.match.driver \"mlx5 core\" must be 1 to 64 of")
        assertDeviceError("{name: nic, match: {class: gpus}}", at: "gpus", "device nic.match.class must be one of net, nvme, block, gpu, pci, not \"gpus\"",
                          suggestion: "gpu")
        assertDeviceError("{name: disk, match: {block: /dev/disk/by-id/x}}", at: "/dev/disk", "device disk.match.block \"/dev/disk/by-id/x\" is not a block device's kernel name")
        assertDeviceError("{name: nic, match: {interface: \"\"}}", at: "\"\"", "device nic.match.interface is empty")
    }

    func testNodeIRQsAndCountMistakes() {
        assertDeviceError("{name: nic, match: {class: net}, numa_node: -1}", at: "-1", "device nic.numa_node must be a whole number in 0...65536, not \"-1\"")
        assertDeviceError("{name: nic, match: {class: net}, irqs: {cpus: 0, nodes: [0]}}", at: "{cpus", "device nic.irqs takes cpus or nodes, not both")
        assertDeviceError("{name: nic, match: {class: net}, irqs: {allow_managed: true}}", at: "{allow", "device nic.irqs needs cpus or nodes")
        assertDeviceError("{name: nic, match: {class: net}, irqs: {cpus: \"3-1\"}}", at: "\"3-1\"", "device nic.irqs.cpus:")
        assertDeviceError("{name: nic, match: {class: net}, irqs: {cpus: 0, allow_managed: yes}}", at: "yes", "device nic.irqs.allow_managed must be true or false, not \"yes\"")
        assertDeviceError("{name: nic, match: {class: net}, irqs: {cpu: 0}}", at: "cpu:", "unknown key \"cpu\" in device nic.irqs", suggestion: "cpus")
        assertDeviceError("{name: nic, match: {class: net}, count: {}}", at: "{}", "device nic.count needs min or max")
        assertDeviceError("{name: nic, match: {class: net}, count: {max: 0}}", at: "{max", "device nic.count.min (1, the default) is above max (0)")
        assertDeviceError("{name: nic, match: {class: net}, count: {min: 3, max: 2}}", at: "{min", "device nic.count.min (3) is above max (2)")
        assertDeviceError("{name: nic, match: {class: net}, count: {min: 5000}}", at: "5000", "device nic.count.min must be a whole number in 0...4096")
    }

    func testEveryMistakeOfOneRuleIsReported() {
        let diagnostics = PolicyText.diagnostics(devices("{name: \"a b\", match: {class: nett}, numa_node: x, irqs: {}, count: {}}"))
        XCTAssertEqual(diagnostics.map(\.message).count, 5, "\(PolicyErrors(diagnostics: diagnostics))")
    }

    // MARK: references in node lists

    func testReferenceMistakes() {
        assertReferenceError("[\"file:/data/x\"]", at: "\"file", "workload engine.cpus.nodes item: \"file:/data/x\": file: and ip: references are only for numaguard run",
                             "stat", "name the device with netdev:, pci: or block:")
        assertReferenceError("[0, \"ip:10.0.0.1\"]", at: "\"ip", "\"ip:10.0.0.1\": file: and ip: references are only for numaguard run", "route lookup")
        assertReferenceError("[\"netdv:eth0\"]", at: "\"netdv", "\"netdv:eth0\" is not a device reference: \"netdv\" is none of netdev, pci, block",
                             suggestion: "netdev:eth0")
        assertReferenceError("[\"pci:0x21:00.0\"]", at: "\"pci", "\"pci:0x21:00.0\": ")
        assertReferenceError("[\"block:nvme0n1p1.x\"]", at: "\"block", "a block device's kernel name holds only letters, digits")
        assertReferenceError("[\"netdev:\"]", at: "\"netdev", "\"netdev:\": no interface name given")
        assertReferenceError("[\"netdev:eth0 1\"]", at: "\"netdev", "holds no \"/\", \":\", whitespace")
        assertReferenceError("[eth0]", at: "eth0", "workload engine.cpus.nodes item: \"eth0\" is neither a node number nor a device reference")
        assertReferenceError("all", at: "all", "workload engine.cpus.nodes: \"all\" is neither a node number nor a device reference")
    }

    func testEveryBadItemIsReportedAndAGoodListStillLoads() {
        let diagnostics = PolicyText.diagnostics(workload(cpus: "[\"ip:x\", -1, \"netdev:eth0\", \"pci:x\"]"))
        XCTAssertEqual(diagnostics.map(\.column), [20, 28, 47], "\(PolicyErrors(diagnostics: diagnostics))")
        XCTAssertEqual(diagnostics.map(\.line), [5, 5, 5])
    }

    func testPreferredStillTakesOneNumber() {
        let text = "version: 1\nworkloads:\n  - name: e\n    match: {comm: e}\n    memory: {policy: preferred, nodes: [0, 1, \"netdev:eth0\"]}\n"
        assertPolicyError(text, line: 5, column: column(text, 5, "[0"), "policy preferred takes one node")
    }

    func testTwoWorkloadsWithOneMatchAndOtherDevicesConflict() {
        let text = "version: 1\nworkloads:\n  - {name: a, match: {comm: x}, cpus: {nodes: [\"netdev:eth0\"]}}\n"
            + "  - {name: b, match: {comm: x}, cpus: {nodes: [\"netdev:eth1\"]}}\n"
        assertPolicyError(text, line: 4, column: 5, "workloads \"a\" and \"b\" match the same processes with different placements")
    }

    // MARK: the schema agrees

    func testSchemaDescribesTheDeviceKeys() throws {
        let object = try JSONSerialization.jsonObject(with: Data(PolicySchema.json.utf8))
        let schema = try XCTUnwrap(object as? [String: Any])
        func properties(_ path: [String]) -> [String] {
            var node: [String: Any]? = schema
            for key in path { node = node?[key] as? [String: Any] }
            return ((node?["properties"] as? [String: Any])?.keys).map { $0.sorted() } ?? []
        }
        let item = ["properties", "devices", "items"]
        XCTAssertEqual(properties(item), PolicyLoader.deviceKeys.sorted())
        XCTAssertEqual(properties(item + ["properties", "match"]), PolicyLoader.deviceMatchKeys.sorted())
        XCTAssertEqual(properties(item + ["properties", "irqs"]), PolicyLoader.deviceIRQKeys.sorted())
    }
}
