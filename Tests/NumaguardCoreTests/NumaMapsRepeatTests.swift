import XCTest

@testable import NumaguardCore

/// A numa_maps line whose bytes after the address repeat the previous line's is not parsed
/// again (NumaMapsScanner) and is added again without being classified (MemoryTally, as
/// ProcessReader.tally does; ProcessReaderTests checks that over whole files): both must give
/// exactly what parsing and adding every line on its own gives.
final class NumaMapsRepeatTests: XCTestCase {
    /// Each line parsed alone: the definition the scanner's shortcut must keep.
    private func parsedAlone(_ text: String) throws -> [Mapping] {
        try text.split(separator: "\n").map { line throws in try NumaMapsParser.parseLine(line) }
    }

    /// The scanner over `text` cut into `chunk`-byte pieces: each mapping and whether it was
    /// said to repeat the previous one.
    private func scanned(_ text: String, chunk: Int, keepsFilePaths: Bool = true) throws -> [(Mapping, Bool)] {
        var scanner = NumaMapsScanner(keepsFilePaths: keepsFilePaths)
        var seen: [(Mapping, Bool)] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            try bytes[start..<end].withUnsafeBufferPointer { piece in try scanner.scan(piece) { seen.append(($0, $1)) } }
            start = end
        }
        try scanner.finish { seen.append(($0, $1)) }
        return seen
    }

    /// Runs of alike lines as a 32k-mapping process has them, between lines that differ in
    /// one byte only, a file path, a policy, a second node, hugetlb and a page-less mapping.
    private let alike = """
        7f0000001000 default anon=1 dirty=1 active=0 N0=1 kernelpagesize_kB=4
        7f0000002000 default anon=1 dirty=1 active=0 N0=1 kernelpagesize_kB=4
        7f0000003000 default anon=1 dirty=1 active=0 N0=1 kernelpagesize_kB=4
        7f0000004000 default anon=1 dirty=1 active=0 N0=2 kernelpagesize_kB=4
        7f0000005000 default anon=1 dirty=1 active=0 N0=2 kernelpagesize_kB=4
        7f0000006000 bind:1 anon=1 dirty=1 active=0 N0=2 kernelpagesize_kB=4
        7f0000007000 bind:1 anon=1 dirty=1 active=0 N0=2 kernelpagesize_kB=4
        7f0000008000 default file=/usr/lib/a.so mapped=3 mapmax=9 N0=3 kernelpagesize_kB=4
        7f0000009000 default file=/usr/lib/b.so mapped=3 mapmax=9 N0=3 kernelpagesize_kB=4
        7f000000a000 default file=/usr/lib/b.so mapped=3 mapmax=9 N0=3 kernelpagesize_kB=4
        7f000000b000 interleave:0-1 anon=4 dirty=4 N0=2 N1=2 kernelpagesize_kB=4
        7f000000c000 interleave:0-1 anon=4 dirty=4 N0=2 N1=2 kernelpagesize_kB=4
        7f000000d000 default
        7f000000e000 default
        7f0000200000 default file=/anon_hugepage\\040(deleted) huge anon=1 dirty=1 N1=1 kernelpagesize_kB=2048
        7f0000400000 default file=/anon_hugepage\\040(deleted) huge anon=1 dirty=1 N1=1 kernelpagesize_kB=2048
        7ffd00000000 default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4
        7ffd00001000 default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4
        """

    func testRepeatedLinesAreThePreviousMappingAtANewAddress() throws {
        let alone = try parsedAlone(alike)
        let expectedRepeats = [false, true, true, false, true, false, true, false, false, true, false, true, false, true, false, true, false, true]
        XCTAssertEqual(try scanned(alike + "\n", chunk: 4096).map(\.1), expectedRepeats)
        XCTAssertEqual(try scanned(alike, chunk: 4096).map(\.1).last, false, "a last line without a newline is finished alone")
        // A line carried over from the previous chunk (its start was read before the chunk in
        // hand) is parsed in full, and so is the first line of a chunk: the previous line's
        // bytes are not kept. Only alike lines are ever said to repeat.
        for chunk in [1, 7, 64, 200, 4096] {
            let seen = try scanned(alike, chunk: chunk)
            XCTAssertEqual(seen.map(\.0), alone, "chunk \(chunk)")
            for (index, said) in seen.map(\.1).enumerated() where said {
                XCTAssertTrue(expectedRepeats[index], "chunk \(chunk), line \(index + 1)")
            }
        }
        XCTAssertEqual(try scanned(alike, chunk: 1).filter(\.1).count, 0, "one byte a chunk: every line is carried")
        XCTAssertGreaterThan(try scanned(alike, chunk: 200).filter(\.1).count, 0)
    }

    /// A tally told which mappings repeat the one before is the tally of every mapping added
    /// on its own, whatever the chunks; saturation included.
    func testATallyOfRepeatsIsTheTallyOfEveryMapping() throws {
        for chunk in [1, 13, 200, 4096] {
            let seen = try scanned(alike + "\n", chunk: chunk, keepsFilePaths: false)
            var told = MemoryTally(), every = MemoryTally()
            for (mapping, repeats) in seen {
                told.add(mapping, repeatsPrevious: repeats)
                every.add(mapping)
            }
            XCTAssertEqual(told, every, "chunk \(chunk)")
            XCTAssertEqual(every.mappings, 18)
            XCTAssertEqual(every.bytes(.huge, on: 1), 2 * 2048 * 1024)
            XCTAssertEqual(every.bytes(.stack, on: 0), 2 * 3 * 4096)
            XCTAssertEqual(every.bytes(.private, on: 0), (3 * 1 + 2 * 2 + 2 * 2 + 3 * 3 + 2 * 2) * 4096)
            XCTAssertEqual(every.policies.map(\.mappings), [14, 2, 2], "default, bind:1, interleave:0-1")
        }
        var nothingBefore = MemoryTally(), plain = MemoryTally()
        let first = try NumaMapsParser.parseLine("7f0000001000 bind:1 anon=1 dirty=1 N1=1 kernelpagesize_kB=4")
        nothingBefore.add(first, repeatsPrevious: true)
        plain.add(first)
        XCTAssertEqual(nothingBefore, plain, "nothing added before: classified as any other")
        var huge = Mapping(address: 0, policy: .default)
        huge.nodePages = [.init(node: 0, pages: Int.max / 4096)]
        huge.pageSizeKiB = 4
        var told = MemoryTally(), each = MemoryTally()
        told.add(huge)
        for _ in 0..<2 { told.add(huge, repeatsPrevious: true) }
        for _ in 0..<3 { each.add(huge) }
        XCTAssertEqual(told.bytes(.private, on: 0), Int.max)
        XCTAssertEqual(told, each, "saturates where adding one by one saturates")
    }

    func testRecordedNumaMapsScanAsEveryLineAlone() throws {
        let files = RecordedFiles.named(["numa_maps"])
        XCTAssertGreaterThan(files.count, 100)
        var repeats = 0
        for file in files {
            let seen = try scanned(file.text, chunk: 4096)
            XCTAssertEqual(seen.map(\.0), try parsedAlone(file.text), file.path)
            repeats += seen.filter(\.1).count
        }
        XCTAssertGreaterThan(repeats, 0, "real processes have alike neighbouring mappings")
    }

    /// A line that repeats the bytes of a line that did not parse is parsed (and refused)
    /// itself; the error names its own line.
    func testAnErrorIsNeverRepeated() throws {
        let text = "7f0000001000 default N0=x kernelpagesize_kB=4\n7f0000002000 default N0=x kernelpagesize_kB=4\n"
        var scanner = NumaMapsScanner(keepsFilePaths: false)
        let bytes = Array(text.utf8)
        XCTAssertThrowsError(try bytes.withUnsafeBufferPointer { buffer in try scanner.scan(buffer) { _, _ in } }) { error in
            XCTAssertEqual((error as? ParseError)?.line, 1)
        }
        // A fresh scanner given only the second half (after a good line) parses it again.
        let mixed = "7f0000001000 default N0=1 kernelpagesize_kB=4\n7f0000002000 default N0=x kernelpagesize_kB=4\n"
        var second = NumaMapsScanner(keepsFilePaths: false)
        XCTAssertThrowsError(try Array(mixed.utf8).withUnsafeBufferPointer { buffer in try second.scan(buffer) { _, _ in } }) { error in
            XCTAssertEqual((error as? ParseError)?.line, 2)
        }
    }
}
