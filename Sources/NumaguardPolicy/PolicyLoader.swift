import NumaguardCore

/// A policy with the identity of the text it came from.
public struct LoadedPolicy: Sendable {
    public var policy: Policy
    public var file: String
    /// SHA-256 of the file's bytes, for reports and certification records.
    public var digest: String

    public init(policy: Policy, file: String, digest: String) {
        self.policy = policy
        self.file = file
        self.digest = digest
    }
}

/// Turns a policy file's bytes into a validated `Policy`, or reports every mistake in it with
/// its location. Nothing on the host is read here, not even the file (see `load(file:reading:)`).
public enum PolicyLoader {
    static let topKeys = ["version", "host", "workloads", "reserve", "waivers", "watch", "devices"]
    static let hostKeys = ["kernel", "topology", "hugepages", "headroom", "forbid_processes", "isolation", "irqbalance"]
    static let kernelKeys = ["numa_balancing", "zone_reclaim_mode", "transparent_hugepage", "cmdline"]
    static let topologyKeys = ["nodes", "cpus", "min_memory", "distances"]
    static let workloadKeys = ["name", "match", "protected", "running", "cpus", "memory"]
    static let matchKeys = ["comm", "exe", "cmdline", "cgroup", "systemd_unit", "user"]
    static let memoryKeys = ["policy", "nodes", "max_remote", "allow_interleave", "scan"]
    static let watchKeys = ["interval", "regimes", "numa_maps_period", "numa_maps", "isolation_period", "listen"]
    static let regimeKeys = ["watch", "shock", "safe", "dwell", "exit"]
    static let memoryModes = ["bind", "preferred", "preferred-many", "interleave", "weighted-interleave", "local", "default"]

    /// A policy from the file's bytes, named `file` in every diagnostic. The bytes come from
    /// whoever read them (NumaguardHost's `InputFile` for the commands, the fuzzer's input),
    /// so this module does no I/O. Over `PolicyLimits.maximumFileBytes` is refused, located.
    /// The bytes go to libyaml as they are: bytes that are not UTF-8 are refused where they stand
    /// (a byte-order mark at the start is allowed, as YAML says).
    public static func load(_ bytes: [UInt8], file: String) throws(PolicyErrors) -> LoadedPolicy {
        let sink = DiagnosticSink(file: file, text: String(decoding: bytes, as: UTF8.self))
        return LoadedPolicy(policy: try parse(bytes, sink: sink), file: file, digest: SHA256.hex(bytes))
    }

    /// The policy at `file`, read by `read` (`InputFile.read`), which is asked for at most one
    /// byte past the limit: enough to know the file is too large. A file that cannot be read is
    /// `unreadable`, with no line or column (nothing was read) and `read`'s error as the reason.
    public static func load<E: Error & CustomStringConvertible>(
        file: String, reading read: (_ path: String, _ atMost: Int) throws(E) -> [UInt8]
    ) throws(PolicyErrors) -> LoadedPolicy {
        let bytes: [UInt8]
        do {
            bytes = try read(file, PolicyLimits.maximumFileBytes + 1)
        } catch {
            throw PolicyErrors(diagnostics: [], unreadable: PolicyUnreadable(file: file, reason: error.description))
        }
        return try load(bytes, file: file)
    }

    public static func parse(_ text: String, file: String) throws(PolicyErrors) -> Policy {
        try parse(text, file: file, sink: DiagnosticSink(file: file, text: text))
    }

    /// The same, with the sink given so tests can read its work counter.
    static func parse(_ text: String, file: String, sink: DiagnosticSink) throws(PolicyErrors) -> Policy {
        try parse(Array(text.utf8), sink: sink)
    }

    /// The policy in `bytes`, every diagnostic into `sink` (which holds the same text, for excerpts).
    static func parse(_ bytes: [UInt8], sink: DiagnosticSink) throws(PolicyErrors) -> Policy {
        if bytes.count > PolicyLimits.maximumFileBytes {
            // Located where the limit is crossed, so the user sees how far the file runs over.
            let head = bytes.prefix(PolicyLimits.maximumFileBytes)
            let line = head.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            let lastLine = head.split(separator: 0x0A, omittingEmptySubsequences: false).last ?? []
            sink.error(line: line, column: String(decoding: lastLine, as: UTF8.self).unicodeScalars.count + 1,
                       "the policy is larger than \(PolicyLimits.maximumFileBytes) bytes (1 MiB), the most numaguard loads")
            throw PolicyErrors(diagnostics: sink.reported)
        }
        guard let root = YAMLComposer.compose(bytes, sink) else { throw PolicyErrors(diagnostics: sink.reported) }
        let reader = YAMLReader(sink: sink)
        let policy = PolicySections(reader: reader).policy(root)
        guard sink.diagnostics.isEmpty, let policy else { throw PolicyErrors(diagnostics: sink.reported) }
        return policy
    }
}
