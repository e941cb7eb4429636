import NumaguardCore
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
    public static func load(_ bytes: [UInt8], file: String) throws(PolicyErrors) -> LoadedPolicy {
        let text = String(decoding: bytes, as: UTF8.self)
        return LoadedPolicy(policy: try parse(text, file: file), file: file, digest: SHA256.hex(bytes))
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
        if text.utf8.count > PolicyLimits.maximumFileBytes {
            // Located where the limit is crossed, so the user sees how far the file runs over.
            let head = text.utf8.prefix(PolicyLimits.maximumFileBytes)
            let line = head.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            let lastLine = head.split(separator: 0x0A, omittingEmptySubsequences: false).last ?? []
            sink.error(line: line, column: String(decoding: lastLine, as: UTF8.self).unicodeScalars.count + 1,
                       "the policy is larger than \(PolicyLimits.maximumFileBytes) bytes (1 MiB), the most numaguard loads")
            throw PolicyErrors(diagnostics: sink.reported)
        }
        guard let root = compose(text, sink) else { throw PolicyErrors(diagnostics: sink.reported) }
        let reader = YAMLReader(sink: sink)
        let policy = PolicySections(reader: reader).policy(root)
        guard sink.diagnostics.isEmpty, let policy else { throw PolicyErrors(diagnostics: sink.reported) }
        return policy
    }

    /// The YAML tree, or nil when it cannot be read (reported). A duplicate key does not end the
    /// check: it is reported, renamed in a copy of the text, and the copy composed again, so the
    /// rest of the document is still checked. Re-reading is bounded to 8 MiB of text in all.
    /// No implicit tag rules: values are read from the scalar's text (YAMLReader), so YAML 1.1's
    /// guesses are never needed, and Yams' default resolver compiles seven regular expressions
    /// through ICU on first use, a third of `policy check`'s run time (issue 17). Without it a
    /// plain scalar is a string, `<<` an ordinary (unknown) key, and explicit tags are still
    /// checked against the core types.
    static let resolver = Resolver.basic
    /// The tree is read node by node (YAMLReader) and never turned into Swift values, so Yams'
    /// default constructor maps (built on first use) are not needed; the encoding is given so
    /// Yams does not read the environment (`YAMS_DEFAULT_ENCODING`) to choose one.
    static var constructor: Constructor { Constructor([:], [:], [:]) }

    static func compose(_ original: String, _ sink: DiagnosticSink) -> Node? {
        var text = original
        let retries = min(PolicyLimits.maximumDiagnostics, (8 << 20) / max(1, original.utf8.count))
        for attempt in 0... {
            do {
                guard let root = try Yams.compose(yaml: text, Self.resolver, Self.constructor, .utf8) else {
                    sink.error(line: 1, column: 1, "the policy is empty: it needs at least \"version: 1\"")
                    return nil
                }
                return root
            } catch let error as YamlError {
                let second = report(error, sink)
                guard case .duplicatedKeysInMapping = error, attempt < retries, let second,
                      let masked = mask(text, line: second.line, column: second.column, attempt) else { return nil }
                sink.maskedKeys.insert([second.line, second.column])
                text = masked
            } catch {
                sink.error(line: 1, column: 1, "cannot parse YAML: \(error)")
                return nil
            }
        }
        return nil
    }

    /// `text` with the scalar at `line`:`column` (1-based, in code points) replaced by a
    /// private-use one numbered by `attempt`: a key no other can equal, and every column kept.
    static func mask(_ text: String, line: Int, column: Int, _ attempt: Int) -> String? {
        guard let replacement = Unicode.Scalar(0xE000 + UInt32(attempt % 0x1000)) else { return nil }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        guard line >= 1, line <= lines.count, column >= 1, column <= lines[line - 1].count else { return nil }
        lines[line - 1][column - 1] = replacement
        return lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
    }

    /// libyaml's errors carry a mark; duplicate keys carry the first occurrence, so the
    /// second one is looked up to point at the line that has to go (and returned, when found).
    @discardableResult
    static func report(_ error: YamlError, _ sink: DiagnosticSink) -> (line: Int, column: Int)? {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            sink.error(line: mark.line, column: mark.column, "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? "?"
            let first = context.mark
            if let second = sink.secondOccurrence(of: key, line: first.line, column: first.column) {
                sink.error(line: second.line, column: second.column,
                           "duplicate key \"\(key)\" (first at line \(first.line), column \(first.column))")
                return second
            } else {
                sink.error(line: first.line, column: first.column, "duplicate key \"\(key)\"")
            }
        default:
            sink.error(line: 1, column: 1, "invalid YAML: \(error)")
        }
        return nil
    }
}
