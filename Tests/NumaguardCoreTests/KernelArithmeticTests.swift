import NumaguardCore
import XCTest

/// Numbers from /proc and /sys that would overflow: refused by the parsers, saturated in
/// sums, never a trap (issue 12: `N0=9007199254740993 kernelpagesize_kB=1048576` killed
/// inspect, audit and capture with SIGILL).
final class KernelArithmeticTests: XCTestCase {
    static let overflowingLine = "7f00 default anon=1 N0=9007199254740993 kernelpagesize_kB=1048576"

    func testTheReportedLineIsAParseErrorNamingTheCount() {
        XCTAssertThrowsError(try NumaMapsParser.parseLine(Self.overflowingLine)) { error in
            guard let error = error as? ParseError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.reason, "N0=9007199254740993 pages of 1048576 kB overflows")
            XCTAssertEqual(error.line, 1)
            XCTAssertEqual(error.column, 21, "the N0= token")
        }
    }

    func testTheLineNumberIsKeptAcrossChunks() throws {
        let text = "7f01 default anon=1 N0=1 kernelpagesize_kB=4\n" + Self.overflowingLine + "\n"
        var scanner = NumaMapsScanner(keepsFilePaths: false)
        var seen = 0
        let bytes = Array(text.utf8)
        // Split inside the second line, as a read boundary would.
        XCTAssertThrowsError(try bytes.withUnsafeBufferPointer { all in
            try scanner.scan(UnsafeBufferPointer(rebasing: all[0..<60])) { _ in seen += 1 }
            try scanner.scan(UnsafeBufferPointer(rebasing: all[60...])) { _ in seen += 1 }
        }) { error in
            XCTAssertEqual((error as? ParseError)?.line, 2)
            XCTAssertEqual((error as? ParseError)?.what, "numa_maps line 2")
        }
        XCTAssertEqual(seen, 1)
    }

    func testCountsWhoseSumOverflowsAreRefused() {
        // Each node's bytes fit (2^62), together they do not.
        let pages = (1 << 62) / 1024
        XCTAssertThrowsError(try NumaMapsParser.parseLine("7f00 default N0=\(pages) N1=\(pages) kernelpagesize_kB=1")) { error in
            XCTAssertEqual((error as? ParseError)?.reason, "N1=\(pages) pages of 1 kB take the mapping beyond 2^63 bytes")
        }
        // Pages alone overflow when the page size is 0.
        XCTAssertThrowsError(try NumaMapsParser.parseLine("7f00 default N0=\(Int.max) N1=1 kernelpagesize_kB=0"))
        XCTAssertThrowsError(try NumaMapsParser.parseLine("7f00 default kernelpagesize_kB=\(Int.max / 1000)")) { error in
            XCTAssertEqual((error as? ParseError)?.reason, "kernelpagesize_kB=\(Int.max / 1000) overflows")
        }
    }

    /// The scanner keeps no token positions while parsing: a refused count's column is found
    /// again afterwards, and must still be that count's own token, past a policy and a key
    /// with `=` in them and a numeric key that is not a node.
    func testTheRefusedNodeCountIsReportedAtItsOwnColumn() {
        let pages = (1 << 62) / 1024
        let line = "7f00 interleave=static:0-1 anon=1 N0=\(pages) unknown=3 N1=\(pages) kernelpagesize_kB=1"
        let column = line.utf8.count - "N1=\(pages) kernelpagesize_kB=1".utf8.count + 1
        XCTAssertThrowsError(try NumaMapsParser.parseLine(line)) { error in
            XCTAssertEqual((error as? ParseError)?.reason, "N1=\(pages) pages of 1 kB take the mapping beyond 2^63 bytes")
            XCTAssertEqual((error as? ParseError)?.column, column, "the N1= token")
        }
    }

    func testTheLargestRealValuesStillParse() throws {
        let pages = Int.max / (1_048_576 * 1024)
        let mapping = try NumaMapsParser.parseLine("7f00 default N0=\(pages - 1) N1023=1 kernelpagesize_kB=1048576")
        XCTAssertEqual(mapping.bytes(on: 0), (pages - 1) * 1_073_741_824)
        XCTAssertEqual(mapping.bytes(on: 1023), 1_073_741_824)
    }

    func testNodeBeyondWhatLinuxHasIsRefused() {
        XCTAssertThrowsError(try NumaMapsParser.parseLine("7f00 default N1024=1 kernelpagesize_kB=4")) { error in
            XCTAssertEqual((error as? ParseError)?.reason, "node 1024 is beyond the largest node id Linux has (1023)")
        }
        // Before: a tally grew an array up to the node id.
        XCTAssertThrowsError(try NumaMapsParser.parseLine("7f00 default N999999999999=1 kernelpagesize_kB=4"))
    }

    func testSumsOfManyLargeMappingsSaturate() throws {
        var tally = MemoryTally()
        let pages = (1 << 61) / 4096
        for _ in 0..<8 {
            tally.add(try NumaMapsParser.parseLine("7f00 bind:0 anon=\(pages) N0=\(pages) N1=\(pages) kernelpagesize_kB=4"))
        }
        XCTAssertEqual(tally.bytes(.anonymous, on: 0), Int.max)
        XCTAssertEqual(tally.total(.anonymous), Int.max)
        XCTAssertEqual(tally.bytes(.anonymous, outside: IDSet([0])), Int.max)
        XCTAssertEqual(tally.policies.first?.bytes, [Int.max, Int.max])
        XCTAssertEqual([Int.max, 1, Int.max].saturatingSum, Int.max)
        XCTAssertEqual(KernelArithmetic.clamped(Double(Int.max) * 3), Int.max)
        // What renders such a total does not trap either.
        XCTAssertEqual(Bytes.text(Int.max), "8388608 TiB")
    }

    func testHandBuiltMappingSaturates() {
        var mapping = Mapping(address: 0, policy: .default)
        mapping.nodePages = [.init(node: 0, pages: Int.max), .init(node: 1, pages: Int.max)]
        mapping.pageSizeKiB = 1_048_576
        XCTAssertEqual(mapping.bytes(on: 0), Int.max)
        XCTAssertEqual(mapping.totalPages, Int.max)
        var tally = MemoryTally()
        tally.add(mapping)
        XCTAssertEqual(tally.bytes(.anonymous, on: 1), Int.max)
    }

    func testMeminfoAndStatusKilobytesThatOverflowAreRefused() {
        XCTAssertThrowsError(try MeminfoParser.parse("MemTotal: 9007199254740993 kB\n")) { error in
            XCTAssertEqual((error as? ParseError)?.reason, "MemTotal: 9007199254740993 kB overflows")
        }
        XCTAssertEqual(try MeminfoParser.parse("HugePages_Total: 9007199254740993\n")["HugePages_Total"], 9_007_199_254_740_993,
                       "a count without kB is not multiplied")
        let status = ProcStatus.parse("VmRSS:\t9007199254740993 kB\n")
        XCTAssertThrowsError(try status.kilobytes("VmRSS")) { error in
            XCTAssertEqual((error as? ParseError)?.reason, "9007199254740993 kB overflows")
        }
    }
}
