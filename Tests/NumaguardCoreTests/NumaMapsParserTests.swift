import NumaguardCore
import XCTest

final class NumaMapsParserTests: XCTestCase {
    func testParsesAFileBackedLine() throws {
        let line = "7f53b5083000 default file=/usr/lib/x86_64-linux-gnu/ld-2.32.so anon=2 dirty=2 mapped=3 mapmax=6 active=1 N0=2 N1=1 kernelpagesize_kB=4"
        let mapping = try NumaMapsParser.parseLine(line)
        XCTAssertEqual(mapping.address, 0x7f53b5083000)
        XCTAssertEqual(mapping.policy, .default)
        XCTAssertEqual(mapping.file, "/usr/lib/x86_64-linux-gnu/ld-2.32.so")
        XCTAssertEqual(mapping.kind, .file)
        XCTAssertEqual(mapping.anon, 2)
        XCTAssertEqual(mapping.dirty, 2)
        XCTAssertEqual(mapping.mapped, 3)
        XCTAssertEqual(mapping.mapmax, 6)
        XCTAssertEqual(mapping.active, 1)
        XCTAssertEqual(mapping.nodePages, [.init(node: 0, pages: 2), .init(node: 1, pages: 1)])
        XCTAssertEqual(mapping.pageSizeKiB, 4)
        XCTAssertEqual(mapping.totalPages, 3)
        XCTAssertEqual(mapping.bytes(on: 1), 4096)
    }

    func testHeapStackAndAnonKinds() throws {
        XCTAssertEqual(try NumaMapsParser.parseLine("55d0c0a5e000 default heap anon=33 dirty=33 N0=33 kernelpagesize_kB=4").kind, .heap)
        XCTAssertEqual(try NumaMapsParser.parseLine("7ffd1b23e000 default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4").kind, .stack)
        // Kernels before 4.5 named thread stacks stack:TID.
        XCTAssertEqual(try NumaMapsParser.parseLine("7f0000000000 default stack:1234 anon=1 dirty=1 N0=1 kernelpagesize_kB=4").kind, .stack)
        XCTAssertEqual(try NumaMapsParser.parseLine("7f0000000000 bind:1 anon=16384 dirty=16384 N1=16384 kernelpagesize_kB=4").kind, .anon)
    }

    func testPoliciesWithSpacesInTheirNames() throws {
        let many = try NumaMapsParser.parseLine("7f1c2a400000 prefer (many):0-1 anon=4096 dirty=4096 N0=4096 kernelpagesize_kB=4")
        XCTAssertEqual(many.policy, MemoryPolicy(mode: .preferredMany, nodes: IDSet([0, 1])))
        XCTAssertEqual(many.pages(on: 0), 4096)
        let weighted = try NumaMapsParser.parseLine("7f1c2a400000 weighted interleave:0-1 anon=10 dirty=10 N0=7 N1=3 kernelpagesize_kB=4")
        XCTAssertEqual(weighted.policy.mode, .weightedInterleave)
        XCTAssertEqual(weighted.totalPages, 10)
        let flagged = try NumaMapsParser.parseLine("7f1c2a400000 weighted interleave=static|balancing:0-1 anon=1 N0=1 kernelpagesize_kB=4")
        XCTAssertTrue(flagged.policy.staticNodes)
        XCTAssertTrue(flagged.policy.balancing)
        // `prefer` alone, then `prefer (many)` on the next line: the first word of a two-word
        // spelling, taken as the line before's policy, would cut the second line's short.
        let lines = try NumaMapsParser.parse("""
            7f1c2a400000 prefer anon=1 N0=1 kernelpagesize_kB=4
            7f1c2a401000 prefer (many):0-1 anon=1 N0=1 kernelpagesize_kB=4
            7f1c2a402000 prefer anon=1 N0=1 kernelpagesize_kB=4
            7f1c2a403000 prefer (many):0-1 anon=1 N0=1 kernelpagesize_kB=4
            """)
        XCTAssertEqual(lines.map(\.policy.mode), [.preferred, .preferredMany, .preferred, .preferredMany])
        XCTAssertThrowsError(try NumaMapsParser.parse("7f1c2a400000 weighted anon=1 N0=1 kernelpagesize_kB=4"))
    }

