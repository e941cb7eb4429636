import NumaguardCore
import NumaguardHost
import Yams

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

/// Reads a policy file into a validated `Policy`, or reports every mistake in it with
/// its location. Nothing on the host is read here.
public enum PolicyLoader {
    static let topKeys = ["version", "host", "workloads", "reserve", "waivers", "watch"]
    static let hostKeys = ["kernel", "topology", "hugepages", "headroom", "forbid_processes"]
    static let kernelKeys = ["numa_balancing", "zone_reclaim_mode", "transparent_hugepage", "cmdline"]
    static let topologyKeys = ["nodes", "cpus", "min_memory", "distances"]
    static let workloadKeys = ["name", "match", "protected", "running", "cpus", "memory"]
    static let matchKeys = ["comm", "exe", "cmdline", "cgroup", "systemd_unit", "user"]
    static let memoryKeys = ["policy", "nodes", "max_remote", "allow_interleave", "scan"]
    static let watchKeys = ["interval", "regimes", "numa_maps_period", "listen"]
    static let regimeKeys = ["watch", "shock", "safe", "dwell", "exit"]
    static let memoryModes = ["bind", "preferred", "preferred-many", "interleave", "weighted-interleave", "local", "default"]

    public static func load(path: String) throws(PolicyErrors) -> LoadedPolicy {
        let bytes: [UInt8]
        do {
            bytes = try HostRoot.readFile(atPath: path)
        } catch {
            throw PolicyErrors(diagnostics: [PolicyDiagnostic(file: path, line: 1, column: 1, message: "cannot read the policy: \(error)")])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return LoadedPolicy(policy: try parse(text, file: path), file: path, digest: SHA256.hex(bytes))
    }

    public static func parse(_ text: String, file: String) throws(PolicyErrors) -> Policy {
        let sink = DiagnosticSink(file: file, text: text)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            report(error, sink)
            throw PolicyErrors(diagnostics: sink.diagnostics)
        } catch {
            sink.error(line: 1, column: 1, "cannot parse YAML: \(error)")
            throw PolicyErrors(diagnostics: sink.diagnostics)
        }
        guard let root else {
            sink.error(line: 1, column: 1, "the policy is empty: it needs at least \"version: 1\"")
            throw PolicyErrors(diagnostics: sink.diagnostics)
        }
        let reader = YAMLReader(sink: sink)
        let policy = PolicySections(reader: reader).policy(root)
        guard sink.diagnostics.isEmpty, let policy else { throw PolicyErrors(diagnostics: sink.diagnostics) }
        return policy
    }

    /// libyaml's errors carry a mark; duplicate keys carry the first occurrence, so the
    /// second one is looked up to point at the line that has to go.
    static func report(_ error: YamlError, _ sink: DiagnosticSink) {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            sink.error(line: mark.line, column: mark.column, "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? "?"
            let first = context.mark
            if let second = sink.secondOccurrence(of: key, line: first.line, column: first.column) {
                sink.error(line: second.line, column: second.column,
                           "duplicate key \"\(key)\" (first at line \(first.line), column \(first.column))")
            } else {
                sink.error(line: first.line, column: first.column, "duplicate key \"\(key)\"")
            }
        default:
            sink.error(line: 1, column: 1, "invalid YAML: \(error)")
        }
    }
}
