import CLinux
import NumaguardCore

/// The memory-policy system calls, through the CLinux shim and the errno funnel.
/// This reads the calling thread's own policy: the ground truth a launcher checks after it
/// has set a policy and before it execs (a wrapper's policy is inherited through exec).
public enum MemoryPolicyCalls {
    /// Mode numbers and flags of include/uapi/linux/mempolicy.h, in kernel order (the index is
    /// the number). The uapi header is not imported, so they are spelled here; an array, as the
    /// launch path instantiates no hashed collection.
    static let modes: [MemoryPolicy.Mode] = [.default, .preferred, .bind, .interleave, .local, .preferredMany, .weightedInterleave]
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

    /// Sets the calling thread's task policy: the one a launcher hands to the program it
    /// execs. Every mode is set explicitly, MPOL_DEFAULT included, so nothing inherited stays.
    public static func set(_ policy: MemoryPolicy) throws(SystemCallError) {
        guard let index = modes.firstIndex(of: policy.mode) else {
            throw SystemCallError(call: "set_mempolicy", subject: policy.kernelSpelling, errno: .invalid)
        }
        let mode = Int32(index)
        var flags: Int32 = 0
        if policy.staticNodes { flags |= staticNodesFlag }
        if policy.relativeNodes { flags |= relativeNodesFlag }
        if policy.balancing { flags |= numaBalancingFlag }
        if policy.nodes.isEmpty {
            try SystemCall.check("set_mempolicy", policy.kernelSpelling) { clinux_set_mempolicy(mode | flags, nil, 0) }
            return
        }
        let mask = policy.nodes.bitmap(wordCount: maskBits / 64)
        // The kernel drops the last bit of maxnode (a historical off-by-one libnuma also
        // works around), so ask for one more than the mask holds.
        try SystemCall.check("set_mempolicy", policy.kernelSpelling) {
            mask.withUnsafeBufferPointer { clinux_set_mempolicy(mode | flags, $0.baseAddress, UInt(maskBits + 1)) }
        }
    }

    /// The node the next interleaved page will come from (get_mempolicy MPOL_F_NODE under an
    /// interleave policy), as numactl --show prints it.
    public static func nextInterleaveNode() throws(SystemCallError) -> Int {
        var node: Int32 = 0
        try SystemCall.check("get_mempolicy", "MPOL_F_NODE") { clinux_get_mempolicy(&node, nil, 0, nil, 1) }
        return Int(node)
    }

    /// The calling thread's task policy, as the kernel holds it.
    public static func current() throws(Failure) -> MemoryPolicy {
        var mode: Int32 = 0
        var mask = [UInt64](repeating: 0, count: maskBits / 64)
        do {
            try SystemCall.check("get_mempolicy", "calling thread") {
                mask.withUnsafeMutableBufferPointer { buffer in
                    clinux_get_mempolicy(&mode, buffer.baseAddress, UInt(maskBits), nil, 0)
                }
            }
        } catch {
            throw .call(error)
        }
        let flags = mode & (staticNodesFlag | relativeNodesFlag | numaBalancingFlag)
        let number = Int(mode & ~flags)
        guard modes.indices.contains(number) else { throw .unknownMode(mode) }
        let kind = modes[number]
        return MemoryPolicy(
            mode: kind, nodes: IDSet(bitmap: mask),
            staticNodes: flags & staticNodesFlag != 0,
            relativeNodes: flags & relativeNodesFlag != 0,
            balancing: flags & numaBalancingFlag != 0
        )
    }
}
