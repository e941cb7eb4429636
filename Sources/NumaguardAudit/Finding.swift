import NumaguardCore
import NumaguardPolicy

public enum Severity: String, Sendable, Encodable, Comparable, CaseIterable {
    case info, warning, critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

public enum Outcome: String, Sendable, Encodable {
    /// The host is as declared.
    case pass
    /// It is not.
    case fail
    /// It is not, and a current waiver says that is accepted for now.
    case waived
    /// It could not be judged (permission, an unreadable file): never a pass.
    case incomplete
}

/// The result of one check on one subject. `id` is typed (`CheckID`); `check`, its stable
/// dotted form (`host.kernel.numa_balancing`, `workload.trading-engine.memory.policy`,
/// `node.0.reserve`), keys waivers, JUnit test names and metric labels.
public struct Finding: Equatable, Sendable, Encodable {
    public var id: CheckID
    /// The dotted ID, as every output prints it.
    public var check: String { id.description }
    public var severity: Severity
    public var outcome: Outcome
    /// What was judged when it is not the host as a whole: a process or a node.
    public var subject: String?
    public var pid: Int?
    public var expected: String
    public var actual: String
    /// The numaguard action that fixes it, or "restart through numaguard run" where only a
    /// restart is safe.
    public var remediation: String
    public var waiver: WaiverNote?

    public struct WaiverNote: Equatable, Sendable, Encodable {
        public var reason: String
        public var expires: String
        public var expired: Bool
    }

    public init(check: CheckID, severity: Severity, outcome: Outcome, subject: String? = nil, pid: Int? = nil,
                expected: String, actual: String, remediation: String) {
        self.id = check
        self.severity = severity
        self.outcome = outcome
        self.subject = subject
        self.pid = pid
        self.expected = expected
        self.actual = actual
        self.remediation = remediation
    }

    /// A check that held.
    public static func pass(_ check: CheckID, _ severity: Severity, subject: String? = nil, pid: Int? = nil,
                            expected: String, actual: String) -> Finding {
        Finding(check: check, severity: severity, outcome: .pass, subject: subject, pid: pid,
                expected: expected, actual: actual, remediation: "")
    }

    /// Pass or fail on a condition, with the same words either way.
    public static func judge(_ holds: Bool, _ check: CheckID, _ severity: Severity, subject: String? = nil, pid: Int? = nil,
                             expected: String, actual: String, remediation: String) -> Finding {
        Finding(check: check, severity: severity, outcome: holds ? .pass : .fail, subject: subject, pid: pid,
                expected: expected, actual: actual, remediation: holds ? "" : remediation)
    }

    enum CodingKeys: String, CodingKey { case check, severity, outcome, subject, pid, expected, actual, remediation, waiver }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(check, forKey: .check)
        try container.encode(severity, forKey: .severity)
        try container.encode(outcome, forKey: .outcome)
        try container.encodeIfPresent(subject, forKey: .subject)
        try container.encodeIfPresent(pid, forKey: .pid)
        try container.encode(expected, forKey: .expected)
        try container.encode(actual, forKey: .actual)
        try container.encode(remediation, forKey: .remediation)
        try container.encodeIfPresent(waiver, forKey: .waiver)
    }
}

/// Applies waivers: a failing finding covered by a current waiver becomes `waived`; one
/// covered only by an expired waiver stays failed and says so.
public enum Waivers {
    public static func apply(_ waivers: [Waiver], to findings: [Finding], today: Day) -> [Finding] {
        findings.map { finding in
            guard finding.outcome == .fail, let waiver = waivers.first(where: { $0.covers(finding.check) }) else { return finding }
            var result = finding
            let expired = waiver.expires < today
            result.waiver = .init(reason: waiver.reason, expires: waiver.expires.description, expired: expired)
            if !expired { result.outcome = .waived }
            return result
        }
    }
}
