import XCTest

@testable import NumaguardCore

/// A numa_maps line whose bytes after the address repeat a recent line's is not parsed again
/// (NumaMapsScanner gives it that line's shape) and is counted, not classified, by a tally
/// (MemoryTallyBuilder, as ProcessReader.tally does; ProcessReaderTests checks that over whole
/// files): both must give exactly what parsing and adding every line on its own gives.
final class NumaMapsRepeatTests: XCTestCase {
    /// Each line parsed alone: the definition the scanner's shortcut must keep. Lines end at
    /// LF bytes, as the scanner's do (a Character split would keep "\r\n" as one).
    private func parsedAlone(_ text: String) throws -> [Mapping] {
        try text.utf8.split(separator: 0x0A).map { line throws in try NumaMapsParser.parseLine(String(decoding: line, as: UTF8.self)) }
    }

    /// The scanner over `text` cut into `chunk`-byte pieces: each mapping and its shape.
    private func scanned(
        _ text: String, chunk: Int, keepsFilePaths: Bool = true, keepsAddresses: Bool = true, keepsRecentMappings: Bool = true
    ) throws -> [(Mapping, Int)] {
        var scanner = NumaMapsScanner(keepsFilePaths: keepsFilePaths, keepsAddresses: keepsAddresses, keepsRecentMappings: keepsRecentMappings)
        var seen: [(Mapping, Int)] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            try bytes[start..<end].withUnsafeBufferPointer { piece in try scanner.scan(piece) { seen.append(($0, $1)) } }
            start = end
        }
        try scanner.finish { seen.append(($0, $1)) }
        XCTAssertEqual(scanner.mappingsVisited, seen.count)
        return seen
    }

    /// The tally as ProcessReader.tally makes it: the scanner, keeping no mappings, hands lines
    /// to the builder directly, a repeat by its shape alone (`visitAgain`).
    private func tallied(_ text: String, chunk: Int) throws -> MemoryTally {
        let (tally, visited) = try tallyInChunks(text, chunk: chunk)
        XCTAssertEqual(visited, tally.mappings)
        return tally
    }

    /// Mappings of one shape must be equal but for their addresses.
    private func assertShapesHold(_ seen: [(Mapping, Int)], _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        var first: [Int: Mapping] = [:]
        for (mapping, shape) in seen {
            var moved = mapping
            if let earlier = first[shape] {
                moved.address = earlier.address
                XCTAssertEqual(moved, earlier, "\(context): shape \(shape)", file: file, line: line)
            } else {
                first[shape] = mapping
            }
        }
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

    func testRepeatedLinesAreARecentMappingAtANewAddress() throws {
        let alone = try parsedAlone(alike)
        // Lines 2, 3, 5, 7, 10, 12, 14, 16 and 18 repeat the line before; no other line repeats
        // a recent one but line 9's file differs from line 8's (a.so, b.so).
        let expectedShapes = [0, 0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]
        XCTAssertEqual(try scanned(alike + "\n", chunk: 4096).map(\.1), expectedShapes)
        // Whatever the chunks (a line carried over from one chunk to the next included), the
        // mappings are every line parsed alone and the shapes the same.
        for chunk in [1, 7, 64, 200, 4096] {
            let seen = try scanned(alike, chunk: chunk)
            XCTAssertEqual(seen.map(\.0), alone, "chunk \(chunk)")
            XCTAssertEqual(seen.map(\.1), expectedShapes, "chunk \(chunk)")
            assertShapesHold(seen, "chunk \(chunk)")
        }
    }

    /// A thread's guard page and its stack, one pair per thread: the lines alternate, and no
    /// line repeats the one before, but each repeats the line two back.
    func testAlternatingLinesShareTwoShapes() throws {
        let pairs = (0..<500).map { thread in
            let base = 0x7f00_0000_0000 + thread * 0x10_0000
            return "\(String(base, radix: 16)) default\n\(String(base + 0x1000, radix: 16)) default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4"
        }.joined(separator: "\n")
        let seen = try scanned(pairs, chunk: 4096)
        XCTAssertEqual(seen.map(\.0), try parsedAlone(pairs))
        XCTAssertEqual(Set(seen.map(\.1)), [0, 1])
        assertShapesHold(seen, "pairs")
        let tally = try tallied(pairs, chunk: 4096)
        XCTAssertEqual(tally.mappings, 1000)
        XCTAssertEqual(tally.bytes(.stack, on: 0), 500 * 3 * 4096)
    }

    /// The window: a line is found among the last `recentLines + 1` distinct lines parsed. A
    /// cycle of that many distinct lines is parsed once per line kind; one more, and every line
    /// is parsed (and still right).
    func testTheWindowIsTheLastNineLines() throws {
        func cycle(_ kinds: Int) -> String {
            (0..<(kinds * 20)).map { index in
                "\(String(0x7f00_0000_0000 + index * 0x1000, radix: 16)) default anon=\(index % kinds + 1) dirty=1 N0=\(index % kinds + 1) kernelpagesize_kB=4"
            }.joined(separator: "\n")
        }
        let window = NumaMapsScanner.recentLines + 1
        let held = try scanned(cycle(window), chunk: 4096)
        XCTAssertEqual(Set(held.map(\.1)).count, window)
        XCTAssertEqual(held.map(\.0), try parsedAlone(cycle(window)))
        assertShapesHold(held, "cycle of \(window)")
        let beyond = try scanned(cycle(window + 1), chunk: 4096)
        XCTAssertEqual(Set(beyond.map(\.1)).count, beyond.count, "every line parsed")
        XCTAssertEqual(beyond.map(\.0), try parsedAlone(cycle(window + 1)))
    }

    /// After a long stretch of lines that repeat none before them, the scanner compares only
    /// every `probeInterval`th line with the remembered ones: lines of a cycle that follows
    /// are parsed (and right) until a compared one is found, and from then on found again.
    func testASearchThatKeepsMissingProbes() throws {
        func line(_ index: Int, _ kinds: Int) -> String {
            "\(String(0x7f00_0000_0000 + index * 0x1000, radix: 16)) default anon=\(index % kinds + 1) dirty=1 N0=\(index % kinds + 1) kernelpagesize_kB=4"
        }
        let missing = NumaMapsScanner.missesBeforeProbing + 100
        let window = NumaMapsScanner.recentLines + 1
        // `missing` lines of a cycle longer than the window, then 400 of a cycle of four.
        let text = ((0..<missing).map { line($0, window + 1) } + (0..<400).map { line(missing + $0, 4) }).joined(separator: "\n")
        let seen = try scanned(text, chunk: 4096)
        XCTAssertEqual(seen.map(\.0), try parsedAlone(text))
        assertShapesHold(seen, "probing")
        let shapes = Set(seen.map(\.1)).count
        XCTAssertEqual(Set(seen.prefix(missing).map(\.1)).count, missing, "every line of the first stretch parsed")
        XCTAssertGreaterThan(shapes, missing + 4, "the cycle's first lines parsed while only probing")
        XCTAssertLessThanOrEqual(shapes, missing + NumaMapsScanner.probeInterval + 4, "found again within one interval")
        XCTAssertEqual(Set(seen.suffix(200).map(\.1)).count, 4, "then found as before")
        var every = MemoryTally()
        for mapping in try parsedAlone(text) { every.add(mapping) }
        for chunk in [4096, 13] { XCTAssertEqual(try tallied(text, chunk: chunk), every, "chunk \(chunk)") }
        // Without the stretch, the cycle is found from its fifth line.
        XCTAssertEqual(Set(try scanned((0..<400).map { line($0, 4) }.joined(separator: "\n"), chunk: 4096).map(\.1)).count, 4)
    }

    /// While probing, a tally's scanner remembers only the lines a compared line is compared
    /// with (the window before it) and the compared lines, and forgets the line before one it
    /// did not remember. It must still tally every line, and still find a cycle of up to the
    /// window's length (or a run of alike lines) within an interval of its start, whatever
    /// the cycle's phase against the interval, and from then on parse no more of it.
    func testATallyWhileProbingRemembersTheWindowAndFindsCyclesAgain() throws {
        func line(_ index: Int, _ kinds: Int, _ base: Int) -> String {
            "\(String(0x7f00_0000_0000 + index * 0x1000, radix: 16)) default anon=\(base + index % kinds) dirty=1 N0=\(base + index % kinds) kernelpagesize_kB=4"
        }
        let window = NumaMapsScanner.recentLines + 1, interval = NumaMapsScanner.probeInterval
        for length in [1, 2, 3, 4, 7, window] {
            for phase in stride(from: 0, to: interval, by: 5) {
                // A stretch no remembered line repeats (a cycle longer than the window), long
                // enough to be probing, then `length`'s cycle (other counts: it repeats nothing before).
                let missing = NumaMapsScanner.missesBeforeProbing + 3 * interval + phase
                let stretch = (0..<missing).map { line($0, window + 11, 1) }
                func text(_ cycleLines: Int) -> String {
                    (stretch + (0..<cycleLines).map { line(missing + $0, length, 100) }).joined(separator: "\n")
                }
                var every = MemoryTally()
                for mapping in try parsedAlone(text(600)) { every.add(mapping) }
                let (tally, parsed) = try tallyCountingParsed(text(600))
                XCTAssertEqual(tally, every, "cycle \(length), phase \(phase)")
                XCTAssertGreaterThanOrEqual(parsed, missing + length, "cycle \(length), phase \(phase): the stretch and the cycle's first lines parsed (none found beyond the window)")
                XCTAssertLessThanOrEqual(parsed, missing + interval + window, "cycle \(length), phase \(phase): found within an interval")
                XCTAssertEqual(try tallyCountingParsed(text(1200)).parsed, parsed, "cycle \(length), phase \(phase): then found every time")
            }
        }
    }

    /// A mapping with no shape (-1: a line the scanner did not remember) is added each time,
    /// never counted as a repeat of a slot, though a fresh builder's slots hold shape -1 too.
    /// (The scanner cannot reach that: it remembers 64 lines before it probes.)
    func testAMappingWithNoShapeIsAddedNotCountedAsARepeat() throws {
        let mapping = try NumaMapsParser.parseLine("7f0000000000 bind:0 anon=2 dirty=2 N0=2 kernelpagesize_kB=4")
        var builder = MemoryTallyBuilder()
        builder.visit(mapping, shape: -1)
        builder.visit(mapping, shape: -1)
        var every = MemoryTally()
        every.add(mapping)
        every.add(mapping)
        XCTAssertEqual(builder.settled(), every)
    }

    /// The tally and how many lines the scanner parsed (handed over by `visit`, as opposed to
    /// repeats the builder took by shape).
    private func tallyCountingParsed(_ text: String) throws -> (tally: MemoryTally, parsed: Int) {
        var scanner = NumaMapsScanner(keepsFilePaths: false, keepsAddresses: false, keepsRecentMappings: false)
        var recorder = TallyRecorder()
        try Array(text.utf8).withUnsafeBufferPointer { bytes throws(ParseError) in try scanner.scan(bytes, into: &recorder) }
        try scanner.finish(into: &recorder)
        return (recorder.builder.settled(), recorder.summaries + recorder.mappings)
    }

    /// Lines whose policy changes from line to line (VMAs under different mbind policies):
    /// the scanner takes a recent spelling's policy without parsing it again, and a tally finds
    /// a recent policy without hashing it. Over more spellings than either keeps (20 cycling),
    /// with the two-word spellings among them, every mapping is the line parsed alone and the
    /// tally is adding every mapping. At every chunk size: a spelling is compared as words only
    /// when 16 bytes follow it in the buffer, and a line cut by a chunk is read from its own.
    func testPoliciesChangingFromLineToLine() throws {
        // Spellings over 64 bytes are not kept as bytes but looked up each time (one among the first five).
        let long = "interleave:" + stride(from: 0, to: 120, by: 2).map(String.init).joined(separator: ",")
        let spellings = ["default", "prefer:0", "bind:0", long, "local", "prefer (many):0-1",
                         "weighted interleave:0-1", "bind=static:1", "interleave=relative:0-3", "prefer",
                         "bind:0-1", "bind:1", "interleave:0-1", "prefer:1", "bind=static:0", "prefer (many):2",
                         "interleave:1", "bind:2", "bind:3", "prefer:2"]
        for kinds in [5, 12, 20] {
            let text = (0..<(kinds * 25)).map { index in
                let pages = 1 + index % 4
                return "\(String(0x7f00_0000_0000 + index * 0x4000, radix: 16)) \(spellings[index % kinds]) anon=\(pages) dirty=\(pages) N0=\(pages) kernelpagesize_kB=4"
            }.joined(separator: "\n")
            let alone = try parsedAlone(text)
            var every = MemoryTally()
            for mapping in alone { every.add(mapping) }
            XCTAssertEqual(every.policies.count, Set(spellings.prefix(kinds)).count)
            for chunk in [1, 13, 70, 4096] {
                XCTAssertEqual(try scanned(text, chunk: chunk).map(\.0), alone, "\(kinds) policies, chunks of \(chunk)")
                XCTAssertEqual(try tallied(text, chunk: chunk), every, "\(kinds) policies, chunks of \(chunk)")
            }
        }
    }

    /// What the scanner keeps is bounded: bytes after the address longer than
    /// `longestRememberedTail` are parsed every time (and right).
    func testLongLinesAreParsedEveryTime() throws {
        let path = "/srv/" + String(repeating: "p", count: NumaMapsScanner.longestRememberedTail)
        let text = (0..<6).map { "7f00000\($0)0000 default file=\(path) mapped=1 N0=1 kernelpagesize_kB=4" }.joined(separator: "\n")
        let seen = try scanned(text, chunk: 1000)
        XCTAssertEqual(seen.map(\.0), try parsedAlone(text))
        XCTAssertEqual(Set(seen.map(\.1)).count, 6)
        let short = text.replacingOccurrences(of: path, with: "/srv/p")
        XCTAssertEqual(Set(try scanned(short, chunk: 1000).map(\.1)).count, 1)
    }

    /// Without addresses (a tally's scan) every other field is the same, and a line whose
    /// address is wrong is refused just as it is with them.
    func testAddressesCheckedButNotKept() throws {
        let without = try scanned(alike, chunk: 64, keepsAddresses: false)
        XCTAssertEqual(without.map(\.0.address), Array(repeating: 0, count: 18))
        XCTAssertEqual(without.map(\.0), try parsedAlone(alike).map { mapping in
            var moved = mapping
            moved.address = 0
            return moved
        })
        for bad in ["7f00000g1000 default N0=1 kernelpagesize_kB=4", "7F0000001000 default N0=1 kernelpagesize_kB=4",
                    "7f0000001000f0000 default", "x"] {
            for keeps in [true, false] {
                XCTAssertThrowsError(try scanned(bad, chunk: 4096, keepsAddresses: keeps), "\(bad), keeps \(keeps)") { error in
                    XCTAssertEqual((error as? ParseError)?.line, 1)
                    XCTAssertNotNil((error as? ParseError)?.column)
                }
            }
            XCTAssertEqual(columnOf(bad, keepsAddresses: true), columnOf(bad, keepsAddresses: false), bad)
        }
    }

    private func columnOf(_ text: String, keepsAddresses: Bool) -> Int? {
        do {
            _ = try scanned(text, chunk: 4096, keepsAddresses: keepsAddresses)
            return nil
        } catch {
            return (error as? ParseError)?.column
        }
    }

    /// A tally built from shapes is the tally of every mapping added on its own, whatever the
    /// chunks; saturation included.
    func testATallyOfShapesIsTheTallyOfEveryMapping() throws {
        for chunk in [1, 13, 200, 4096] {
            let seen = try scanned(alike + "\n", chunk: chunk, keepsFilePaths: false, keepsAddresses: false)
            var builder = MemoryTallyBuilder(), every = MemoryTally()
            for (mapping, shape) in seen {
                builder.visit(mapping, shape: shape)
                every.add(mapping)
            }
            XCTAssertEqual(builder.settled(), every, "chunk \(chunk)")
            XCTAssertEqual(try tallied(alike + "\n", chunk: chunk), every, "chunk \(chunk), straight into the builder")
            XCTAssertEqual(every.mappings, 18)
            XCTAssertEqual(every.bytes(.huge, on: 1), 2 * 2048 * 1024)
            XCTAssertEqual(every.bytes(.stack, on: 0), 2 * 3 * 4096)
            XCTAssertEqual(every.bytes(.private, on: 0), (3 * 1 + 2 * 2 + 2 * 2 + 3 * 3 + 2 * 2) * 4096)
            XCTAssertEqual(every.policies.map(\.mappings), [14, 2, 2], "default, bind:1, interleave:0-1")
        }
        var huge = Mapping(address: 0, policy: .default)
        huge.nodePages = [.init(node: 0, pages: Int.max / 4096)]
        huge.pageSizeKiB = 4
        var small = Mapping(address: 0, policy: .default)
        small.nodePages = [.init(node: 1, pages: 1)]
        small.pageSizeKiB = 4
        var builder = MemoryTallyBuilder(), each = MemoryTally()
        // Shapes 0 and 16 share a slot: a shape leaving its slot adds its repeats first.
        for (mapping, shape) in [(huge, 0), (huge, 0), (small, 16), (huge, 0), (huge, 0), (small, 16)] {
            builder.visit(mapping, shape: shape)
            each.add(mapping)
        }
        let built = builder.settled()
        XCTAssertEqual(built.bytes(.private, on: 0), Int.max)
        XCTAssertEqual(built.bytes(.private, on: 1), 2 * 4096)
        XCTAssertEqual(built, each, "saturates where adding one by one saturates")
        XCTAssertEqual(built.mappings, 6)
    }

    func testRecordedNumaMapsScanAsEveryLineAlone() throws {
        let files = RecordedFiles.named(["numa_maps"])
        XCTAssertGreaterThan(files.count, 100)
        var lines = 0, shapes = 0
        for file in files {
            let seen = try scanned(file.text, chunk: 4096)
            XCTAssertEqual(seen.map(\.0), try parsedAlone(file.text), file.path)
            assertShapesHold(seen, file.path)
            var every = MemoryTally()
            for mapping in seen.map(\.0) { every.add(mapping) }
            for chunk in [4096, 7] {
                XCTAssertEqual(try tallied(file.text, chunk: chunk), every, "\(file.path), chunk \(chunk)")
            }
            lines += seen.count
            shapes += Set(seen.map(\.1)).count
        }
        XCTAssertLessThan(shapes, lines, "real processes have alike recent mappings")
    }

    /// A visitor taking some repeats by their shape and not others (`visitAgain` false).
    private struct Choosy: NumaMapsVisitor {
        var seen: [(Mapping, Int)] = []
        var taken = 0
        var asked = 0
        /// Takes a repeat by its shape on every `every`th ask (never, when 0).
        let every: Int
        mutating func visit(_ mapping: Mapping, shape: Int) { seen.append((mapping, shape)) }
        mutating func visitAgain(shape: Int) -> Bool {
            asked += 1
            guard every > 0, asked % every == 0, let earlier = seen.last(where: { $0.1 == shape }) else { return false }
            taken += 1
            seen.append(earlier)
            return true
        }
    }

    /// A scanner keeping no mappings (a tally's) cannot hand over a repeat the visitor will not
    /// take by its shape: it parses that line again, as a new shape. Whatever the visitor
    /// takes, every mapping (addresses aside, for repeats taken by shape) is the line parsed alone.
    func testARepeatNotTakenByShapeIsParsedAgain() throws {
        let texts = [alike, RecordedFiles.named(["numa_maps"], limit: 20).map(\.text).joined(),
                     (1...12).map { String(0x7f00_0000_0000 + $0 * 4096, radix: 16) + " default anon=1 dirty=1 N0=1 kernelpagesize_kB=4\n" }.joined()]
        for text in texts {
            let alone = try parsedAlone(text)
            // A scanner that keeps mappings asks about each repeat once, whatever the visitor
            // answers (a decline brings the remembered mapping forward).
            var asks: Int?
            for every in [0, 1, 2, 3] {
                for keeps in [true, false] {
                    var scanner = NumaMapsScanner(keepsFilePaths: true, keepsRecentMappings: keeps)
                    var visitor = Choosy(every: every)
                    try Array(text.utf8).withUnsafeBufferPointer { bytes in try scanner.scan(bytes, into: &visitor) }
                    try scanner.finish(into: &visitor)
                    let context = "every \(every), keeps \(keeps)"
                    XCTAssertEqual(scanner.mappingsVisited, alone.count, context)
                    XCTAssertEqual(visitor.seen.count, alone.count, context)
                    for (index, (mapping, _)) in visitor.seen.enumerated() where index < alone.count {
                        var moved = mapping
                        moved.address = alone[index].address
                        XCTAssertEqual(moved, alone[index], "\(context), mapping \(index)")
                    }
                    assertShapesHold(visitor.seen, context)
                    if every == 1 { XCTAssertEqual(visitor.taken, visitor.asked, context) }
                    if keeps {
                        if let asks { XCTAssertEqual(visitor.asked, asks, "\(context): one ask a repeat") } else { asks = visitor.asked }
                    }
                    if every == 1, text == alike { XCTAssertEqual(visitor.taken, 9, "alike's nine repeats") }
                    if every == 0 { XCTAssertEqual(visitor.taken, 0, context) }
                    XCTAssertGreaterThan(visitor.asked, 0, context)
                }
            }
            // A closure visitor takes nothing by shape: without kept mappings, every repeat is parsed.
            let unkept = try scanned(text, chunk: 64, keepsRecentMappings: false)
            XCTAssertEqual(unkept.map(\.0), alone)
            XCTAssertEqual(Set(unkept.map(\.1)).count, unkept.count, "each line its own shape")
        }
    }

    /// From the second line in a row that repeats the last one, a tally's scanner takes the
    /// lines after it in a run (`takeRun`: each line's end found by comparing it, its address
    /// checked), until a line differs: in a byte, in its address's digit count, by a bad
    /// digit, or by running past the chunk. Whatever the chunks, the tally is that of every
    /// line added alone, every line is counted once, and an error names its own line.
    func testRunsOfTheLastLineAreTheLinesAlone() throws {
        let line = " default anon=1 dirty=1 N0=1 kernelpagesize_kB=4"
        let runs = ["7f0000001000", "7f0000002000", "7f0000003000", "7f0000004000", "7f0000005000",
                    "ffff000", "fffe000", "fffd000", "fffc000"].map { $0 + line }
            + ["7f0000006000 default anon=1 dirty=1 N0=1 kernelpagesize_kB=44", "7f0000007000" + line,
               "7f0000008000" + line, "7f0000009000" + line, "7f000000a000 default anon=2 dirty=2 N1=2 kernelpagesize_kB=4",
               "7f000000b000" + line, "7f000000c000" + line, "7f000000d000" + line]
        try assertTalliedAsAlone(runs, chunks: [1, 7, 13, 61, 62, 63, 64, 200, 4096])
        // A bad digit, an upper-case one, a missing space: refused at that line, mid-run.
        for (index, bad) in [(3, "7f00000g4000" + line), (4, "7F0000005000" + line), (6, "fffe000" + line.dropFirst()),
                             (5, "7f0000005000 " + line)] {
            assertRefused(runs, replacing: index, by: String(bad))
        }
    }

    /// `lines` tallied by a tally's scanner in chunks of each size, with and without a final
    /// newline: the tally of every line parsed alone, every line counted once.
    private func assertTalliedAsAlone(_ lines: [String], chunks: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        for ending in ["\n", ""] {
            let text = lines.joined(separator: "\n") + ending
            var every = MemoryTally()
            for mapping in try parsedAlone(text) { every.add(mapping) }
            XCTAssertEqual(every.mappings, lines.count, file: file, line: line)
            for chunk in chunks {
                let (tally, visited) = try tallyInChunks(text, chunk: chunk)
                XCTAssertEqual(tally, every, "chunk \(chunk), ending \(ending.debugDescription)", file: file, line: line)
                XCTAssertEqual(visited, lines.count, "chunk \(chunk)", file: file, line: line)
            }
        }
    }

    /// `lines` with the one at `index` replaced by `bad` are refused at that line, whatever
    /// the chunks.
    private func assertRefused(_ lines: [String], replacing index: Int, by bad: String, file: StaticString = #filePath, line: UInt = #line) {
        var broken = lines
        broken[index] = bad
        for chunk in [1, 13, 64, 4096] {
            XCTAssertThrowsError(try tallyInChunks(broken.joined(separator: "\n") + "\n", chunk: chunk), "\(bad), chunk \(chunk)",
                                 file: file, line: line) { error in
                XCTAssertEqual((error as? ParseError)?.line, index + 1, "\(bad), chunk \(chunk)", file: file, line: line)
            }
        }
    }

    /// After a line taken as a remembered line again, a tally's scanner expects the line that
    /// followed it last time (`takeCycle`): cycles of two (a guard page and a stack) and of
    /// four shapes, broken by a line that differs in a byte, by an address of another digit
    /// count, by a new shape, and by a cycle that changes its order. Whatever the chunks, the
    /// tally is that of every line alone, every line counted once, and an error names its line.
    func testCyclesOfRememberedLinesAreTheLinesAlone() throws {
        let shapes = [" default anon=1 dirty=1 N0=1 kernelpagesize_kB=4", " default anon=2 dirty=2 N0=2 kernelpagesize_kB=4",
                      " bind:1 anon=3 dirty=3 N1=3 kernelpagesize_kB=4", " default stack anon=4 dirty=4 N0=4 kernelpagesize_kB=4"]
        var lines: [String] = []
        var address = 0x7f00_0000_0000
        func add(_ shape: Int, digits: Int = 12) {
            address += 0x1000
            let hex = String(address, radix: 16)
            lines.append(String(hex.suffix(digits)) + shapes[shape])
        }
        for index in 0..<12 { add(index % 2) }                       // a guard page and a stack, six times
        for index in 0..<17 { add(index % 4) }                       // a cycle of four
        add(0, digits: 11)                                           // another digit count mid-cycle
        for index in 2..<9 { add(index % 4) }
        lines.append(String(address + 0x1000, radix: 16) + " default anon=9 dirty=9 N0=9 kernelpagesize_kB=4")  // a new shape
        for index in 0..<9 { add([3, 1, 2, 0][index % 4]) }          // the same shapes in another order
        lines[40] = lines[40].replacingOccurrences(of: "N0=4", with: "N0=5")   // one byte off, mid-cycle
        try assertTalliedAsAlone(lines, chunks: [1, 7, 13, 50, 51, 52, 53, 64, 200, 4096])
        // A bad digit or an upper-case one, mid-cycle: refused at that line.
        for index in [14, 15] + Array(18...27) + Array(31...36) {
            for bad in [lines[index].replacingOccurrences(of: "7f", with: "7g"), lines[index].uppercased()] {
                assertRefused(lines, replacing: index, by: bad)
            }
        }
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

/// A tally's builder behind a visitor that counts which way each parsed line reached it
/// (NumaMapsLineSummaryTests uses it too).
struct TallyRecorder: NumaMapsVisitor {
    static var takesSummaries: Bool { true }
    var builder = MemoryTallyBuilder()
    var summaries = 0
    var mappings = 0

    mutating func visit(_ mapping: Mapping, shape: Int) {
        mappings += 1
        builder.visit(mapping, shape: shape)
    }

    mutating func visit(_ summary: NumaMapsLineSummary, nodes: UnsafeBufferPointer<Mapping.NodePages>, policy: () -> MemoryPolicy, shape: Int) {
        summaries += 1
        builder.visit(summary, nodes: nodes, policy: policy, shape: shape)
    }

    mutating func visitAgain(shape: Int) -> Bool { builder.visitAgain(shape: shape) }
}

/// The tally as ProcessReader.tally makes it, `text` fed `chunk` bytes at a time, and how many
/// mappings the scanner handed over (NumaMapsLineSummaryTests uses it too).
func tallyInChunks(_ text: String, chunk: Int) throws(ParseError) -> (tally: MemoryTally, visited: Int) {
    var scanner = NumaMapsScanner(keepsFilePaths: false, keepsAddresses: false, keepsRecentMappings: false)
    var builder = MemoryTallyBuilder()
    let bytes = Array(text.utf8)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunk)
        let result = bytes[start..<end].withUnsafeBufferPointer { piece in
            Result { () throws(ParseError) in try scanner.scan(piece, into: &builder) }
        }
        try result.get()
        start = end
    }
    try scanner.finish(into: &builder)
    return (builder.settled(), scanner.mappingsVisited)
}
