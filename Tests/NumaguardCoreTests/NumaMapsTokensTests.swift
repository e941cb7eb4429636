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
            let text = "7f0000001000 default " + tail + "\n7f0000002000 default " + tail
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
