import XCTest

@testable import NumaguardCore

/// A `NumaMapsTokenTemplate` learned from one line's tokens reads a later line only when it
/// is those tokens but for count digits, and then exactly as `NumaMapsLineSummary.read`
/// would; anything else it leaves to that reader.
final class NumaMapsTokenTemplateTests: XCTestCase {
    /// What a reader made of the tokens: nil when it did not take them.
    private struct Read: Equatable {
        var category: Int
        var backing: Int
        var pageBytes: Int
        var nodes: [Mapping.NodePages]
    }

    private func summary(_ tokens: [UInt8]) -> Read? {
        var summary = NumaMapsLineSummary()
        var nodes = NumaMapsLineSummary.Nodes(repeating: .init(node: 0, pages: 0))
        return tokens.withUnsafeBufferPointer { buffer -> Read? in
            guard let base = buffer.baseAddress, summary.read(base, 0, buffer.count, nodes: &nodes) else { return nil }
            return Read(category: summary.category, backing: summary.backing, pageBytes: summary.pageBytes,
                        nodes: (0..<summary.nodeCount).map { nodes[$0] })
        }
    }

    /// The template learned from `learned` reading `tokens` (with room after them to load
    /// whole words, as in a chunk).
    private func templated(_ learned: [UInt8], _ tokens: [UInt8], room: Int = 8) -> Read? {
        var template = NumaMapsTokenTemplate()
        var summary = NumaMapsLineSummary()
        var nodes = NumaMapsLineSummary.Nodes(repeating: .init(node: 0, pages: 0))
        learned.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, summary.read(base, 0, buffer.count, nodes: &nodes) else { return }
            template.learn(base, 0, buffer.count, summary)
        }
        let padded = tokens + [UInt8](repeating: 0x20, count: room)
        return padded.withUnsafeBufferPointer { buffer -> Read? in
            guard let base = buffer.baseAddress,
                  template.read(base, 0, tokens.count, limit: buffer.count, into: &summary, nodes: &nodes) else { return nil }
            return Read(category: summary.category, backing: summary.backing, pageBytes: summary.pageBytes,
                        nodes: (0..<summary.nodeCount).map { nodes[$0] })
        }
    }

    private let layouts = [
        " anon=3 dirty=3 active=0 N0=3 kernelpagesize_kB=4",
        " file=/usr/lib/x86_64-linux-gnu/libc.so.6 mapped=40 mapmax=90 N1=40 kernelpagesize_kB=4",
        " file=/srv/db anon=2 dirty=2 mapped=9 N0=5 N1=4 kernelpagesize_kB=4",
        " heap anon=12 dirty=12 N0=12 kernelpagesize_kB=4",
        " stack anon=33 dirty=33 active=1 N1=33 kernelpagesize_kB=4",
        " huge anon=2 dirty=2 N0=1 N1=1 kernelpagesize_kB=2048",
        " anon=1 swapcache=1 writeback=1 N0=1 N2=0 N3=7 kernelpagesize_kB=4",
    ]

    /// Every layout reads itself, and itself with other digits of the same widths, as the
    /// token reader does; a digit changed to any other byte, or any fixed byte changed, and
    /// the template leaves the line (and the reader says what it makes of it).
    func testEverySingleByteChangeIsReadAsTheReaderReadsIt() throws {
        for layout in layouts {
            let learned = Array(layout.utf8)
            XCTAssertNotNil(summary(learned), layout)
            XCTAssertEqual(templated(learned, learned), summary(learned), layout)
            for position in learned.indices {
                for byte in [UInt8(0x30), 0x35, 0x39, 0x2F, 0x3A, 0x20, 0x3D, 0x61, 0x4E, 0x00, 0xB9, 0xFF] where byte != learned[position] {
                    var changed = learned
                    changed[position] = byte
                    let viaTemplate = templated(learned, changed)
                    let isDigit = learned[position] &- 0x30 < 10, toDigit = byte &- 0x30 < 10
                    if viaTemplate != nil {
                        // Only a count's digit changed to a digit may be taken...
                        XCTAssertTrue(isDigit && toDigit, "\(layout): byte \(position) to \(byte) taken")
                        // ...and then as the reader takes it.
                        XCTAssertEqual(viaTemplate, summary(changed), "\(layout): byte \(position) to \(byte)")
                    }
                }
            }
        }
    }

    /// Digits of counts change freely (the reader's values, sizes and backings follow), and a
    /// count one digit wider or narrower is another layout.
    func testCountsFollowTheirDigits() throws {
        let learned = Array(" file=/srv/db anon=2 dirty=2 mapped=9 N0=5 N1=4 kernelpagesize_kB=4".utf8)
        for (anon, first, second) in [(0, 5, 4), (9, 5, 4), (4, 0, 0), (1, 9, 9), (7, 3, 4)] {
            let line = Array(" file=/srv/db anon=\(anon) dirty=2 mapped=9 N0=\(first) N1=\(second) kernelpagesize_kB=4".utf8)
            XCTAssertNotNil(templated(learned, line))
            XCTAssertEqual(templated(learned, line), summary(line), "anon=\(anon) N0=\(first) N1=\(second)")
        }
        XCTAssertNil(templated(learned, Array(" file=/srv/db anon=12 dirty=2 mapped=9 N0=5 N1=4 kernelpagesize_kB=4".utf8)))
        XCTAssertNil(templated(learned, Array(" file=/srv/db anon=2 dirty=2 mapped=9 N0=5 N1=4 kernelpagesize_kB=".utf8)))
    }

    /// Words are loaded only inside the buffer: tokens that end it (each read of numa_maps
    /// returns whole lines) are read with their last eight bytes loaded backwards, and only
    /// tokens shorter than eight bytes at its very end are left to the reader; tokens longer
    /// than a template holds, or with more node counts, leave none.
    func testBoundsOfWhatIsLearnedAndRead() throws {
        for layout in layouts {
            let learned = Array(layout.utf8)
            for room in [0, 1, 7, 8] {
                XCTAssertEqual(templated(learned, learned, room: room), summary(learned), "\(layout), \(room) bytes after it")
            }
        }
        let short = Array(" heap".utf8)
        XCTAssertNotNil(summary(short))
        XCTAssertEqual(templated(short, short, room: 3), summary(short))
        XCTAssertNil(templated(short, short, room: 2), "eight bytes from its start would pass the buffer")
        let long = Array((" file=/srv/" + String(repeating: "p", count: 120) + " mapped=40 N1=40 kernelpagesize_kB=4").utf8)
        XCTAssertGreaterThan(long.count, NumaMapsTokenTemplate.longest)
        XCTAssertNotNil(summary(long))
        XCTAssertNil(templated(long, long))
        let fiveNodes = Array(" anon=5 N0=1 N1=1 N2=1 N3=1 N4=1 kernelpagesize_kB=4".utf8)
        XCTAssertNotNil(summary(fiveNodes))
        XCTAssertNil(templated(fiveNodes, fiveNodes))
    }

    /// Counts wide enough that a line's bytes may pass 2^63 are checked as the reader checks
    /// them: a line of the layout that overflows is left to it (which turns it down).
    func testWideCountsAreSizeChecked() throws {
        let learned = Array(" anon=1 N0=1000000000000000 kernelpagesize_kB=4".utf8)
        XCTAssertEqual(templated(learned, learned), summary(learned))
        let over = Array(" anon=1 N0=9000000000000000 kernelpagesize_kB=4".utf8)
        XCTAssertNil(summary(over), "9e15 pages of 4 KiB pass 2^63 bytes")
        XCTAssertNil(templated(learned, over))
    }

    /// Through the scanner and the builder: lines of one layout (each its own counts, so no
    /// line repeats another), of two layouts in turn, of a layout that changes for good, and
    /// of no common layout, at several chunk sizes, tally as every mapping parsed alone.
    func testScannedLinesTallyAsEveryMappingAdded() throws {
        var generator = SplitMix(state: 41)
        func digits(_ width: Int) -> String { String(Int(generator.next() % UInt64(9 * Int(pow(10.0, Double(width - 1))))) + Int(pow(10.0, Double(width - 1)))) }
        let shapes: [(Int) -> String] = [
            { _ in "anon=\(digits(1)) dirty=\(digits(1)) active=0 N0=\(digits(1)) kernelpagesize_kB=4" },
            { index in index % 2 == 0 ? "anon=\(digits(1)) dirty=\(digits(1)) N0=\(digits(1)) kernelpagesize_kB=4"
                                     : "heap anon=\(digits(2)) N1=\(digits(2)) N0=0 kernelpagesize_kB=4" },
            { index in index < 300 ? "anon=\(digits(1)) N0=\(digits(1)) kernelpagesize_kB=4" : "file=/a mapped=\(digits(3)) N1=\(digits(3)) kernelpagesize_kB=4" },
            { _ in "anon=\(digits(1 + Int(generator.next() % 5))) dirty=1 N0=\(digits(1 + Int(generator.next() % 6))) kernelpagesize_kB=4" },
        ]
        for (number, shape) in shapes.enumerated() {
            let text = (0..<600).map { index in
                "\(String(0x7f00_0000_0000 + index * 0x1000, radix: 16)) \(["default", "bind:0", "prefer:1"][index % 3]) dirty=\(index) \(shape(index))"
            }.joined(separator: "\n")
            var every = MemoryTally()
            for mapping in try NumaMapsParser.parse(text) { every.add(mapping) }
            for chunk in [1, 61, 4096] {
                XCTAssertEqual(try tallyInChunks(text, chunk: chunk).tally, every, "layouts \(number), chunks of \(chunk)")
            }
        }
    }
}
