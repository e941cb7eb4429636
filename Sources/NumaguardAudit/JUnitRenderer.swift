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
        let counts = "tests=\"\(summary.checks)\" failures=\"\(summary.failed)\" errors=\"\(summary.incomplete)\""
        let host = hostLabel(report.host)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"numaguard\" \(counts) time=\"0\">\n"
        var suite = "  <testsuite name=\"numaguard audit of \(XML.escape(host))\" \(counts) skipped=\"\(summary.waived)\" time=\"0\""
        if let timestamp { suite += " timestamp=\"\(XML.escape(timestamp))\"" }
        if let hostname = report.host.hostname { suite += " hostname=\"\(XML.escape(hostname))\"" }
        out += suite + ">\n"

        out += "    <properties>\n"
        for (name, value) in properties(report) {
            out += "      <property name=\"\(XML.escape(name))\" value=\"\(XML.escape(value))\"/>\n"
        }
        out += "    </properties>\n"

        for (finding, name) in zip(report.findings, testNames(report.findings)) {
            out += testcase(finding, name: name, host: host)
        }

        if !report.gone.isEmpty {
            out += "    <system-out>\(XML.text(section("gone (exited while being read)", report.gone)))</system-out>\n"
        }
        if !report.unreadable.isEmpty {
            out += "    <system-err>\(XML.text(section("unreadable (the run is incomplete)", report.unreadable)))</system-err>\n"
        }
        out += "  </testsuite>\n"
        out += "</testsuites>\n"
        return out
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

    static func testcase(_ finding: Finding, name: String, host: String) -> String {
        let open = "    <testcase classname=\"\(XML.escape(host + "." + finding.check))\" name=\"\(XML.escape(name))\" time=\"0\""
        let details = detail(finding)
        switch finding.outcome {
        case .pass:
            return open + ">\n      <system-out>\(XML.text(details))</system-out>\n    </testcase>\n"
        case .fail:
            var message = "\(finding.severity.rawValue): expected \(finding.expected), actual \(finding.actual)"
            if let waiver = finding.waiver, waiver.expired { message += " (waiver expired \(waiver.expires))" }
            return open + ">\n      <failure message=\"\(XML.escape(message))\" type=\"\(finding.severity.rawValue)\">"
                + XML.text(details) + "</failure>\n    </testcase>\n"
        case .waived:
            var message = "waived"
            if let waiver = finding.waiver { message += ": \(waiver.reason) (until \(waiver.expires))" }
            return open + ">\n      <skipped message=\"\(XML.escape(message))\"/>\n"
                + "      <system-out>\(XML.text(details))</system-out>\n    </testcase>\n"
        case .incomplete:
            let message = "incomplete: \(finding.actual)"
            return open + ">\n      <error message=\"\(XML.escape(message))\" type=\"incomplete\">"
                + XML.text(details) + "</error>\n    </testcase>\n"
        }
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

/// XML 1.0 escaping for attribute values and character data.
enum XML {
    /// Escapes the five markup characters; writes carriage return (and, in attributes, tab
    /// and newline) as character references so line-end handling and attribute-value
    /// normalization keep them; and, since XML 1.0 cannot carry the other C0 controls,
    /// U+FFFE or U+FFFF even as references, replaces those with a visible `\u{XX}`.
    static func escape(_ text: String, attribute: Bool = true) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            case "\t": out += attribute ? "&#9;" : "\t"
            case "\n": out += attribute ? "&#10;" : "\n"
            default:
                let value = scalar.value
                if value < 0x20 || value == 0xFFFE || value == 0xFFFF {
                    out += "\\u{" + String(value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    static func text(_ text: String) -> String { escape(text, attribute: false) }
}