    func testHugetlbCountsHugePagesAndNoPageMappingsHaveNoCounts() throws {
        let huge = try NumaMapsParser.parseLine("7f2a00000000 bind:0 file=/anon_hugepage\\040(deleted) huge anon=8 dirty=8 N0=8 kernelpagesize_kB=2048")
        XCTAssertEqual(huge.kind, .huge)
        XCTAssertEqual(huge.file, "/anon_hugepage\\040(deleted)")
        XCTAssertEqual(huge.bytes(on: 0), 8 * 2048 * 1024)
        let empty = try NumaMapsParser.parseLine("7f53b5084000 default file=/usr/lib/libc.so.6")
        XCTAssertEqual(empty.nodePages, [])
        XCTAssertNil(empty.pageSizeKiB)
        let emptyAnon = try NumaMapsParser.parseLine("7f53b5084000 interleave:0-1")
        XCTAssertEqual(emptyAnon.policy.mode, .interleave)
        XCTAssertEqual(emptyAnon.totalPages, 0)
    }

    func testWholeFileAndLineNumbersInErrors() throws {
        let text = """
            00400000 default file=/bin/probe mapped=1 N0=1 kernelpagesize_kB=4
            01000000 default heap anon=2 dirty=2 N1=2 kernelpagesize_kB=4

            """
        let mappings = try NumaMapsParser.parse(text)
        XCTAssertEqual(mappings.count, 2)
        XCTAssertEqual(mappings[1].pages(on: 1), 2)
        XCTAssertThrowsError(try NumaMapsParser.parse(text + "zz default\n")) { error in
            XCTAssertEqual((error as? ParseError)?.what, "numa_maps line 3")
        }
    }

    func testRejectsCorruption() {
        for bad in [
            "", "7f00", "7f00 ", "7f00 nonsense anon=1", "7G00 default", "7f00 default N0=x kernelpagesize_kB=4",
            "7f00 default anon=z", "7f00 default N0=1", "7f00 bind:0- N0=1 kernelpagesize_kB=4",
            "fffffffffffffffff default",
        ] {
            XCTAssertThrowsError(try NumaMapsParser.parseLine(bad), bad)
        }
    }

    /// Addresses are read without a branch per digit, and a line with a byte that is not a
    /// lowercase hex digit, or more than 16 digits, is read again digit by digit: the error
    /// names the first such byte (or the digit that passes 64 bits) as before, and leading
    /// zeros beyond 16 digits still parse.
    func testAddressesAndWhereTheyGoWrong() throws {
        XCTAssertEqual(try NumaMapsParser.parseLine("ffffffffff600000 default").address, 0xFFFF_FFFF_FF60_0000)
        XCTAssertEqual(try NumaMapsParser.parseLine("00400000 default").address, 0x40_0000)
        XCTAssertEqual(try NumaMapsParser.parseLine("0123456789abcdef default").address, 0x0123_4567_89AB_CDEF)
        XCTAssertEqual(try NumaMapsParser.parseLine("0000fedcba9876543210 default").address, 0xFEDC_BA98_7654_3210)
        for (line, column, reason) in [
            ("7G00 default", 2, "address is not hexadecimal"),
            ("7f0A default", 4, "address is not hexadecimal"),
            ("7f:0 default", 3, "address is not hexadecimal"),
            ("1ffffffffffffffff default", 17, "address wider than 64 bits"),
            ("1fffffffffffffffG default", 17, "address is not hexadecimal"),
            ("1ffffffffffffffff0G default", 17, "address wider than 64 bits"),
            ("7f00", 5, "expected an address followed by a policy"),
            (" default", 1, "expected an address followed by a policy"),
        ] {
            XCTAssertThrowsError(try NumaMapsParser.parseLine(line), line) { error in
                let parsed = error as? ParseError
                XCTAssertEqual(parsed?.column, column, line)
                XCTAssertEqual(parsed?.reason, reason, line)
            }
        }
    }

