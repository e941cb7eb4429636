import NumaguardCore

/// Why `numaguard run` did not exec the program. Every case ends the wrapper before anything
/// of the program runs, so a supervisor sees one of the three documented codes and a reason.
public enum LaunchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The command line is wrong.
    case usage(String)
    /// The placement cannot be applied as asked on this host (a check failed).
    case refused(String)
    /// A system call failed while numaguard prepared the process.
    case failed(String)
    /// The program does not exist (127).
    case notFound(String)
    /// The program exists but cannot be executed (126).
    case notExecutable(String)

    public var description: String {
        switch self {
        case let .usage(message): "usage: \(message)"
        case let .refused(message): "refused: \(message)"
        case let .failed(message): "failed: \(message)"
        case let .notFound(message), let .notExecutable(message): message
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .usage, .refused, .failed: .launchFailed
        case .notFound: .notFound
        case .notExecutable: .notExecutable
        }
    }
}

/// A memory-policy option as given, before the host resolves its nodes.
public struct MemoryRequest: Equatable, Sendable {
    public var mode: MemoryPolicy.Mode
    /// Absent for `--localalloc`.
    public var nodes: NumactlSet?
    /// The option that asked for it, for messages (`--membind`, or `policy workload "x"`).
    public var source: String

    public init(mode: MemoryPolicy.Mode, nodes: NumactlSet?, source: String) {
        self.mode = mode
        self.nodes = nodes
        self.source = source
    }
}

/// Everything `numaguard run` was asked to do, parsed from the command line but not yet
/// checked against the host: `LaunchPlanner` turns it into a `LaunchPlan` or a refusal.
public struct LaunchRequest: Equatable, Sendable {
    public enum Format: String, Sendable { case text, json }

    public var cpuNodes: NumactlSet?
    public var physicalCPUs: NumactlSet?
    /// How the CPU options were spelled (`-N`, `--cpubind`, ...), so refusals name what was typed.
    public var cpuNodesOption = "--cpunodebind"
    public var physicalCPUsOption = "--physcpubind"
    public var memory: MemoryRequest?
    public var staticNodes = false
    public var allowInterleave = false
    /// Refuse to launch while kernel.numa_balancing is not 0 (otherwise a warning).
    public var requireBalancingOff = false
    /// Free memory every memory node of the placement must have: bytes or a percent of the node.
    public var minFree: FreeMemory?
    /// Per-node free memory from the policy's `headroom` (policy form only).
    public var headroom: [Int: FreeMemory] = [:]
    public var user: String?
    public var keepCapabilities = false
    public var recordDirectory: String?
    public var policyPath: String?
    public var workload: String?
    public var hostRoot: String?
    public var show = false
    public var dryRun = false
    public var format = Format.text
    public var help = false
    /// The program and its arguments, byte for byte as given.
    public var command: [RawArgument] = []

    public init() {}

    public enum FreeMemory: Equatable, Sendable, CustomStringConvertible {
        case bytes(Int)
        case percent(Double)

        public var description: String {
            switch self {
            case let .bytes(bytes): Bytes.text(bytes)
            case let .percent(percent): "\(percent)%"
            }
        }
    }

    /// The devices named in node arguments (`-N netdev:eth0 -m netdev:eth0`): empty on the
    /// common launch, which then reads no device.
    public var devices: [DeviceSpecifier] {
        guard cpuNodes?.device != nil || memory?.nodes?.device != nil else { return [] }
        return [cpuNodes?.device, memory?.nodes?.device].compactMap { $0 }
    }

    /// True when a placement option was given on the command line (as opposed to the policy).
    public var hasPlacementFlags: Bool { cpuNodes != nil || physicalCPUs != nil || memory != nil || staticNodes }
}
