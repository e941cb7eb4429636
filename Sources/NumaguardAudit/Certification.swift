import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// Judges a sampling window: on the nodes the policy protects (protected workloads' memory
/// nodes and reserved nodes), no allocation may have missed or left them, and no page may
/// have been migrated anywhere while a latency-critical host is being certified.
public enum WindowChecks {
    public static func protectedNodes(_ policy: Policy) -> [Int] {
        let workloadNodes = policy.workloads.filter(\.protected).flatMap { $0.memory?.nodes.members ?? [] }
        return Array(Set(workloadNodes + policy.reservations.map(\.node))).sorted()
    }

    public static func judge(before: CounterReading, after: CounterReading, nodes: [Int], seconds: Double) -> [Finding] {
        var findings: [Finding] = []
        let window = "during the \(seconds.formatted1)s window"
        for node in nodes {
            let miss = after.miss[node].flatMap { a in before.miss[node].map { a &- $0 } } ?? 0
            let foreign = after.foreign[node].flatMap { a in before.foreign[node].map { a &- $0 } } ?? 0
            findings.append(.judge(
                miss == 0 && foreign == 0, .windowNumaMiss(node: node), .critical, subject: "node \(node)",
                expected: "no numa_miss or numa_foreign growth \(window)",
                actual: "numa_miss +\(miss), numa_foreign +\(foreign)",
                remediation: "an allocation for or on node \(node) went to the wrong node: check headroom and the workloads' bind policies"))
        }
        if let start = before.migrated, let end = after.migrated {
            findings.append(.judge(
                end == start, .windowMigrations, .warning,
                expected: "no pages migrated \(window)", actual: "\(end &- start) pages migrated",
                remediation: "find the mover: NUMA balancing, numad, migratepages, or a cpuset.mems write"))
        }
        return findings
    }
}

/// A certification: the audit plus the window, with what a filed report needs to stand on
/// its own (host identity, tool version, policy digest, when it was made; the report's
/// digest is computed over the JSON written to disk, so `certified_at` is covered by it and
/// `fleet report` can tell a stale certificate from today's).
public struct Certificate: Sendable, Encodable {
    public var toolVersion: String
    /// RFC 3339 UTC: when the window ended and the audit was judged. Optional only so the
    /// certificates written before it existed still read back (`fleet report`: age unknown).
    public var certifiedAt: String?
    public var windowSeconds: Double
    public var audit: AuditReport

    public init(toolVersion: String, certifiedAt: String?, windowSeconds: Double, audit: AuditReport) {
        self.toolVersion = toolVersion
        self.certifiedAt = certifiedAt
        self.windowSeconds = windowSeconds
        self.audit = audit
    }

    enum CodingKeys: String, CodingKey {
        case toolVersion = "tool_version", certifiedAt = "certified_at", windowSeconds = "window_seconds", audit
    }
}

extension Double {
    var formatted1: String {
        let tenths = Int((self * 10).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }
}
