import XCTest
@testable import NumaguardCore

/// MemoryTally keeps every sum in one flat array of per-node rows (categories, backings, then a
/// slot per policy, widened when a policy first appears). These check it against the plain
/// definition, a dictionary per sum, over every numa_maps recorded from real kernels (multi-node
/// guests among them) and over hand-made mappings that make the rows grow both ways.
final class MemoryTallyTests: XCTestCase {
    /// The definition, written the slow and obvious way.
    private struct Reference {
        var category: [MemoryTally.Category: [Int: Int]] = [:]
        var backing: [MemoryTally.Backing: [Int: Int]] = [:]
        var policies: [(policy: MemoryPolicy, mappings: Int, bytes: [Int: Int], width: Int)] = []
        var mappings = 0

        mutating func add(_ mapping: Mapping) {
            mappings += 1
            let index: Int
            if let found = policies.firstIndex(where: { $0.policy == mapping.policy }) {
                index = found
            } else {
                policies.append((mapping.policy, 0, [:], 0))
                index = policies.count - 1
            }
            policies[index].mappings += 1
            let pageBytes = KernelArithmetic.product(mapping.pageSizeKiB ?? 0, 1024)
            for entry in mapping.nodePages where entry.node >= 0 && entry.node <= KernelArithmetic.maximumNode {
                let bytes = KernelArithmetic.product(entry.pages, pageBytes)
                category[MemoryTally.category(of: mapping), default: [:]][entry.node, default: 0] =
                    KernelArithmetic.sum(category[MemoryTally.category(of: mapping)]?[entry.node] ?? 0, bytes)
                backing[MemoryTally.backing(of: mapping), default: [:]][entry.node, default: 0] =
                    KernelArithmetic.sum(backing[MemoryTally.backing(of: mapping)]?[entry.node] ?? 0, bytes)
                policies[index].bytes[entry.node] = KernelArithmetic.sum(policies[index].bytes[entry.node] ?? 0, bytes)
                policies[index].width = max(policies[index].width, entry.node + 1)
            }
        }
    }

    private func assertAgree(_ tally: MemoryTally, _ reference: Reference, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(tally.mappings, reference.mappings, what, file: file, line: line)
        let width = 1 + (reference.category.values.flatMap(\.keys).max() ?? -1)
        for node in 0..<(width + 2) {
            for category in MemoryTally.Category.allCases {
                XCTAssertEqual(tally.bytes(category, on: node), reference.category[category]?[node] ?? 0,
                               "\(what): \(category) on node \(node)", file: file, line: line)
            }
            for backing in MemoryTally.Backing.allCases {
                XCTAssertEqual(tally.bytes(backing, on: node), reference.backing[backing]?[node] ?? 0,
                               "\(what): \(backing) on node \(node)", file: file, line: line)
            }
        }
        let expectedNodes = (0..<width).filter { node in reference.category.values.contains { ($0[node] ?? 0) != 0 } }
        XCTAssertEqual(tally.nodes, expectedNodes, what, file: file, line: line)
        for backing in MemoryTally.Backing.allCases {
            let values = reference.backing[backing] ?? [:]
            XCTAssertEqual(tally.total(backing), values.values.reduce(0, KernelArithmetic.sum), what, file: file, line: line)
            XCTAssertEqual(tally.bytes(backing, outside: IDSet([0])),
                           values.filter { $0.key != 0 }.values.reduce(0, KernelArithmetic.sum), what, file: file, line: line)
        }
        XCTAssertEqual(tally.policies.map(\.policy), reference.policies.map(\.policy), what, file: file, line: line)
        XCTAssertEqual(tally.policies.map(\.mappings), reference.policies.map(\.mappings), what, file: file, line: line)
        XCTAssertEqual(tally.policies.map(\.bytes), reference.policies.map { usage in (0..<usage.width).map { usage.bytes[$0] ?? 0 } },
                       what, file: file, line: line)
    }

    func testEveryRecordedNumaMapsAgreesWithTheDefinition() throws {
        let files = RecordedFiles.named(["numa_maps"])
        XCTAssertGreaterThan(files.count, 100)
        var multiNode = 0
        for file in files {
            let mappings = try NumaMapsParser.parse(file.text)
            var tally = MemoryTally(), reference = Reference()
            for mapping in mappings {
                tally.add(mapping)
                reference.add(mapping)
            }
            assertAgree(tally, reference, file.path)
            if tally.nodes.count > 1 { multiNode += 1 }
        }
        XCTAssertGreaterThan(multiNode, 0, "some recorded processes hold pages on several nodes")
    }

