import NumaguardCore
@testable import NumaguardHost
import XCTest

/// `ip:` over this machine's real routing table: a netlink lookup, no host names.
final class RouteLookupTests: XCTestCase {
    func testTheLoopbackRouteLeavesByLo() throws {
        XCTAssertEqual(try RouteLookup.interface(toward: "127.0.0.1").get(), "lo")
        XCTAssertEqual(try RouteLookup.interfaceName(1), "lo", "the loopback interface is index 1")
    }

    func testIPv6LoopbackWhenTheHostHasIPv6() throws {
        switch RouteLookup.interface(toward: "::1") {
        case let .success(name): XCTAssertEqual(name, "lo")
        // A host booted with ipv6.disable=1 has no IPv6 routing table: the kernel's error comes back.
        case let .failure(.failed(_, error)): XCTAssertNotEqual(error.errno, .invalid, "\(error)")
        case let .failure(failure): XCTFail("\(failure)")
        }
    }

    func testLoopbackIsRefusedAsAVirtualDevice() {
        guard case let .failure(.virtual(specifier, device)) = DeviceLocality.resolve(.ip("127.0.0.1"), in: .live, rule: .numactl) else {
            return XCTFail("ip:127.0.0.1 must be refused: lo has no device")
        }
        XCTAssertEqual(specifier, .ip("127.0.0.1"))
        XCTAssertEqual(device, "lo")
    }

    func testHostNamesAreNeverResolved() {
        for text in ["localhost", "example.com", "fe80::1%eth0", "127.1", "10.0.0.1:80", ""] {
            guard case let .failure(.notHere(_, reason)) = DeviceLocality.resolve(.ip(text), in: .live, rule: .numactl) else {
                return XCTFail("\(text) was taken")
            }
            XCTAssertTrue(reason.contains("resolves no host names"), reason)
        }
        XCTAssertNotNil(RouteLookup.address("10.0.2.15"))
        XCTAssertEqual(RouteLookup.address("::ffff:10.0.0.1")?.bytes.count, 16)
    }

}
