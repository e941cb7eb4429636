import NumaguardCore
import XCTest

/// numactl's ERE `(/devices/pci[0-9a-fA-F:/]+\.[0-9]+)/` over link texts as the kernel writes
/// them: the match is the top PCI device under the host bridge.
final class NumactlClassLinkTests: XCTestCase {
    private func first(_ link: String) -> String? { NumactlClassLink.firstDevice(inLink: link).map(String.init) }

    func testRecordedLinkTexts() {
        // virtio-net behind a pxb-pcie root port: the port, not the endpoint.
        XCTAssertEqual(first("../../devices/pci0000:20/0000:20:00.0/0000:21:00.0/virtio1/net/eth0"), "devices/pci0000:20/0000:20:00.0")
        // virtio-net directly on the root bus (q35 without expanders, the i440fx machine).
        XCTAssertEqual(first("../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0"), "devices/pci0000:00/0000:00:03.0")
        // An NVMe namespace.
        XCTAssertEqual(first("../../devices/pci0000:10/0000:10:00.0/0000:11:00.0/nvme/nvme0/nvme0n1"), "devices/pci0000:10/0000:10:00.0")
        // AHCI with a hex device number.
        XCTAssertEqual(first("../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda"),
                       "devices/pci0000:00/0000:00:1f.2")
        // A function number of several digits and upper case in the bracket.
        XCTAssertEqual(first("/devices/pciABCD:00/ABCD:00:01.10/x"), "devices/pciABCD:00/ABCD:00:01.10")
    }

    func testNoPCIPathMeansTheFallback() {
        XCTAssertNil(first("../../devices/virtual/net/lo"))
        XCTAssertNil(first("../../devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1"), "an NVMe multipath head")
        XCTAssertNil(first("../../devices/virtual/block/dm-0"))
        XCTAssertNil(first("../../devices/platform/soc/eth2dev/net/eth2"))
        XCTAssertNil(first("devices/pci0000:00/0000:00:03.0/x"), "the pattern starts with a slash")
        XCTAssertNil(first("../../devices/pci0000:00/0000:00:03.0"), "no slash after the function: no match")
        XCTAssertNil(first("../../devices/pci/.x/"), "a digit must follow the dot")
        XCTAssertNil(first("../../devices/pci.0/"), "at least one bracket character")
        XCTAssertNil(first(""))
    }

    func testTheFirstStartThatMatchesWins() {
        // The first /devices/pci fails (a letter after the dot); the regex engine tries the next.
        XCTAssertEqual(first("/devices/pci0000:00.x/devices/pci0000:20/0000:20:00.0/y"), "devices/pci0000:20/0000:20:00.0")
        XCTAssertEqual(first("/devices/pci1.1/devices/pci2.2/"), "devices/pci1.1", "leftmost: the first match ends at its first D.F/")
    }

    func testNoDotDotCanComeOutOfAMatch() {
        // The bracket has no dot and one dot follows it, so a matched path has no `..` component.
        for link in ["/devices/pci../../x/", "/devices/pci/..0/", "/devices/pci0/.0/../../../etc/"] {
            if let match = first(link) {
                XCTAssertFalse(match.split(separator: "/").contains(".."), match)
            }
        }
        XCTAssertEqual(first("/devices/pci0/.0/../../../etc/"), "devices/pci0/.0")
    }

    func testLinearOnAHostileText() {
        // 100,000 near-misses: each attempt stops at the `v` of the next marker.
        let text = String(repeating: "/devices/pci0:0:0", count: 100_000)
        XCTAssertNil(first(text))
        XCTAssertEqual(first(text + ".1/"), "devices/pci0:0:0.1", "only the last start matches")
    }
}