    /// A policy first seen after several nodes have rows widens every row, and a node first
    /// seen after several policies gets a row with a slot for each: no sum moves.
    func testRowsGrowByNodeAndByPolicyWithoutMovingASum() throws {
        let lines = [
            "7f0000000000 default anon=3 dirty=3 N3=3 kernelpagesize_kB=4",
            "7f0000010000 bind:1 anon=2 dirty=2 N0=1 N1=1 kernelpagesize_kB=4",
            "7f0000020000 default heap anon=5 dirty=5 N0=5 kernelpagesize_kB=4",
            "7f0000030000 interleave:0-5 anon=6 dirty=6 N0=1 N5=5 kernelpagesize_kB=4",
            "7f0000040000 bind:1 file=/lib/x.so mapped=4 N1=4 kernelpagesize_kB=4",
            "7f0000050000 prefer:2 huge anon=1 dirty=1 N2=1 kernelpagesize_kB=2048",
            "7f0000060000 default stack anon=2 dirty=2 N7=0 kernelpagesize_kB=4",
            "7f0000070000 bind:1 file=/lib/y.so anon=1 mapped=3 N1=3 kernelpagesize_kB=4",
        ]
        var tally = MemoryTally(), reference = Reference()
        for (index, line) in lines.enumerated() {
            let mapping = try NumaMapsParser.parseLine(line)
            tally.add(mapping)
            reference.add(mapping)
            assertAgree(tally, reference, "after line \(index + 1)")
        }
        XCTAssertEqual(tally.policies.map(\.bytes.count), [8, 2, 6, 3], "each policy's bytes reach its own highest node")
        XCTAssertEqual(tally.bytes(.huge, on: 2), 2048 * 1024)
        XCTAssertEqual(tally.bytes(.mixed, on: 1), 3 * 4096)
    }

    /// A tally finds a policy by identity among its first 16 and by hashing beyond them, and a
    /// policy equal to a listed one but built apart (by another scanner) counts in that row.
    func testPoliciesFoundByIdentityAndByValue() throws {
        let text = (0..<240).map { index in
            "\(String(0x7f00_0000_0000 + index * 0x1000, radix: 16)) bind:\(index % 24) anon=1 dirty=1 N0=1 kernelpagesize_kB=4"
        }.joined(separator: "\n")
        let shared = try NumaMapsParser.parse(text)
        var tally = MemoryTally(), reference = Reference()
        for (index, mapping) in shared.enumerated() {
            let apart = index % 3 == 0 ? try NumaMapsParser.parseLine(text.split(separator: "\n")[index]) : mapping
            XCTAssertEqual(apart, mapping)
            tally.add(apart)
            reference.add(apart)
        }
        assertAgree(tally, reference, "24 policies")
        XCTAssertEqual(tally.policies.map(\.policy), (0..<24).map { MemoryPolicy(mode: .bind, nodes: IDSet([$0])) })
        XCTAssertEqual(tally.policies.map(\.mappings), Array(repeating: 10, count: 24))
        // Beyond 16 policies, found by identity or by value in dictionaries: the same rows.
        var fresh = MemoryTally()
        for mapping in shared { fresh.add(mapping) }
        for mapping in shared.reversed() { fresh.add(try NumaMapsParser.parseLine("7f0000000000 \(mapping.policy.kernelSpelling) anon=1 N0=1 kernelpagesize_kB=4")) }
        XCTAssertEqual(fresh.policies.map(\.mappings), Array(repeating: 20, count: 24))
    }

    /// What a tally keeps is bounded by what its lines name: the scanner refuses a file's
    /// 4097th distinct policy at its line and column, and 4096 policies that each reach node
    /// 1023 are tallied in one pass, each keeping only its own bytes.
    func testDistinctPoliciesAreBounded() throws {
        func file(_ count: Int) -> [UInt8] {
            // Distinct by mode and node (no kernel prints a node above 1023).
            let modes = ["bind", "interleave", "prefer", "prefer (many)", "weighted interleave"]
            return Array((0..<count).map { "7f\(String($0, radix: 16)) \(modes[$0 / 1024]):\($0 % 1024) anon=1 dirty=1 N1023=1 kernelpagesize_kB=4\n" }.joined().utf8)
        }
        var tally = MemoryTally()
        var scanner = NumaMapsScanner(keepsFilePaths: false)
        try file(NumaMapsScanner.maximumPolicies).withUnsafeBufferPointer { bytes in
            try scanner.scan(bytes) { tally.add($0) }
        }
        XCTAssertEqual(tally.policies.count, 4096)
        XCTAssertEqual(tally.mappings, 4096)
        XCTAssertEqual(tally.bytes(.private, on: 1023), 4096 * 4096)
        XCTAssertEqual(tally.policies.last?.bytes.count, 1024)

        var refusing = NumaMapsScanner(keepsFilePaths: false)
        XCTAssertThrowsError(try file(4097).withUnsafeBufferPointer { bytes in try refusing.scan(bytes) { _ in } }) { error in
            let parsed = error as? ParseError
            XCTAssertEqual(parsed?.what, "numa_maps line 4097")
            XCTAssertEqual(parsed?.column, 8, "the policy's column: 7f1000 weighted interleave:0")
            XCTAssertEqual(parsed?.reason, "more than 4096 distinct memory policies in one numa_maps")
        }
    }

    /// Equal sums are equal tallies whatever the order, and a different sum is not equal.
    func testEqualityIsTheSums() throws {
        let mappings = try NumaMapsParser.parse("""
            7f0000000000 default anon=3 dirty=3 N3=3 kernelpagesize_kB=4
            7f0000010000 default anon=2 dirty=2 N0=1 N1=1 kernelpagesize_kB=4
            7f0000020000 default heap anon=5 dirty=5 N0=5 kernelpagesize_kB=4

            """)
        var forward = MemoryTally(), backward = MemoryTally()
        mappings.forEach { forward.add($0) }
        mappings.reversed().forEach { backward.add($0) }
        XCTAssertEqual(forward, backward)
        var more = forward
        more.add(mappings[0])
        XCTAssertNotEqual(forward, more)
    }
}
