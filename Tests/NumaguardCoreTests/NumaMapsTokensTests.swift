import XCTest

@testable import NumaguardCore

/// The scanner reads a resident line's usual tokens (`NumaMapsTokens.usualToken`) apart from
/// its general token loop; the two must read every line alike: the same mapping, or the same
/// error at the same line and column for the same reason.
final class NumaMapsTokensTests: XCTestCase {
    private enum Outcome: Equatable {
        case mappings([Mapping])
        case refused(line: Int?, column: Int?, reason: String)
    }

    private func outcome(_ text: String, usual: Bool, chunk: Int = 4096) -> Outcome {
        var scanner = NumaMapsScanner(keepsFilePaths: true)
        scanner.readsUsualTokens = usual
        var seen: [Mapping] = []
        let bytes = Array(text.utf8)
        do {
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + chunk)
                try bytes[start..<end].withUnsafeBufferPointer { piece in try scanner.scan(piece) { seen.append($0) } }
                start = end
            }
            try scanner.finish { seen.append($0) }
            return .mappings(seen)
        } catch let error as ParseError {
            return .refused(line: error.line, column: error.column, reason: error.reason)
        } catch {
            return .refused(line: nil, column: nil, reason: "not a ParseError: \(error)")
        }
    }

    private func assertReadAlike(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outcome(text, usual: true), outcome(text, usual: false), text, file: file, line: line)
    }

    /// The keys as the words `usualToken` compares: little-endian, first byte lowest.
    func testKeysAreTheirBytes() {
        XCTAssertEqual(NumaMapsTokens.key("anon="), 0x3D_6E6F_6E61)
        XCTAssertEqual(NumaMapsTokens.key("kernelpa"), 0x6170_6C65_6E72_656B)
        XCTAssertEqual(NumaMapsTokens.key("kernelpagesize_kB="), NumaMapsTokens.key("kernelpa"), "eight bytes at most")
    }

    /// The usual reader takes each usual token itself (were it to give every token to the
    /// general loop, the comparisons below would still agree): its counter or node, its value
    /// and where it ends, whether a space, more tokens or the line's end follows.
    func testTheUsualTokensAreReadByTheUsualReader() {
        func read(_ text: String, end: Int? = nil) -> NumaMapsTokens.UsualToken? {
            Array(text.utf8).withUnsafeBufferPointer { bytes in
                bytes.baseAddress.flatMap { NumaMapsTokens.usualToken($0, 0, end ?? bytes.count) }
            }
        }
        let usual: [(String, NumaMapsTokens.Counter?, Int, Int)] = [
            ("anon=12 dirty=1", .anon, -1, 12), ("dirty=7 N0=7", .dirty, -1, 7), ("active=0 N0=1", .active, -1, 0),
            ("mapped=3 N0=3", .mapped, -1, 3), ("mapmax=99", .mapmax, -1, 99), ("kernelpagesize_kB=2048", .pageSize, -1, 2048),
            ("N0=5 kernelpagesize_kB=4", nil, 0, 5), ("N1023=1 kernelpagesize_kB=4", nil, 1023, 1), ("anon=" + String(repeating: "9", count: 18), .anon, -1, 999_999_999_999_999_999),
        ]
        for (text, counter, node, value) in usual {
            let token = read(text)
            XCTAssertNotNil(token, text)
            XCTAssertEqual(token?.counter, counter, text)
            XCTAssertEqual(token?.node, node, text)
            XCTAssertEqual(token?.value, value, text)
            XCTAssertEqual(token?.end, text.firstIndex(of: " ").map { text.utf8.distance(from: text.startIndex, to: $0) } ?? text.utf8.count, text)
        }
        // Left to the general loop: short tokens, 19 digits, nodes past 1023 or of five digits,
        // other counters, and anything else.
        for text in ["anon=1", "anon=" + String(repeating: "9", count: 19), "N1024=1 x", "N10000=1", "swapcache=1", "writeback=1",
                     "file=/lib/x.so", "heap anon=1", "anon=1x dirty=1", "kernelpagesize_kb=4", "Anon=12 x"] {
            XCTAssertNil(read(text), text)
        }
        XCTAssertNil(read("dirty=12 N0=1", end: 7), "the token must end at the line's end or a space")
    }

    /// Each token the usual reader takes, and every near miss of one: values of 0 to 20
    /// digits, leading zeros, signs and letters; node ids up to and past the largest Linux
    /// has; keys cut short, misspelt or bare; tokens at the line's end shorter than a word.
    func testEveryUsualTokenAndItsNearMissesReadAsTheGeneralLoopReadsThem() {
        let values = ["0", "1", "007", "42", String(repeating: "9", count: 18), "1" + String(repeating: "0", count: 18),
                      String(repeating: "9", count: 19), String(repeating: "9", count: 20), "", "x", "1x", "-1", "+1", "1=2"]
        let keys = ["anon", "dirty", "mapped", "mapmax", "active", "swapcache", "writeback", "kernelpagesize_kB",
                    "ano", "dirt", "mappe", "mapmaxx", "activ", "kernelpagesize_kb", "kernelpagesize_kX", "kernelpa",
                    "N0", "N1", "N01", "N1023", "N1024", "N9999", "N12345", "N", "Nx", "N-1", "n0"]
        var lines = 0
        for key in keys {
            for value in values {
                for token in ["\(key)=\(value)", "\(key)\(value)", key] {
                    // In the middle of a line, at its end, and as its only counter.
                    assertReadAlike("7f0000001000 default \(token) anon=1 N0=1 kernelpagesize_kB=4")
                    assertReadAlike("7f0000001000 default anon=1 N0=1 kernelpagesize_kB=4 \(token)")
                    assertReadAlike("7f0000001000 default \(token)")
                    assertReadAlike("7f0000001000 default N0=1 \(token) kernelpagesize_kB=4\n7f0000002000 bind:0 \(token)  N0=2")
                    lines += 5
                }
            }
        }
        XCTAssertGreaterThan(lines, 5000)
        // The general loop is what is compared with: it must still refuse what it refused.
        XCTAssertEqual(outcome("7f0000001000 default N0=x kernelpagesize_kB=4", usual: true),
                       .refused(line: 1, column: 25, reason: "\"N0\" needs a decimal count"))
        XCTAssertEqual(outcome("7f0000001000 default N1024=1 kernelpagesize_kB=4", usual: true),
                       .refused(line: 1, column: 23, reason: "node 1024 is beyond the largest node id Linux has (1023)"))
    }

    /// Lines made at random from the tokens above and their pieces (a seeded generator, so a
    /// failure repeats), cut into chunks of every size.
    func testRandomLinesReadAlike() {
        var generator = SplitMix(state: 0x6E75_6D61)
        let pieces = ["anon=", "dirty=", "mapped=", "mapmax=", "active=", "kernelpagesize_kB=", "N0=", "N1=", "N1023=",
                      "N1024=", "1", "0", "99999999999999999999", "x", " ", "  ", "=", "N", "file=/a", "heap", "stack", "huge"]
        for _ in 0..<3000 {
            let count = Int.random(in: 0...8, using: &generator)
            let tail = (0..<count).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &generator)] }.joined()
            // The second line differs after its address (another policy), so that it is read
            // too rather than taken as the first again.
            let text = "7f0000001000 default " + tail + "\n7f0000002000 bind:0 " + tail
            let chunk = Int.random(in: 1...80, using: &generator)
            XCTAssertEqual(outcome(text, usual: true, chunk: chunk), outcome(text, usual: false, chunk: chunk), text)
        }
    }

    func testRecordedNumaMapsReadAlike() {
        let files = RecordedFiles.named(["numa_maps"])
        XCTAssertGreaterThan(files.count, 100)
        for file in files {
            let usual = outcome(file.text, usual: true)
            XCTAssertEqual(usual, outcome(file.text, usual: false), file.path)
            guard case .mappings = usual else { return XCTFail("\(file.path): \(usual)") }
        }
    }
}
