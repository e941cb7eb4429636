import NumaguardCore
import NumaguardOutput

/// An audit that could not judge the host at all: the policy did not load, an input was
/// missing, the host could not be read. It still speaks every format the caller asked for,
/// so a textfile from an earlier run cannot go on saying `numaguard_audit_compliant 1`, and a
/// CI job reading JSON or JUnit gets a document that says what went wrong instead of nothing.
public struct AuditFailure: Sendable, Encodable, Equatable {
    /// Why the audit did not run; a bounded label value for alerts.
    public enum Reason: String, Sendable, Encodable, CaseIterable {
        case invalidPolicy = "invalid_policy"
        case inputUnreadable = "input_unreadable"
        case hostUnreadable = "host_unreadable"
    }

    public var reason: Reason
    public var message: String
    public var policyFile: String
    public var exitStatus: ExitStatus

    public init(reason: Reason, message: String, policyFile: String, exitStatus: ExitStatus) {
        self.reason = reason
        self.message = message
        self.policyFile = policyFile
        self.exitStatus = exitStatus
    }

    enum CodingKeys: String, CodingKey { case error, policyFile = "policy_file" }
    enum ErrorKeys: String, CodingKey { case reason, message, exitStatus = "exit_status" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(policyFile, forKey: .policyFile)
        var error = container.nestedContainer(keyedBy: ErrorKeys.self, forKey: .error)
        try error.encode(reason.rawValue, forKey: .reason)
        try error.encode(message, forKey: .message)
        try error.encode(exitStatus.rawValue, forKey: .exitStatus)
    }

    /// The exposition: not compliant, which reason (every reason listed, so an alert on
    /// `numaguard_audit_error == 1` needs no absent() guard), and when it ran.
    public func prometheus(timestamp: Double) -> String {
        var text = PrometheusText()
        text.family("numaguard_audit_compliant", .gauge, PrometheusRenderer.compliantHelp, [([], "0")])
        text.family("numaguard_audit_error", .gauge, PrometheusRenderer.errorHelp,
                    Reason.allCases.map { ([("reason", $0.rawValue)], $0 == reason ? "1" : "0") })
        text.family("numaguard_audit_last_run_timestamp_seconds", .gauge, PrometheusRenderer.lastRunHelp,
                    [([], PrometheusText.format(timestamp))])
        return text.output
    }

    /// One suite with one errored testcase naming the reason, valid under the same schema as
    /// a full report (the same writer).
    public func junit(timestamp: String? = nil) -> String {
        JUnitXML.render(JUnitXML.Suite(
            name: "numaguard audit", counts: .init(tests: 1, failures: 0, errors: 1, skipped: 0), timestamp: timestamp,
            testcases: [JUnitXML.TestCase(classname: "numaguard.audit", name: "audit [\(policyFile)]", elements: [
                .error(message: message, type: reason.rawValue, text: "the audit did not run (exit \(exitStatus.rawValue)):\n\(message)"),
            ])]))
    }
}
