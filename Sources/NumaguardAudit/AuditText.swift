import NumaguardCore

/// The audit for people: what failed first, with expected, actual and the fix; then what
/// was waived or could not be judged; passes last, one line each. Colour only when asked
/// (the CLI asks on a TTY).
public enum AuditText {
    public static func render(_ report: AuditReport, color: Bool = false) -> String {
        func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var out: [String] = []
        let host = report.host
        out.append("numaguard audit of \(host.hostname ?? "this host") (kernel \(host.kernelRelease))")
        out.append("policy \(report.policyFile) sha256:\(report.policyDigest.prefix(16))")
        out.append("")
        let failures = report.findings.filter { $0.outcome == .fail }.sorted { $0.severity > $1.severity }
        for finding in failures {
            let label = finding.severity == .critical ? paint("FAIL", "1;31") : paint("WARN", "33")
            out.append("\(label) \(title(finding))")
            out.append("     expected: \(finding.expected)")
            out.append("     actual:   \(finding.actual)")
            if let waiver = finding.waiver, waiver.expired {
                out.append("     waiver expired \(waiver.expires): \(waiver.reason)")
            }
            out.append("     fix:      \(finding.remediation)")
        }
        for finding in report.findings where finding.outcome == .waived {
            out.append("\(paint("WAIVED", "36")) \(title(finding)): \(finding.actual)")
            if let waiver = finding.waiver { out.append("     until \(waiver.expires): \(waiver.reason)") }
        }
        // Every unreadable process or record is one of these (Auditor), so each shows once
        // and the summary's incomplete count is the number of these lines.
        for finding in report.findings where finding.outcome == .incomplete {
            out.append("\(paint("UNKNOWN", "35")) \(title(finding)): \(finding.actual)")
        }
        for line in report.gone { out.append("gone: \(line)") }
        for line in report.notes { out.append("note: \(line)") }
        for read in report.numaMapsReads { out.append("cost: \(read.text)") }
        let passes = report.findings.filter { $0.outcome == .pass }
        if !passes.isEmpty {
            if !failures.isEmpty { out.append("") }
            for finding in passes { out.append("\(paint("ok", "32"))   \(title(finding)): \(finding.actual)") }
        }
        let summary = report.summary
        out.append("")
        let verdict: String
        switch report.status {
        case .success: verdict = paint("COMPLIANT", "1;32")
        case .incomplete: verdict = paint("INCOMPLETE", "1;35")
        default: verdict = paint("NOT COMPLIANT", "1;31")
        }
        out.append("\(verdict): \(summary.checks) checks, \(summary.passed) passed, \(summary.failed) failed, "
                   + "\(summary.waived) waived, \(summary.incomplete) incomplete")
        return out.joined(separator: "\n") + "\n"
    }

    static func title(_ finding: Finding) -> String {
        finding.check + (finding.subject.map { " [\($0)]" } ?? "")
    }
}
