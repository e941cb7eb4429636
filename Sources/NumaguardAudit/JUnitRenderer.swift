import NumaguardOutput

/// The audit as JUnit XML, the report format CI systems (Jenkins' junit step, GitLab's
/// `artifacts:reports:junit`) already know how to show and gate on.
///
/// One `<testsuite>` inside `<testsuites>`; one `<testcase>` per finding, in the report's
/// order. `classname` is the host, a dot, and the check ID, so the reports of a fleet merged
/// in one CI job do not collide; `name` is the check ID plus its subject and is unique in the
/// file (a repeated check/subject pair gets ` #2`, ` #3`, ...). Outcomes map to:
/// fail → `<failure type="<severity>">`, waived → `<skipped>`, incomplete → `<error>`,
/// pass → a plain testcase whose `<system-out>` records what was seen. Attributes are those
/// the Jenkins xunit plugin's junit-10 schema allows (`skipped` only on `<testsuite>`), and
/// GitLab reads the same file. The output depends only on the report and the timestamp
/// given, so it can be golden-tested and digested.
public enum JUnitRenderer {
    /// `timestamp`: when the audit ran (RFC 3339 UTC), written as the suite's `timestamp`.
    public static func render(_ report: AuditReport, timestamp: String? = nil) -> String {
        let summary = report.summary
        let host = hostLabel(report.host)
        let testcases = zip(report.findings, testNames(report.findings)).map { testcase($0, name: $1, host: host) }
        return JUnitXML.render(JUnitXML.Suite(
            name: "numaguard audit of \(host)",
            counts: .init(tests: summary.checks, failures: summary.failed, errors: summary.incomplete, skipped: summary.waived),
            timestamp: timestamp, hostname: report.host.hostname, properties: properties(report), testcases: testcases,
            systemOut: report.gone.isEmpty ? nil : section("gone (exited while being read)", report.gone),
            systemErr: report.unreadable.isEmpty ? nil : section("unreadable (the run is incomplete)", report.unreadable)))
    }

    /// One name per finding, unique in the file: a repeat of an earlier name gets ` #2`,
    /// ` #3`, ... (skipping any that a later finding's own name would take).
    static func testNames(_ findings: [Finding]) -> [String] {
        let bases = findings.map(testName)
        var used = Set(bases)
        var seen: Set<String> = []
        return bases.map { base in
            guard seen.contains(base) else {
                seen.insert(base)
                return base
            }
            var occurrence = 2
            while used.contains("\(base) #\(occurrence)") { occurrence += 1 }
            let name = "\(base) #\(occurrence)"
            used.insert(name)
            return name
        }
    }

    /// The check ID, plus `[subject]` when the finding is about one process or node.
    static func testName(_ finding: Finding) -> String {
        guard let subject = finding.subject, !subject.isEmpty else { return finding.check }
        return "\(finding.check) [\(subject)]"
    }

    static func properties(_ report: AuditReport) -> [(String, String)] {
        var result: [(String, String)] = [
            ("numaguard.policy_file", report.policyFile),
            ("numaguard.policy_digest", report.policyDigest),
        ]
        let host = report.host
        if let hostname = host.hostname { result.append(("numaguard.hostname", hostname)) }
        if let machineID = host.machineID { result.append(("numaguard.machine_id", machineID)) }
        if let bootID = host.bootID { result.append(("numaguard.boot_id", bootID)) }
        result.append(("numaguard.kernel_release", host.kernelRelease))
        result.append(("numaguard.kernel_cmdline", host.kernelCommandLine))
        result.append(("numaguard.fail_on", report.failOn.rawValue))
        result.append(("numaguard.status", "\(report.status)"))
        result.append(("numaguard.exit_status", String(report.status.rawValue)))
        return result
    }

    /// The host a report is about, as CI shows it: its hostname, else its machine ID.
    static func hostLabel(_ host: HostIdentity) -> String {
        host.hostname ?? host.machineID.map { "machine-" + $0 } ?? "unnamed-host"
    }

    static func testcase(_ finding: Finding, name: String, host: String) -> JUnitXML.TestCase {
        let details = detail(finding)
        let elements: [JUnitXML.Element]
        switch finding.outcome {
        case .pass:
            elements = [.systemOut(details)]
        case .fail:
            var message = "\(finding.severity.rawValue): expected \(finding.expected), actual \(finding.actual)"
            if let waiver = finding.waiver, waiver.expired { message += " (waiver expired \(waiver.expires))" }
            elements = [.failure(message: message, type: finding.severity.rawValue, text: details)]
        case .waived:
            var message = "waived"
            if let waiver = finding.waiver { message += ": \(waiver.reason) (until \(waiver.expires))" }
            elements = [.skipped(message: message), .systemOut(details)]
        case .incomplete:
            elements = [.error(message: "incomplete: \(finding.actual)", type: "incomplete", text: details)]
        }
        return JUnitXML.TestCase(classname: host + "." + finding.check, name: name, elements: elements)
    }

    /// The finding in words, one field per line.
    static func detail(_ finding: Finding) -> String {
        var lines = ["severity: \(finding.severity.rawValue)"]
        if let subject = finding.subject { lines.append("subject: \(subject)") }
        if let pid = finding.pid { lines.append("pid: \(pid)") }
        lines.append("expected: \(finding.expected)")
        lines.append("actual: \(finding.actual)")
        if !finding.remediation.isEmpty { lines.append("remediation: \(finding.remediation)") }
        if let waiver = finding.waiver {
            lines.append("waiver: \(waiver.reason) (\(waiver.expired ? "expired" : "until") \(waiver.expires))")
        }
        return lines.joined(separator: "\n")
    }

    static func section(_ title: String, _ items: [String]) -> String {
        ([title + ":"] + items.map { "  " + $0 }).joined(separator: "\n")
    }
}
