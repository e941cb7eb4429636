import NumaguardCore
import XCTest

/// numactl's `pci:` spelling, strict where numactl's sscanf is not.
final class PCIAddressTests: XCTestCase {
    private func parse(_ text: String) -> String? {
        try? PCIAddress.parse(numactl: text).get().description
    }

    private func reason(_ text: String) -> String {
        switch PCIAddress.parse(numactl: text) {
        case let .success(address): return "parsed as \(address)"
        case let .failure(error): return error.reason
        }
    }

    func testNumactlsFourSpellings() {
        XCTAssertEqual(parse("0000:21:00.0"), "0000:21:00.0")
        XCTAssertEqual(parse("0000:21:00"), "0000:21:00.0", "sscanf n == 3: function 0")
        XCTAssertEqual(parse("21:00.1"), "0000:21:00.1", "bus:dev.func, segment 0")
        XCTAssertEqual(parse("21:00"), "0000:21:00.0", "bus:dev")
        XCTAssertEqual(parse("1:2:3.4"), "0001:02:03.4", "%x takes any number of digits")
        XCTAssertEqual(parse("ABCD:EF:1f.7"), "abcd:ef:1f.7", "upper case is hexadecimal too; the text is canonical")
        XCTAssertEqual(parse("00000021:0.0"), "0000:21:00.0")
    }

    func testWhatNumactlWouldMisreadIsRefused() {
        XCTAssertTrue(reason("0x21:00.0").contains("without 0x"))
        XCTAssertTrue(reason("21:0x0.0").contains("without 0x"))
        XCTAssertTrue(reason("21:00.0junk").contains("expected [segment:]bus:device[.function]"))
        XCTAssertTrue(reason("21:x0.0").contains("expected [segment:]bus:device[.function]"), "an x that is no 0x")
        XCTAssertTrue(reason("21:00.0.1").contains("nothing may follow the function"))
        XCTAssertTrue(reason(" 21:00.0").contains("expected"))
        XCTAssertTrue(reason("-21:00.0").contains("expected"))
        XCTAssertTrue(reason("21").contains("expected [segment:]bus:device"))
        XCTAssertTrue(reason("21.0").contains("expected [segment:]bus:device"))
        XCTAssertTrue(reason("1:2:3:4").contains("expected [segment:]bus:device"))
        XCTAssertTrue(reason("1:2:3:4.0").contains("at most segment:bus:device.function"))
        XCTAssertTrue(reason("").contains("expected a hexadecimal number"))
        XCTAssertTrue(reason("21::0").contains("expected a hexadecimal number"))
        XCTAssertTrue(reason("21:00.").contains("expected a hexadecimal number"))
        XCTAssertTrue(reason("21:20.0").contains("device 20 is above 1f"))
        XCTAssertTrue(reason("21:00.8").contains("function 8 is above 7"))
        XCTAssertTrue(reason("100:00.0").contains("bus 100 is above ff"))
        XCTAssertTrue(reason("10000:00:00.0").contains("segment 10000 is above ffff"))
        XCTAssertTrue(reason("123456789:0:0").contains("more than 8 digits"))
    }

    func testTheRootBusDirectoryNumactlReads() throws {
        let address = try PCIAddress.parse(numactl: "0000:20:00.0").get()
        XCTAssertEqual(address.rootBusDirectory, "pci0000:20")
    }

    func testAParsedAddressRespellsAndReparsesToItself() throws {
        for text in ["0:0.0", "ffff:ff:1f.7", "12:3:4"] {
            let address = try PCIAddress.parse(numactl: text).get()
            XCTAssertEqual(try PCIAddress.parse(numactl: address.description).get(), address)
            XCTAssertEqual(PCIAddress(sysfsName: address.description), address)
        }
    }
}
