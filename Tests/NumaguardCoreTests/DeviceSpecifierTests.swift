import NumaguardCore
import XCTest

/// Both grammars of a device reference, with numactl 2.0.19's quirks as a table: what numactl
/// takes, what it refuses, and where numaguard refuses more (never less).
final class DeviceSpecifierTests: XCTestCase {
    private func numactl(_ text: String) -> Result<DeviceSpecifier, ParseError> { DeviceSpecifier.parse(numactl: text) }
    private func policy(_ text: String) -> Result<DeviceSpecifier, ParseError> { DeviceSpecifier.parse(policy: text) }

    private func address(_ text: String) throws -> PCIAddress { try XCTUnwrap(PCIAddress(sysfsName: text)) }

    func testNumactlGrammarTable() throws {
        // (argument element, expected specifier or nil, a fragment of the refusal)
        let table: [(String, DeviceSpecifier?, String)] = [
            ("netdev:eth0", .netdev("eth0"), ""),
            ("netdev:eth0,1", .netdev("eth0,1"), ""),            // the device eats the rest, as in numactl
            ("netdev:ens1f0np0", .netdev("ens1f0np0"), ""),
            ("netdev:eth0.100", nil, "no \"/\" or \".\""),       // numactl: Illegal characters
            ("netdev:a/b", nil, "no \"/\" or \".\""),
            ("netdev:", nil, "no interface name"),
            ("netdev: eth0", nil, "whitespace"),                 // numactl skips leading spaces; numaguard refuses
            ("netdev:abcdefghijklmnop", nil, "at most 15 bytes"),
            ("netdev:a:b", nil, "\":\""),
            ("block:nvme0n1", .block("nvme0n1"), ""),
            ("block:cciss!c0d0", .block("cciss!c0d0"), ""),
            ("block:/dev/nvme0n1", nil, "for a /dev path use file:"),
            ("block:sda.1", nil, "only letters, digits"),
            ("block:", nil, "no block device name"),
            ("pci:0000:21:00.0", .pci(try address("0000:21:00.0")), ""),
            ("pci:21:00", .pci(try address("0000:21:00.0")), ""),
            ("pci:0x21:00.0", nil, "without 0x"),                // numactl's %x takes 0x; numaguard refuses
            ("pci:21:00.0x", nil, "without 0x"),
            ("pci:21:00.0 ", nil, "expected [segment:]bus"),     // numactl ignores trailing junk
            ("file:/data/x", .file("/data/x"), ""),
            ("file:relative/x", .file("relative/x"), ""),
            ("file:", nil, "no path"),
            ("ip:10.0.0.1", .ip("10.0.0.1"), ""),
            ("ip:", nil, "no address"),
            ("Netdev:eth0", nil, "expected netdev:NAME"),        // case-sensitive, as numactl's strncmp
            ("eth0", nil, "expected netdev:NAME"),
        ]
        for (text, expected, fragment) in table {
            switch numactl(text) {
            case let .success(specifier):
                XCTAssertEqual(specifier, expected, text)
            case let .failure(error):
                XCTAssertNil(expected, "\(text): \(error)")
                XCTAssertTrue(error.reason.contains(fragment), "\(text): \"\(error.reason)\" lacks \"\(fragment)\"")
            }
        }
    }

    func testPolicyGrammar() throws {
        XCTAssertEqual(try policy("netdev:ens1f0").get(), .netdev("ens1f0"))
        XCTAssertEqual(try policy("netdev:eth0.100").get(), .netdev("eth0.100"), "a VLAN is a valid name; resolution says it is virtual")
        XCTAssertEqual(try policy("pci:0000:21:00.0").get(), .pci(try address("0000:21:00.0")))
        XCTAssertEqual(try policy("block:nvme0n1").get(), .block("nvme0n1"))
        XCTAssertEqual(try policy("block:/dev/nvme0n1").get(), .block("nvme0n1"), "a /dev path is taken by its basename, no stat")
        for text in ["file:/data/x", "ip:10.0.0.1"] {
            guard case let .failure(error) = policy(text) else { return XCTFail(text) }
            XCTAssertTrue(error.reason.contains("only for numaguard run"), error.reason)
        }
        for (text, fragment) in [("netdev:a/b", "\"/\""), ("netdev:..", "not an interface name"), ("netdev:.", "not an interface name"),
                                 ("block:/dev/mapper/x", "only letters"), ("block:../sda", "only letters"), ("pci:x", "expected"),
                                 ("nic:eth0", "expected netdev:NAME, pci:ADDRESS or block:NAME")] {
            guard case let .failure(error) = policy(text) else { return XCTFail(text) }
            XCTAssertTrue(error.reason.contains(fragment), "\(text): \(error.reason)")
        }
    }

    func testKindsAndDescriptions() throws {
        XCTAssertEqual(DeviceSpecifier.kind(of: "netdev:x"), "netdev:")
        XCTAssertNil(DeviceSpecifier.kind(of: "all"))
        XCTAssertNil(DeviceSpecifier.kind(of: "net:x"))
        for text in ["netdev:eth0", "pci:0000:21:00.0", "block:nvme0n1", "file:/x", "ip:::1"] {
            XCTAssertEqual(try numactl(text).get().description, text, "a specifier respells as written")
        }
        XCTAssertEqual(try numactl("pci:21:0").get().description, "pci:0000:21:00.0", "canonical address")
    }

    func testNamesThatBecomePathComponents() {
        XCTAssertTrue(DeviceNames.isSingleComponent("eth0"))
        XCTAssertTrue(DeviceNames.isSingleComponent("..."))
        XCTAssertTrue(DeviceNames.isSingleComponent("a..b"))
        for name in ["", ".", "..", "a/b", "/", "a\0b", String(repeating: "x", count: 256)] {
            XCTAssertFalse(DeviceNames.isSingleComponent(name), name)
        }
        XCTAssertNil(DeviceNames.interfaceProblem("eth0.100"))
        XCTAssertNotNil(DeviceNames.interfaceProblem("eth\u{1b}0"))
        XCTAssertNotNil(DeviceNames.interfaceProblem("eth\t0"))
    }

    func testNumaNodeFiles() throws {
        XCTAssertEqual(try DeviceNames.numaNode("1\n"), 1)
        XCTAssertEqual(try DeviceNames.numaNode("-1\n"), -1)
        for text in ["", "x", "--1", "1 2", "99999999"] {
            XCTAssertThrowsError(try DeviceNames.numaNode(text), text)
        }
        XCTAssertEqual(try DeviceNames.hexAttribute("0x020000\n", what: "class", maximum: 0xFF_FFFF), 0x020000)
        XCTAssertThrowsError(try DeviceNames.hexAttribute("020000", what: "class", maximum: 0xFF_FFFF))
        XCTAssertThrowsError(try DeviceNames.hexAttribute("0x1000000", what: "class", maximum: 0xFF_FFFF))
    }
}
