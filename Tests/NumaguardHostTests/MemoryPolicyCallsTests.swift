import CNuma
import Foundation
import NumaguardCore
import NumaguardHost
import XCTest

/// get_mempolicy through libnuma against the kernel's own account in /proc/self/numa_maps,
/// which prints the task policy for every mapping that has none of its own.
final class MemoryPolicyCallsTests: XCTestCase {
    private func heapPolicy() throws -> MemoryPolicy {
        guard let text = try? String(contentsOfFile: "/proc/self/numa_maps", encoding: .utf8) else {
            throw XCTSkip("this kernel has no numa_maps (no NUMA support)")
        }
        return try XCTUnwrap(try NumaMapsParser.parse(text).first { $0.kind == .heap }, "a heap mapping").policy
    }

    func testCurrentPolicyAgreesWithNumaMaps() throws {
        XCTAssertEqual(try MemoryPolicyCalls.current(), try heapPolicy())
    }

    /// Set a policy on this thread with the raw syscall, read it back both ways, restore it.
    func testReadsBackWhatWasSet() throws {
        let original = try MemoryPolicyCalls.current()
        defer { _ = set_mempolicy(MPOL_DEFAULT, nil, 0) }
        var mask: UInt = 1  // node 0, present on every NUMA kernel
        for (mode, expected) in [(MPOL_BIND, "bind:0"), (MPOL_PREFERRED, "prefer:0"), (MPOL_INTERLEAVE, "interleave:0"),
                                 (MPOL_BIND | (1 << 15), "bind=static:0")] {
            XCTAssertEqual(set_mempolicy(Int32(mode), &mask, UInt(UInt.bitWidth)), 0, "set_mempolicy \(expected)")
            let read = try MemoryPolicyCalls.current()
            XCTAssertEqual(read.kernelSpelling, expected)
            XCTAssertEqual(read, try heapPolicy(), "numa_maps agrees for \(expected)")
        }
        XCTAssertEqual(set_mempolicy(MPOL_DEFAULT, nil, 0), 0)
        XCTAssertEqual(try MemoryPolicyCalls.current(), original.mode == .default ? original : .default)
    }
}
