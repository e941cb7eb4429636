import NumaguardCore
import XCTest

/// The kernel command line split as the kernel splits it.
final class BootArgumentsTests: XCTestCase {
    func testQuotesInitArgumentsAndKeySpelling() {
        let words = BootArguments.words(#"BOOT_IMAGE=/vmlinuz isolcpus=2-15 dyndbg="file x.c +p" numa-balancing=disable -- --init-flag x"#)
        XCTAssertEqual(words.map(\.text), ["BOOT_IMAGE=/vmlinuz", "isolcpus=2-15", #"dyndbg="file x.c +p""#, "numa-balancing=disable", "--init-flag", "x"])
        XCTAssertEqual(words.map(\.isForInit), [false, false, false, false, true, true])
        XCTAssertEqual(words.map(\.key), ["BOOT_IMAGE", "isolcpus", "dyndbg", "numa_balancing", "__init_flag", "x"])
        XCTAssertEqual(BootArguments.kernelWords("quiet  numa=off\n"), ["quiet", "numa=off"])
        XCTAssertEqual(BootArguments.kernelWords(""), [])
    }
}
