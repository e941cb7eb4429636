import NumaguardCore

/// The body of `numaguard topology --format json`.
public struct TopologyDocument: Encodable {
    public var topology: Topology
    public var kernel: KernelState?
    public init(topology: Topology, kernel: KernelState?) {
        self.topology = topology
        self.kernel = kernel
    }
}

/// The body of `numaguard inspect --format json`: the processes read and, apart, those
/// that could not be, each with its PID and reason.
public struct InspectDocument: Encodable {
    public struct Failure: Encodable, Equatable, Sendable {
        public enum Kind: String, Encodable, Sendable {
            /// A requested PID that does not exist, or a pattern that matched nothing.
            case missing
            /// The process exited while (or before) it was being read.
            case gone
            /// The kernel refused a read; `error` says what access is needed.
            case permission
            /// Anything else: an unreadable or malformed file.
            case error
        }

        public var pid: Int?
        public var kind: Kind
        public var error: String
        public init(pid: Int?, kind: Kind, error: String) {
            self.pid = pid
            self.kind = kind
            self.error = error
        }
    }

    public var processes: [InspectReport]
    public var failures: [Failure]
    public init(processes: [InspectReport], failures: [Failure]) {
        self.processes = processes
        self.failures = failures
    }
}
