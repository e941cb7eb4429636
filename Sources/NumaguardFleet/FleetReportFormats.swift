import NumaguardOutput

/// `fleet report --format junit`: one `<testsuite>` per host, so CI shows the fleet host by
/// host. Each suite holds a `certificate` test case (fails for a tampered, unverified,
/// unreadable, missing or stale certificate, with the reason) and, when the certificate was
/// verified, one test case per check: fail → `<failure type="<severity>">`, waived →
/// `<skipped>`, incomplete → `<error>`, as certify's own JUnit maps them. `classname` is the
/// host, a dot and the check, as in certify's JUnit, so the two never collide in one CI job.
public enum FleetReportJUnit {
    public static func render(_ report: FleetReport) -> String {
        JUnitXML.render(report.hosts.map(suite), name: "numaguard fleet report")
    }

    static func suite(_ host: FleetHost) -> JUnitXML.Suite {
        var testcases: [JUnitXML.TestCase] = []
        var failures = 0, errors = 0, skipped = 0
        if host.certificate != nil && host.verdict != .stale {
            testcases.append(.init(classname: host.name + ".certificate", name: "certificate", elements: []))
        } else {
            failures += 1
            let reason = host.reason ?? host.verdict.rawValue
            testcases.append(.init(classname: host.name + ".certificate", name: "certificate",
                                   elements: [.failure(message: "\(host.verdict.rawValue): \(reason)", type: host.verdict.rawValue, text: reason)]))
        }
        for cell in host.checks {
            let details = cell.findings.map { finding in
                (finding.subject.map { "[\($0)] " } ?? "") + "\(finding.outcome.rawValue): expected \(finding.expected), actual \(finding.actual)"
            }.joined(separator: "\n")
            let first = cell.findings.first { $0.outcome == cell.outcome }
            let message = first.map { "\(cell.severity.rawValue): expected \($0.expected), actual \($0.actual)" } ?? cell.outcome.rawValue
            let elements: [JUnitXML.Element]
            switch cell.outcome {
            case .pass: elements = []
            case .fail:
                failures += 1
                elements = [.failure(message: message, type: cell.severity.rawValue, text: details)]
            case .waived:
                skipped += 1
                elements = [.skipped(message: "waived: \(message)"), .systemOut(details)]
            case .incomplete:
                errors += 1
                elements = [.error(message: "incomplete: \(first?.actual ?? "")", type: "incomplete", text: details)]
            }
            testcases.append(.init(classname: host.name + "." + cell.check, name: cell.check, elements: elements))
        }
        var properties: [(String, String)] = [("numaguard.verdict", host.verdict.rawValue), ("numaguard.directory", host.directory)]
        if let sha256 = host.sha256 { properties.append(("numaguard.certificate_sha256", sha256)) }
        if let certificate = host.certificate {
            properties.append(("numaguard.policy_digest", certificate.policyDigest))
            properties.append(("numaguard.kernel_release", certificate.kernelRelease))
            properties.append(("numaguard.tool_version", certificate.toolVersion))
        }
        return JUnitXML.Suite(
            name: "numaguard certify of \(host.name)",
            counts: .init(tests: testcases.count, failures: failures, errors: errors, skipped: skipped),
            timestamp: host.certificate?.certifiedAt, hostname: host.certificate?.hostname, properties: properties,
            testcases: testcases, systemOut: host.notes.isEmpty ? nil : host.notes.joined(separator: "\n"))
    }
}

/// `fleet report --format prometheus` (and fleet.prom), for a textfile collector or a
/// Pushgateway: the fleet's verdict, hosts per verdict, each host's verdict and certificate
/// age, and hosts per failing check. Label values are escaped by PrometheusText.
public enum FleetReportPrometheus {
    public static func render(_ report: FleetReport) -> String {
        var text = PrometheusText()
        text.family("numaguard_fleet_certified", .gauge, "1 when every host's certificate is verified, fresh and certified.",
                    [([], report.status == .success ? "1" : "0")])
        text.family("numaguard_fleet_exit_status", .gauge, "fleet report's exit status: 0 certified, 1 a host failed, 3 a host incomplete.",
                    [([], String(report.status.rawValue))])
        text.family("numaguard_fleet_hosts", .gauge, "Hosts per verdict.", Verdict.allCases.map { verdict in
            ([("verdict", verdict.rawValue)], String(report.hosts.filter { $0.verdict == verdict }.count))
        })
        text.family("numaguard_fleet_host_verdict", .gauge, "1 for each host, labelled with its verdict.",
                    report.hosts.map { ([("host", $0.name), ("verdict", $0.verdict.rawValue)], "1") })
        text.family("numaguard_fleet_certificate_age_seconds", .gauge, "Age of each verified certificate with a certified_at.",
                    report.hosts.compactMap { host in host.certificate?.ageSeconds.map { ([("host", host.name)], String($0)) } })
        text.family("numaguard_fleet_check_hosts", .gauge, "Hosts on which a check did not pass, by outcome.",
                    report.byCheck.map { ([("check", $0.check), ("outcome", $0.outcome.rawValue)], String($0.hosts.count)) })
        return text.output
    }
}