    /// The usual counters are matched with their `=` at the token's start; a key that only
    /// begins like one (or has no `=`) must not be taken for it, and every counter still lands
    /// in its own field.
    func testEveryCounterAndLookalikeKeys() throws {
        let mapping = try NumaMapsParser.parseLine(
            "7f00 default anonymous=7 anon=1 dirty=2 mapped=3 mapmax=4 swapcache=5 active=6 writeback=8 "
                + "mapped2=9 kernelpagesize_kBx=3 activex dirty N0=1 kernelpagesize_kB=4")
        XCTAssertEqual([mapping.anon, mapping.dirty, mapping.mapped, mapping.mapmax, mapping.swapcache, mapping.writeback],
                       [1, 2, 3, 4, 5, 8])
        XCTAssertEqual(mapping.active, 6)
        XCTAssertEqual(mapping.pageSizeKiB, 4)
        for bad in ["7f00 default kernelpagesize_kB= N0=1", "7f00 default active=-1", "7f00 default mapmax=1x"] {
            XCTAssertThrowsError(try NumaMapsParser.parseLine(bad), bad) { error in
                XCTAssertTrue((error as? ParseError)?.reason.hasSuffix("needs a decimal count") == true, "\(error)")
            }
        }
    }

    func testToleratesUnknownFutureTokens() throws {
        let mapping = try NumaMapsParser.parseLine("7f00 default anon=1 newflag newkey=abc N0=1 kernelpagesize_kB=4")
        XCTAssertEqual(mapping.totalPages, 1)
    }
}

/// The streaming scanner must see the same mappings however the file is cut into chunks
/// (the kernel hands numa_maps out about a page at a time).
final class NumaMapsScannerTests: XCTestCase {
    func testChunkBoundariesAnywhereGiveTheSameMappings() throws {
        let text = """
            00400000 default file=/bin/probe mapped=1 N0=1 kernelpagesize_kB=4
            01000000 default heap anon=2 dirty=2 N1=2 kernelpagesize_kB=4
            7f1c2a400000 prefer (many):0-1 anon=4096 dirty=4096 N0=4096 kernelpagesize_kB=4
            7f2000000000 interleave:0-1
            7ffd1b23e000 default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4
            """
        let whole = try NumaMapsParser.parse(text)
        XCTAssertEqual(whole.count, 5, "a last line without a newline is parsed too")
        let bytes = Array(text.utf8)
        for size in [1, 2, 7, 64, 65, bytes.count] {
            var scanner = NumaMapsScanner(keepsFilePaths: true)
            var seen: [Mapping] = []
            try bytes.withUnsafeBufferPointer { buffer in
                var start = 0
                while start < buffer.count {
                    let end = Swift.min(start + size, buffer.count)
                    try scanner.scan(UnsafeBufferPointer(rebasing: buffer[start..<end])) { seen.append($0) }
                    start = end
                }
            }
            try scanner.finish { seen.append($0) }
            XCTAssertEqual(seen, whole, "chunk size \(size)")
        }
    }

    func testWithoutFilePathsTheMappingIsStillFileBacked() throws {
        var scanner = NumaMapsScanner(keepsFilePaths: false)
        var seen: [Mapping] = []
        let line = Array("00400000 default file=/bin/probe mapped=1 N0=1 kernelpagesize_kB=4\n".utf8)
        try line.withUnsafeBufferPointer { try scanner.scan($0) { seen.append($0) } }
        XCTAssertEqual(seen.first?.kind, .file)
        XCTAssertNil(seen.first?.file)
    }

    func testErrorsNameTheLineAcrossChunks() {
        var scanner = NumaMapsScanner(keepsFilePaths: false)
        let bytes = Array("00400000 default N0=1 kernelpagesize_kB=4\n00500000 default N0=x kernelpagesize_kB=4\n".utf8)
        XCTAssertThrowsError(try bytes.withUnsafeBufferPointer { buffer in
            try scanner.scan(UnsafeBufferPointer(rebasing: buffer[0..<50])) { _ in }
            try scanner.scan(UnsafeBufferPointer(rebasing: buffer[50...])) { _ in }
        }) { error in
            XCTAssertEqual((error as? ParseError)?.what, "numa_maps line 2")
        }
    }
}
