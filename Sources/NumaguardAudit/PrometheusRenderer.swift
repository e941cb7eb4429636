import NumaguardOutput

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
               [([], PrometheusText.format(timestamp))])
        if !report.numaMapsReads.isEmpty {
            var longest: [String: Double] = [:]
            for read in report.numaMapsReads { longest[read.workload] = max(longest[read.workload] ?? 0, read.seconds) }
            family("numaguard_audit_numa_maps_read_seconds",
                   "Longest numa_maps read of a protected workload's process in the last audit: how long its mmap lock was taken and retaken.",
                   longest.sorted { $0.key < $1.key }.map { ([("workload", $0.key)], PrometheusText.format($0.value)) })
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
}
