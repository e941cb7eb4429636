import CNuma
import NumaguardCore

/// The memory-policy system calls, through libnuma's numaif.h wrappers and the errno funnel.
/// This reads the calling thread's own policy: the ground truth a launcher checks after it
/// has set a policy and before it execs (a wrapper's policy is inherited through exec).
public enum MemoryPolicyCalls {
    /// Mode numbers and flags of include/uapi/linux/mempolicy.h. numaif.h from numactl 2.0.16
    /// predates weighted interleave and does not export the mode flags, so they are spelled here.
    static let modes: [Int32: MemoryPolicy.Mode] = [
        0: .default, 1: .preferred, 2: .bind, 3: .interleave, 4: .local, 5: .preferredMany, 6: .weightedInterleave,
    ]
    static let staticNodesFlag: Int32 = 1 << 15
    static let relativeNodesFlag: Int32 = 1 << 14
    static let numaBalancingFlag: Int32 = 1 << 13
    /// MAX_NUMNODES is at most 1024 (CONFIG_NODES_SHIFT ≤ 10).
    static let maskBits = 1024

    public enum Failure: Error, CustomStringConvertible {
        case call(SystemCallError)
        case unknownMode(Int32)

        public var description: String {
            switch self {
            case let .call(error): error.description
            case let .unknownMode(mode): "get_mempolicy returned mode \(mode), which this numaguard does not know"
            }
        }
    }

    /// The calling thread's task policy, as the kernel holds it.
    public static func current() throws(Failure) -> MemoryPolicy {
        var mode: Int32 = 0
        var mask = [UInt](repeating: 0, count: maskBits / UInt.bitWidth)
        do {
            try SystemCall.check("get_mempolicy", "calling thread") {
                mask.withUnsafeMutableBufferPointer { buffer in
                    get_mempolicy(&mode, buffer.baseAddress, UInt(maskBits), nil, 0)
                }
            }
        } catch {
            throw .call(error)
        }
        let flags = mode & (staticNodesFlag | relativeNodesFlag | numaBalancingFlag)
        guard let kind = modes[mode & ~flags] else { throw .unknownMode(mode) }
        var nodes = IDSet()
        for (index, word) in mask.enumerated() where word != 0 {
            for bit in 0..<UInt.bitWidth where word & (1 << UInt(bit)) != 0 { nodes.insert(index * UInt.bitWidth + bit) }
        }
        return MemoryPolicy(
            mode: kind, nodes: nodes,
            staticNodes: flags & staticNodesFlag != 0,
            relativeNodes: flags & relativeNodesFlag != 0,
            balancing: flags & numaBalancingFlag != 0
        )
    }
}
