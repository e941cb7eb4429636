import XCTest
@testable import NumaguardCore

/// `MemoryTallyBuilder` sums the pages of lines whose bytes go to the same place before it
/// adds them (its batches, on nodes 0 to `batchNodes - 1`), and adds a shape's repeats as one
/// product. Whatever the lines, the tally must be `MemoryTally.add` of every mapping parsed
/// alone: the same sums, policies in the order first seen, each policy's bytes as long as
/// its own highest node.
final class MemoryTallyBuilderTests: XCTestCase {
    /// Lines that never repeat one another (each has its own `dirty=` count), so every one is
    /// parsed and batched: many policies (more than a batch index has room for, so batches are
    /// flushed by others), categories and backings, nodes inside and outside the batches'
    /// range in one line, a node named with no pages, huge pages, and counts whose sums
    /// saturate.
    func testBatchedPagesAreEveryMappingAdded() throws {
        let policies = ["default", "bind:0", "prefer:1", "interleave:0-3", "local", "bind:2", "bind:3",
                        "prefer:0", "interleave:0-1", "bind:1", "prefer (many):0-1", "bind=static:0"]
        let shapes = [
            "anon=%p N0=%p kernelpagesize_kB=4",
            "heap anon=%p N1=%p N3=%q kernelpagesize_kB=4",
            "stack anon=%p N0=%q N7=%p kernelpagesize_kB=4",
            "file=/usr/lib/libx.so mapped=%p N2=%p kernelpagesize_kB=4",
            "file=/srv/data anon=1 mapped=%p N0=%p N1=%q kernelpagesize_kB=4",
            "anon=%p N0=%p N9=%q kernelpagesize_kB=4",
            "huge anon=%p N1=%p kernelpagesize_kB=2048",
            "anon=%p N5=0 N0=%p kernelpagesize_kB=4",
            "anon=%p N1023=%p kernelpagesize_kB=4",
            "anon=2000000000000000 N0=2000000000000000 kernelpagesize_kB=4",
        ]
        var generator = SplitMix(state: 17)
        let lines = (0..<3000).map { index -> String in
            let pages = 1 + Int(generator.next() % 300), other = Int(generator.next() % 50)
            let tokens = shapes[Int(generator.next() % UInt64(shapes.count))]
                .replacingOccurrences(of: "%p", with: String(pages))
                .replacingOccurrences(of: "%q", with: String(other))
            let policy = policies[Int(generator.next() % UInt64(policies.count))]
            let address = String(0x7f00_0000_0000 + index * 0x1000, radix: 16)
            // A policy of its own whose highest node has no pages: its bytes still reach node 5.
            if index % 10 == 3 { return "\(address) bind:5 dirty=\(index) anon=\(pages) N5=0 N0=\(pages) kernelpagesize_kB=4" }
            return "\(address) \(policy) dirty=\(index) \(tokens)"
        }
        let text = lines.joined(separator: "\n")
        var every = MemoryTally()
        for mapping in try NumaMapsParser.parse(text) { every.add(mapping) }
        XCTAssertEqual(every.policies.count, policies.count + 1)
        XCTAssertEqual(every.policies.first { $0.policy == MemoryPolicy(mode: .bind, nodes: IDSet([5])) }?.bytes.count, 6)
        XCTAssertEqual(every.bytes(.private, on: 0), Int.max, "the saturating lines saturate")
        for chunk in [7, 4096] {
            let (tally, visited) = try tallyInChunks(text, chunk: chunk)
            XCTAssertEqual(visited, lines.count)
            XCTAssertEqual(tally, every, "chunks of \(chunk)")
            XCTAssertEqual(tally.policies.map { $0.policy }, every.policies.map { $0.policy }, "policies in the order first seen")
            XCTAssertEqual(tally.policies.map { $0.bytes.count }, every.policies.map { $0.bytes.count }, "each policy's own nodes")
        }
    }

    /// Runs of one line between lines of other shapes: repeats are added as products, and
    /// batches take the new lines in between; both come to the mappings added one by one.
    func testRepeatsAndBatchesTogether() throws {
        var lines: [String] = []
        for block in 0..<200 {
            let pages = 1 + block % 7
            for repeatIndex in 0..<(1 + block % 5) {
                let address = String(0x7f00_0000_0000 + (block * 8 + repeatIndex) * 0x1000, radix: 16)
                lines.append("\(address) \(block % 3 == 0 ? "bind:0" : "default") anon=\(pages) dirty=\(pages) N0=\(pages) N2=\(block % 4) kernelpagesize_kB=4")
            }
        }
        let text = lines.joined(separator: "\n")
        var every = MemoryTally()
        for mapping in try NumaMapsParser.parse(text) { every.add(mapping) }
        XCTAssertEqual(try tallyInChunks(text, chunk: 4096).tally, every)
        XCTAssertEqual(try tallyInChunks(text, chunk: 33).tally, every)
    }
}
