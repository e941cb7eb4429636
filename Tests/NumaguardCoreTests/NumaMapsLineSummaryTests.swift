import XCTest

@testable import NumaguardCore

/// A tally's scanner reads a parsed line's tokens into a `NumaMapsLineSummary` instead of a
/// `Mapping` when the summary takes them, and parses the line in full when it does not. Either
/// way the tally must be the one adding every mapping of the full parse makes, and a line the
/// full parse refuses must be refused the same (line, column, reason).
final class NumaMapsLineSummaryTests: XCTestCase {
    private enum Outcome: Equatable {
        case tally(MemoryTally)
        case refused(line: Int?, column: Int?, reason: String)
    }

    private func refusal(_ error: any Error) -> Outcome {
        guard let error = error as? ParseError else { return .refused(line: nil, column: nil, reason: "not a ParseError: \(error)") }
        return .refused(line: error.line, column: error.column, reason: error.reason)
    }

    /// The tally as inspect builds it (the scanner compiled for a builder), fed `chunk` bytes
    /// at a time.
    private func summarized(_ text: String, chunk: Int = 4096) -> Outcome {
        do {
            return .tally(try tallyInChunks(text, chunk: chunk).tally)
        } catch {
            return refusal(error)
        }
    }

    /// Every mapping of the full parse added one by one.
    private func added(_ text: String) -> Outcome {
        do {
            var tally = MemoryTally()
            for mapping in try NumaMapsParser.parse(text) { tally.add(mapping) }
            return .tally(tally)
        } catch {
            return refusal(error)
        }
    }

    /// How many parsed lines reached the builder as summaries and as mappings.
    private func ways(_ text: String) throws -> (summaries: Int, mappings: Int, tally: MemoryTally) {
        var scanner = NumaMapsScanner(keepsFilePaths: false, keepsAddresses: false, keepsRecentMappings: false)
        var recorder = TallyRecorder()
        try Array(text.utf8).withUnsafeBufferPointer { bytes in try scanner.scan(bytes, into: &recorder) }
        try scanner.finish(into: &recorder)
        return (recorder.summaries, recorder.mappings, recorder.builder.settled())
    }

    private func assertTalliedAlike(_ text: String, chunk: Int = 4096, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(summarized(text, chunk: chunk), added(text), text, file: file, line: line)
    }

    /// Lines as kernels print them: anonymous, file-backed (private copies, page cache, both),
    /// heap, stack, hugetlb, swapped, under writeback, on several nodes, and with no resident
    /// pages. Each is read as a summary, and tallies as its mapping.
    func testTheKernelsLinesAreSummarized() throws {
        let lines = [
            "7f0000000000 default anon=3 dirty=3 active=0 N0=3 kernelpagesize_kB=4",
            "7f0000004000 bind:1 file=/usr/lib/x86_64-linux-gnu/libc.so.6 mapped=40 mapmax=90 N1=40 kernelpagesize_kB=4",
            "7f0000008000 default file=/opt/engine/data anon=2 dirty=2 mapped=10 N0=4 N1=6 kernelpagesize_kB=4",
            "7f000000c000 default file=/opt/engine/data anon=10 dirty=10 N0=10 kernelpagesize_kB=4",
            "55c0a09b4000 default heap anon=2 dirty=2 active=0 N0=2 kernelpagesize_kB=4",
            "7ffd00000000 default stack anon=9 dirty=9 N0=9 kernelpagesize_kB=4",
            "7f4000000000 bind:0-1 file=/mnt/huge/x huge dirty=2 N0=1 N1=1 kernelpagesize_kB=2048",
            "7f5000000000 interleave:0-3 anon=8 dirty=8 swapcache=2 writeback=1 N0=2 N1=2 N2=2 N3=2 kernelpagesize_kB=4",
            "7f6000000000 prefer:1 file=/etc/ld.so.cache",
            "7f7000000000 weighted interleave:0-1 anon=4 dirty=4 N0=2 N1=2 kernelpagesize_kB=4",
            "7f8000000000 prefer (many):0-1 anon=1 dirty=1 N1=1 kernelpagesize_kB=4",
            "7f9000000000 local anon=512 dirty=512 active=0 N0=512 kernelpagesize_kB=4",
        ]
        let text = lines.joined(separator: "\n") + "\n"
        let read = try ways(text)
        XCTAssertEqual(read.summaries, lines.count)
        XCTAssertEqual(read.mappings, 0)
        XCTAssertEqual(Outcome.tally(read.tally), added(text))
        XCTAssertEqual(summarized(text), added(text))
        // The figures themselves, so that agreeing with `added` is not all there is.
        let tally = read.tally
        XCTAssertEqual(tally.bytes(.heap, on: 0), 2 * 4096)
        XCTAssertEqual(tally.bytes(.stack, on: 0), 9 * 4096)
        XCTAssertEqual(tally.bytes(.huge, on: 1), 2 << 20)
        XCTAssertEqual(tally.bytes(.mixed, on: 1), 6 * 4096, "file-backed with 2 private of 10 pages")
        XCTAssertEqual(tally.bytes(.file, on: 1), 40 * 4096)
        XCTAssertEqual(tally.mappings, lines.count)
    }

