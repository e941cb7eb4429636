import NumaguardCore
import NumaguardHost

/// `fleet report`: every host's verdict, and what the fleet has in common (a failure shared
/// by many hosts is one line, not one per host).
public struct FleetReport: Encodable, Sendable {
    /// RFC 3339 UTC: the instant ages were measured from (now, or --now).
    public var generatedAt: String
    public var maxAgeSeconds: Int
    public var hosts: [FleetHost]
    /// Checks that did not pass everywhere, worst outcome first, then by how many hosts.
    public var byCheck: [CheckGroup]
    /// The policies the verified certificates were judged against, most hosts first: hosts
    /// certified against another policy than the rest are certified for something else.
    public var policies: [PolicyGroup]

    /// One check with one outcome across hosts, split by what was seen (`actual`).
    public struct CheckGroup: Encodable, Sendable {
        public var check: String
        public var outcome: CertificateRecord.Outcome
        public var severity: CertificateRecord.Severity
        public var hosts: [String]
        public var actuals: [ActualGroup]
    }

    public struct ActualGroup: Encodable, Sendable {
        public var actual: String
        public var hosts: [String]
    }

    public struct PolicyGroup: Encodable, Sendable {
        public var digest: String
        public var files: [String]
        public var hosts: [String]
    }

    /// 1 when any host fails (anything but certified or incomplete), else 3 when any host is
    /// incomplete, else 0.
    public var status: ExitStatus {
        let statuses = hosts.map(\.verdict.status)
        if statuses.contains(.violations) { return .violations }
        if statuses.contains(.incomplete) { return .incomplete }
        return .success
    }

    /// Hosts by verdict, in Verdict's order, each group in the order the hosts were given.
    public var byVerdict: [(Verdict, [FleetHost])] {
        Verdict.allCases.compactMap { verdict in
            let members = hosts.filter { $0.verdict == verdict }
            return members.isEmpty ? nil : (verdict, members)
        }
    }

    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at", maxAgeSeconds = "max_age_seconds", status, summary, hosts
        case byCheck = "by_check", policies
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(generatedAt, forKey: .generatedAt)
        try container.encode(maxAgeSeconds, forKey: .maxAgeSeconds)
        try container.encode(status.rawValue, forKey: .status)
        var summary = Dictionary(uniqueKeysWithValues: Verdict.allCases.map { ($0.rawValue, 0) })
        for host in hosts { summary[host.verdict.rawValue, default: 0] += 1 }
        summary["hosts"] = hosts.count
        try container.encode(summary, forKey: .summary)
        try container.encode(hosts, forKey: .hosts)
        try container.encode(byCheck, forKey: .byCheck)
        try container.encode(policies, forKey: .policies)
    }
}

extension FleetReport {
    /// Judges every host (`now` and `maxAge` in seconds), then what they share. Nothing a host
    /// wrote stops the report: a certificate that cannot be read is that host's verdict.
    public static func make(_ collected: [CollectedHost], now: Int, maxAge: Int) -> FleetReport {
        finish(collected.map { HostJudgement.judge($0, now: now, maxAge: maxAge) }, now: now, maxAge: maxAge)
    }

    /// The same, reading and judging one host directory at a time, so at most one host's
    /// certificate is held at once (the copy check needs only each host's digest and identity).
    /// Throws only for a directory that cannot be opened at all (exit 66).
    public static func make(reading directories: [String], now: Int, maxAge: Int) throws(InputFileError) -> FleetReport {
        var hosts: [FleetHost] = []
        hosts.reserveCapacity(directories.count)
        for (directory, name) in zip(directories, FleetNames.forDirectories(directories)) {
            hosts.append(HostJudgement.judge(try CollectedHostReader.read(directory, name: name), now: now, maxAge: maxAge))
        }
        return finish(hosts, now: now, maxAge: maxAge)
    }

    static func finish(_ judged: [FleetHost], now: Int, maxAge: Int) -> FleetReport {
        var hosts = judged
        HostIdentity.markCopies(&hosts)
        return FleetReport(generatedAt: UTCTime.text(Double(now)), maxAgeSeconds: maxAge, hosts: hosts,
                           byCheck: checkGroups(hosts), policies: policyGroups(hosts))
    }

    /// Only hosts whose certificates were verified (stale ones included: what they said is
    /// still what they said) count here.
    static func checkGroups(_ hosts: [FleetHost]) -> [CheckGroup] {
        var order: [String] = []
        var groups: [String: CheckGroup] = [:]
        var actualOrder: [String: [String]] = [:]
        var actualHosts: [String: [String: [String]]] = [:]
        for host in hosts where host.certificate != nil {
            for cell in host.checks where cell.outcome != .pass {
                let key = cell.outcome.rawValue + " " + cell.check
                if groups[key] == nil {
                    order.append(key)
                    groups[key] = CheckGroup(check: cell.check, outcome: cell.outcome, severity: cell.severity, hosts: [], actuals: [])
                }
                groups[key]?.hosts.append(host.name)
                if let severity = groups[key]?.severity, cell.severity > severity { groups[key]?.severity = cell.severity }
                let actuals = Set(cell.findings.filter { $0.outcome == cell.outcome }.map(\.actual)).sorted()
                for actual in actuals {
                    if actualHosts[key]?[actual] == nil { actualOrder[key, default: []].append(actual) }
                    actualHosts[key, default: [:]][actual, default: []].append(host.name)
                }
            }
        }
        let result = order.compactMap { key -> CheckGroup? in
            guard var group = groups[key] else { return nil }
            group.actuals = (actualOrder[key] ?? []).map { ActualGroup(actual: $0, hosts: actualHosts[key]?[$0] ?? []) }
                .sorted { $0.hosts.count != $1.hosts.count ? $0.hosts.count > $1.hosts.count : $0.actual < $1.actual }
            return group
        }
        return result.sorted { lhs, rhs in
            if lhs.outcome != rhs.outcome { return lhs.outcome > rhs.outcome }
            if lhs.hosts.count != rhs.hosts.count { return lhs.hosts.count > rhs.hosts.count }
            return lhs.check < rhs.check
        }
    }

    static func policyGroups(_ hosts: [FleetHost]) -> [PolicyGroup] {
        var order: [String] = []
        var groups: [String: PolicyGroup] = [:]
        for host in hosts {
            guard let certificate = host.certificate else { continue }
            let digest = certificate.policyDigest
            if groups[digest] == nil {
                order.append(digest)
                groups[digest] = PolicyGroup(digest: digest, files: [], hosts: [])
            }
            groups[digest]?.hosts.append(host.name)
            if groups[digest]?.files.contains(certificate.policyFile) == false { groups[digest]?.files.append(certificate.policyFile) }
        }
        return order.compactMap { groups[$0] }.sorted { $0.hosts.count > $1.hosts.count }
    }
}
