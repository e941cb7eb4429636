import NumaguardCore
import NumaguardOutput
import NumaguardReport

/// What `fleet report` reads back from a certificate.json (certify's `Certificate`, kind
/// `certificate`, format_version 1): the fields that judge and identify the host, and
/// nothing else, so members added later are ignored rather than refused.
public struct CertificateRecord: Decodable, Sendable {
    public var toolVersion: String
    /// Absent in certificates written before certify recorded it: their age is unknown.
    public var certifiedAt: String?
    public var windowSeconds: Double
    public var audit: Audit

    public struct Audit: Decodable, Sendable {
        public var policyFile: String
        public var policyDigest: String
        public var host: Host
        public var failOn: Severity
        public var findings: [Finding]
        public var unreadable: [String]

        enum CodingKeys: String, CodingKey {
            case policyFile = "policy_file", policyDigest = "policy_digest", host, failOn = "fail_on", findings, unreadable
        }
    }

    public struct Host: Decodable, Sendable {
        public var hostname: String?
        public var machineID: String?
        public var bootID: String?
        public var kernelRelease: String

        enum CodingKeys: String, CodingKey {
            case hostname, machineID = "machine_id", bootID = "boot_id", kernelRelease = "kernel_release"
        }
    }

    public struct Finding: Decodable, Sendable {
        public var check: String
        public var severity: Severity
        public var outcome: Outcome
        public var subject: String?
        public var expected: String
        public var actual: String
    }

    /// The audit's severities, in order (NumaguardAudit's `Severity`, read back).
    public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
        case info, warning, critical

        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
        }
    }

    /// A finding's outcome, ordered from best to worst for a cell that holds several.
    public enum Outcome: String, Codable, Sendable, Comparable, CaseIterable {
        case pass, waived, incomplete, fail

        public static func < (lhs: Outcome, rhs: Outcome) -> Bool {
            (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
        }
    }

    enum CodingKeys: String, CodingKey {
        case toolVersion = "tool_version", certifiedAt = "certified_at", windowSeconds = "window_seconds", audit
    }

    /// certify's exit status, judged again from the findings as AuditReport.status does: 1 when
    /// a failure at or above fail_on remains, else 3 when anything could not be judged, else 0.
    public var status: ExitStatus {
        if audit.findings.contains(where: { $0.outcome == .fail && $0.severity >= audit.failOn }) { return .violations }
        if !audit.unreadable.isEmpty || audit.findings.contains(where: { $0.outcome == .incomplete }) { return .incomplete }
        return .success
    }

    /// The certificate in `bytes`, refusing another kind or format_version before its body,
    /// and a document nesting deeper than `JSONDepth.maximum` before any decoder sees it.
    public static func parse(_ bytes: [UInt8]) throws(DocumentError) -> CertificateRecord {
        if let offset = JSONDepth.exceeded(bytes) {
            throw .notJSON("it nests deeper than \(JSONDepth.maximum) levels at byte \(offset)")
        }
        return try JSONDocument.decode(CertificateRecord.self, kind: .certificate, from: bytes)
    }
}
