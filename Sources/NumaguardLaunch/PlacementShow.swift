import NumaguardCore
import NumaguardHost

/// `numaguard run --show`: this process's placement in `numactl --show`'s layout, so scripts
/// and eyes that know one read the other. Two deliberate differences: `local` prints
/// "preferred node: current" on its own line (numactl 2.0.16 prints nothing and runs into the
/// next line), and flags and weighted interleave are spelled out (numactl prints `[6]`).
public enum PlacementShow {
    public struct State: Equatable, Sendable {
        public var policy: MemoryPolicy
        /// get_mempolicy(MPOL_F_NODE) under an interleave policy.
        public var nextInterleaveNode: Int?
        public var affinity: IDSet
        public var memsAllowed: IDSet
        public var nodes: [LaunchNode]

        public init(policy: MemoryPolicy, nextInterleaveNode: Int?, affinity: IDSet, memsAllowed: IDSet, nodes: [LaunchNode]) {
            self.policy = policy
            self.nextInterleaveNode = nextInterleaveNode
            self.affinity = affinity
            self.memsAllowed = memsAllowed
            self.nodes = nodes
        }
    }

    public static func render(_ state: State) -> String {
        let policy = state.policy
        func list(_ set: IDSet) -> String { set.map { "\($0) " }.joined() }
        var name = policy.mode.rawValue
        if policy.staticNodes { name += "=static" } else if policy.relativeNodes { name += "=relative" }
        if policy.balancing { name += "|balancing" }
        let first = policy.nodes.members.first.map(String.init) ?? "0"
        let next = state.nextInterleaveNode.map(String.init) ?? first
        let preferred = switch policy.mode {
        case .default, .local: "current"
        case .bind, .preferred: first
        case .preferredMany: "\(first) (preferred-many)"
        case .interleave, .weightedInterleave: "\(next) (interleave next)"
        }
        var lines = ["policy: \(name)", "preferred node: \(preferred)"]
        if policy.mode.isInterleave {
            lines += ["interleavemask: \(list(policy.nodes))", "interleavenode: \(next)"]
        }
        let cpuNodes = LaunchNode.holding(state.affinity, in: state.nodes).intersection(state.memsAllowed)
        lines += [
            "physcpubind: \(list(state.affinity))",
            "cpubind: \(list(cpuNodes))",
            "nodebind: \(list(cpuNodes))",
            "membind: \(list(policy.mode == .bind ? policy.nodes : state.memsAllowed))",
            "preferred: \(list(policy.nodes))",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The calling process's state, read live.
    public static func current() throws(LaunchError) -> State {
        do {
            let host = try LaunchHostReader.read(.live, memory: false, release: false, isolated: false)
            let policy = try LiveProcess().memoryPolicy()
            let next = policy.mode.isInterleave ? try MemoryPolicyCalls.nextInterleaveNode() : nil
            return State(policy: policy, nextInterleaveNode: next, affinity: try Affinity.current(),
                         memsAllowed: host.memsAllowed, nodes: host.nodes)
        } catch let error as LaunchError {
            throw error
        } catch {
            throw .failed("cannot read this process's placement: \(error)")
        }
    }
}