    /// What the summary leaves to the full parse: old kernels' `stack:TID`, words and keys of
    /// a later kernel, a count of 19 digits, more node counts than a summary holds, short
    /// tokens at the line's end, and every kind of malformed line (which the full parse refuses
    /// with its column).
    func testWhatTheSummaryTurnsDownIsParsedInFull() throws {
        let nodes = (0..<40).map { "N\($0)=1" }.joined(separator: " ")
        let deferred = [
            "7f0000000000 default stack:1234 anon=1 dirty=1 N0=1 kernelpagesize_kB=4",
            "7f0000001000 default anon=1 dirty=1 shared N0=1 kernelpagesize_kB=4",
            "7f0000002000 default anon=1 future=7 N0=1 kernelpagesize_kB=4",
            "7f0000003000 default anon=1234567890123456789 N0=1 kernelpagesize_kB=4",
            "7f0000004000 default anon=40 \(nodes) kernelpagesize_kB=4",
            "7f0000005000 default N0=1 kernelpagesize_kB=4 anon=1",
        ]
        for line in deferred {
            let read = try ways(line)
            XCTAssertEqual(read.summaries, 0, line)
            XCTAssertEqual(read.mappings, 1, line)
            XCTAssertEqual(Outcome.tally(read.tally), added(line), line)
        }
        let refused = [
            "7f0000000000 default N0=1",
            "7f0000000000 default anon= N0=1 kernelpagesize_kB=4",
            "7f0000000000 default N1024=1 kernelpagesize_kB=4",
            "7f0000000000 default N0=\(Int.max) kernelpagesize_kB=4",
            "7f0000000000 default N0=999999999999999999 N1=999999999999999999 kernelpagesize_kB=2048",
            "7f0000000000 default N0=2000000000000000 N1=2000000000000000 kernelpagesize_kB=4",
            "7f0000000000 default kernelpagesize_kB=999999999999999999",
            "7f0000000000 default swapcache=x N0=1 kernelpagesize_kB=4",
            "7f0000000000 bogus:0 anon=1 N0=1 kernelpagesize_kB=4",
            "7g0000000000 default anon=1 N0=1 kernelpagesize_kB=4",
            "7f0000000000 default anon=1\tN0=1 kernelpagesize_kB=4",
        ]
        for line in refused {
            let outcome = summarized(line)
            guard case .refused = outcome else { return XCTFail("\(line): \(outcome)") }
            XCTAssertEqual(outcome, added(line), line)
        }
    }

    /// Every token the summary reads and its near misses, in the middle of a line, at its
    /// end and alone: keys cut short, misspelt, bare or followed by no value; values of 0 to
    /// 20 digits, with signs and letters; node ids up to and past the largest Linux has.
    func testEveryTokenAndItsNearMissesTallyAsTheirMappings() {
        let values = ["0", "1", "007", String(repeating: "9", count: 18), String(repeating: "9", count: 19),
                      String(repeating: "9", count: 20), "", "x", "1x", "-1", "1=2"]
        let keys = ["anon", "dirty", "mapped", "mapmax", "active", "swapcache", "writeback", "kernelpagesize_kB",
                    "swapcach", "writebac", "ano", "N0", "N1", "N1023", "N1024", "N12345", "N", "file"]
        let words = ["heap", "stack", "huge", "hea", "heaps", "stac", "stacks", "stack:1", "hug", "file", "file=", "file=/a",
                     "file=/a=b", "filex=/a", "shared"]
        var tokens: [String] = words
        for key in keys {
            for value in values { tokens += ["\(key)=\(value)", "\(key)\(value)"] }
            tokens.append(key)
        }
        for token in tokens {
            assertTalliedAlike("7f0000001000 default \(token) anon=1 N0=1 kernelpagesize_kB=4")
            assertTalliedAlike("7f0000001000 default file=/x anon=1 N0=1 kernelpagesize_kB=4 \(token)")
            assertTalliedAlike("7f0000001000 default \(token)")
            assertTalliedAlike("7f0000001000 default N0=1 \(token) kernelpagesize_kB=4\n7f0000002000 bind:0 \(token)  N0=2")
        }
        XCTAssertGreaterThan(tokens.count, 200)
    }

    /// Lines made at random from tokens and their pieces (a seeded generator, so a failure
    /// repeats), cut into chunks of every size.
    func testRandomLinesTallyAlike() {
        var generator = SplitMix(state: 0x7375_6D6D)
        let pieces = ["anon=", "dirty=", "mapped=", "mapmax=", "active=", "swapcache=", "writeback=", "kernelpagesize_kB=",
                      "N0=", "N1=", "N1023=", "N1024=", "1", "0", "4", "2048", "99999999999999999999", "x", " ", " ", " ", "  ",
                      "=", "N", "file=/a", "heap", "stack", "huge", "stack:9", "\t"]
        for _ in 0..<4000 {
            let count = Int.random(in: 0...10, using: &generator)
            let tail = (0..<count).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &generator)] }.joined()
            let text = "7f0000001000 default " + tail + "\n7f0000002000 bind:0 " + tail + "\n7f0000003000 default " + tail
            assertTalliedAlike(text, chunk: Int.random(in: 1...90, using: &generator))
        }
    }

    /// Every recorded numa_maps: the same tally, and most lines read as summaries.
    func testRecordedNumaMapsTallyAlike() throws {
        let files = RecordedFiles.named(["numa_maps"])
        XCTAssertGreaterThan(files.count, 100)
        var summaries = 0, mappings = 0
        for file in files {
            let outcome = summarized(file.text)
            XCTAssertEqual(outcome, added(file.text), file.path)
            guard case .tally = outcome else { return XCTFail("\(file.path): \(outcome)") }
            let read = try ways(file.text)
            summaries += read.summaries
            mappings += read.mappings
        }
        XCTAssertGreaterThan(summaries, 10 * mappings, "lines parsed in full: \(mappings), summarized: \(summaries)")
    }
}
