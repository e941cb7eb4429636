/// The audit as Prometheus text exposition, for node_exporter's textfile collector
/// (write it with `AtomicFile.write` into the collector's directory).
///
/// Every metric is a gauge with HELP and TYPE lines, a `numaguard_audit_` prefix and base
/// units. Labels are bounded by the policy: check ID, severity and outcome, never a PID or
/// a process name, so a fleet's series count does not grow with its process churn.
/// Series are sorted by label values, so the output depends only on the report and the
/// timestamp.
public enum PrometheusRenderer {
    /// - Parameter timestamp: when the audit ran, in seconds since the Unix epoch.
    public static func render(_ report: AuditReport, timestamp: Double) -> String {
        var text = PrometheusText()
        func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            text.family(name, .gauge, help, samples)
        }

        // Per check ID and severity: one series however many subjects the check judged.
        struct Key: Hashable, Comparable {
            var check: String
            var severity: Severity
            static func < (lhs: Key, rhs: Key) -> Bool {
                lhs.check != rhs.check ? lhs.check < rhs.check : lhs.severity < rhs.severity
            }
        }
        var failures: [Key: Int] = [:]
        for finding in report.findings {
            let key = Key(check: finding.check, severity: finding.severity)
            failures[key, default: 0] += finding.outcome == .fail ? 1 : 0
        }
        let entries = failures.sorted { $0.key < $1.key }
        let checkLabels = { (key: Key) in [("check", key.check), ("severity", key.severity.rawValue)] }

        family("numaguard_audit_check_failed",
               "1 if any subject of this check failed (waived failures excluded), else 0.",
               entries.map { (checkLabels($0.key), $0.value > 0 ? "1" : "0") })
        family("numaguard_audit_check_failures",
               "Number of subjects (processes, nodes, the host) failing this check in the last audit.",
               entries.map { (checkLabels($0.key), String($0.value)) })

        let summary = report.summary
        family("numaguard_audit_checks",
               "Findings in the last audit by outcome.",
               [("fail", summary.failed), ("incomplete", summary.incomplete), ("pass", summary.passed), ("waived", summary.waived)]
                   .map { ([("outcome", $0.0)], String($0.1)) })
        family("numaguard_audit_unreadable_processes",
               "Processes that could not be read for lack of privilege; any makes the audit incomplete.",
               [([], String(report.unreadable.count))])
        family("numaguard_audit_compliant", compliantHelp,
               [([], report.status == .success ? "1" : "0")])
        family("numaguard_audit_error", errorHelp,
               AuditFailure.Reason.allCases.map { ([("reason", $0.rawValue)], "0") })
        family("numaguard_audit_last_run_timestamp_seconds", lastRunHelp,
               [([], format(timestamp))])
        if !report.numaMapsReads.isEmpty {
            var longest: [String: Double] = [:]
            for read in report.numaMapsReads { longest[read.workload] = max(longest[read.workload] ?? 0, read.seconds) }
            family("numaguard_audit_numa_maps_read_seconds",
                   "Longest numa_maps read of a protected workload's process in the last audit: how long its mmap lock was taken and retaken.",
                   longest.sorted { $0.key < $1.key }.map { ([("workload", $0.key)], format($0.value)) })
        }
        family("numaguard_audit_info",
               "The policy and kernel the last audit judged; always 1.",
               [([("kernel_release", report.host.kernelRelease), ("policy_digest", report.policyDigest)], "1")])
        return text.output
    }

    // Shared with AuditFailure's exposition: one series, one HELP, whichever wrote it last.
    static let compliantHelp = "1 if the last audit exited 0 (no failure at or above fail-on, nothing incomplete), else 0."
    static let lastRunHelp = "When the last audit ran, in seconds since the Unix epoch."
    static let errorHelp = "1 if the last audit could not run at all, by reason (invalid_policy, input_unreadable, host_unreadable), else 0."

    static func labels(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "{" + pairs.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// HELP text escapes backslash and line feed.
    static func escapeHelp(_ value: String) -> String {
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// Whole seconds without a fraction; otherwise the shortest form that reads back exactly.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// Prometheus text exposition (format 0.0.4) built family by family: HELP and TYPE lines,
/// then the samples, label values and HELP text escaped as the format requires. Shared by
/// the audit's textfile and `watch`'s /metrics.
public struct PrometheusText: Sendable {
    public enum Kind: String, Sendable { case gauge, counter }

    public private(set) var output = ""

    public init() {}

    public mutating func family(_ name: String, _ kind: Kind, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
        output += "# HELP \(name) \(PrometheusRenderer.escapeHelp(help))\n"
        output += "# TYPE \(name) \(kind.rawValue)\n"
        for sample in samples {
            output += name + PrometheusRenderer.labels(sample.labels) + " " + sample.value + "\n"
        }
    }
}
