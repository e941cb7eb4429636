import NumaguardCore
import XCTest

final class MemoryPolicyTests: XCTestCase {
    /// Every spelling mm/mempolicy.c mpol_to_str can print.
    func testParsesEveryKernelSpelling() throws {
        let cases: [(String, MemoryPolicy)] = [
            ("default", .init(mode: .default)),
            ("local", .init(mode: .local)),
            ("bind:0", .init(mode: .bind, nodes: IDSet([0]))),
            ("bind:0-1", .init(mode: .bind, nodes: IDSet([0, 1]))),
            ("prefer:1", .init(mode: .preferred, nodes: IDSet([1]))),
            ("prefer (many):0,2", .init(mode: .preferredMany, nodes: IDSet([0, 2]))),
            ("interleave:0-3", .init(mode: .interleave, nodes: IDSet([0, 1, 2, 3]))),
            ("weighted interleave:0-1", .init(mode: .weightedInterleave, nodes: IDSet([0, 1]))),
            ("bind=static:1", .init(mode: .bind, nodes: IDSet([1]), staticNodes: true)),
            ("interleave=relative:0-1", .init(mode: .interleave, nodes: IDSet([0, 1]), relativeNodes: true)),
            ("bind=balancing:0", .init(mode: .bind, nodes: IDSet([0]), balancing: true)),
            ("bind=static|balancing:0", .init(mode: .bind, nodes: IDSet([0]), staticNodes: true, balancing: true)),
            ("prefer=relative|balancing:1", .init(mode: .preferred, nodes: IDSet([1]), relativeNodes: true, balancing: true)),
        ]
        for (text, expected) in cases {
            let parsed = try MemoryPolicy.parse(text)
            XCTAssertEqual(parsed, expected, text)
            XCTAssertEqual(parsed.kernelSpelling, text, "round trip of \(text)")
        }
    }

    func testPreferManyIsNotMistakenForPrefer() throws {
        XCTAssertEqual(try MemoryPolicy.parse("prefer (many):1").mode, .preferredMany)
        XCTAssertEqual(try MemoryPolicy.parse("prefer:1").mode, .preferred)
    }

    func testRejectsUnknownModesFlagsAndTrailingText() {
        XCTAssertThrowsError(try MemoryPolicy.parse("bogus:0"))
        XCTAssertThrowsError(try MemoryPolicy.parse("bind=sticky:0")) { error in
            XCTAssertEqual((error as? ParseError)?.column, 6)
        }
        XCTAssertThrowsError(try MemoryPolicy.parse("bind:"))
        // Found by the fuzzer: the kernel never prints both, and kernelSpelling could not round-trip them.
        XCTAssertThrowsError(try MemoryPolicy.parse("bind=static|relative:0"))
        XCTAssertThrowsError(try MemoryPolicy.parse("bind:0,x")) { error in
            XCTAssertEqual((error as? ParseError)?.column, 8, "column of the bad element in the whole spelling")
        }
        XCTAssertThrowsError(try NumaMapsParser.parseLine("7f00 bind:0,x N0=1 kernelpagesize_kB=4")) { error in
            XCTAssertEqual((error as? ParseError)?.column, 13, "column within the numa_maps line")
        }
        XCTAssertThrowsError(try MemoryPolicy.parse("bind:0x"))
        XCTAssertThrowsError(try MemoryPolicy.parse("defaultx"))
    }

    func testInterleaveModesAreFlagged() {
        XCTAssertTrue(MemoryPolicy.Mode.interleave.isInterleave)
        XCTAssertTrue(MemoryPolicy.Mode.weightedInterleave.isInterleave)
        XCTAssertFalse(MemoryPolicy.Mode.bind.isInterleave)
    }

    /// No kernel prints a node above its largest id: refused at the node list, so a captured
    /// file cannot make each policy a set of 65,536 bits to hash.
    func testNodesBeyondTheLargestNodeIdAreRefused() throws {
        XCTAssertEqual(try MemoryPolicy.parse("bind:1023").nodes, IDSet([1023]))
        for text in ["bind:1024", "interleave:0-65536", "prefer (many):0,2000"] {
            XCTAssertThrowsError(try MemoryPolicy.parse(text), text) { error in
                XCTAssertTrue((error as? ParseError)?.reason.contains("beyond the largest node id Linux has (1023)") ?? false, "\(error)")
                XCTAssertEqual((error as? ParseError)?.column, text.utf8.count - text.split(separator: ":").last!.utf8.count + 1, text)
            }
        }
    }

    /// A policy's identity (what a tally compares, no reference held) is the same for the
    /// value and its copies, and differs when any field or the node set's storage differs, so
    /// a field added later must be in it to keep two policies from being taken as one.
    func testSameValueIsIdentityAndEveryFieldCounts() throws {
        let policy = try MemoryPolicy.parse("bind=static:0-1")
        let copy = policy
        XCTAssertTrue(copy.isSameValue(as: policy))
        XCTAssertEqual(copy.identity, policy.identity)
        let apart = try MemoryPolicy.parse("bind=static:0-1")
        XCTAssertEqual(apart, policy)
        XCTAssertFalse(apart.isSameValue(as: policy), "equal, built apart: no storage shared")
        var changed = [policy, policy, policy, policy, policy]
        changed[0].mode = .preferred
        changed[1].staticNodes = false
        changed[2].relativeNodes = true
        changed[3].balancing = true
        changed[4].nodes.insert(2)
        for (index, other) in changed.enumerated() {
            XCTAssertFalse(other.isSameValue(as: policy), "field \(index)")
            XCTAssertNotEqual(other.identity, policy.identity, "field \(index)")
        }
        XCTAssertEqual(Mirror(reflecting: policy).children.count, 5, "a new field belongs in Identity")
    }
}
