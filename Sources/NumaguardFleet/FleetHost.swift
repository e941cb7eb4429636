import NumaguardCore
import NumaguardOutput

/// One host's certify output as a collector left it in its directory: each file's bytes,
/// absent, or refused (a link, a FIFO, too large) with the reason.
public struct CollectedHost: Sendable {
    public enum File: Sendable {
        case absent
        case refused(String)
        case bytes([UInt8])
    }

    public var name: String
    public var directory: String
    public var certificate: File
    public var digest: File
    public var exitStatus: File

    public init(name: String, directory: String, certificate: File, digest: File, exitStatus: File) {
        self.name = name
        self.directory = directory
        self.certificate = certificate
        self.digest = digest
        self.exitStatus = exitStatus
    }
}

/// Where a host stands in the fleet. Only `certified` passes; `incomplete` is the host's own
/// "could not judge everything" (exit 3); every other verdict fails the fleet (exit 1).
public enum Verdict: String, Codable, Sendable, CaseIterable {
    /// certificate.json's sha256 is not the one certificate.sha256 records, or the certificate
    /// is byte-identical to another host's or carries another host's machine_id or boot_id (a
    /// copy, not this host's own).
    case tampered
    /// No certificate.sha256, or one that is not `<64 hex>  certificate.json`: nothing to check against.
    case unverified
    /// certificate.json is there but was refused (a symbolic link, not a regular file, too
    /// large), or it matches its digest but is not a certificate this numaguard reads (another
    /// kind or format_version, not JSON, nested too deep, a certified_at that is not a time).
    case unreadable
    /// No certificate.json: certify failed before writing one (exit-status says how) or nothing was fetched.
    case noCertificate = "no_certificate"
    /// Verified, but older than --max-age (or of unknown age): it says nothing about the host now.
    case stale
    /// Verified, fresh, and certify's verdict was 1: a failure at or above its fail_on.
    case notCertified = "not_certified"
    /// Verified, fresh, and certify's verdict was 3: something could not be judged.
    case incomplete
    case certified

    /// The heading hosts of this verdict are grouped under in text.
    public var title: String {
        switch self {
        case .tampered: "TAMPERED"
        case .unverified: "UNVERIFIED"
        case .unreadable: "UNREADABLE"
        case .noCertificate: "NO CERTIFICATE"
        case .stale: "STALE"
        case .notCertified: "NOT CERTIFIED"
        case .incomplete: "INCOMPLETE"
        case .certified: "CERTIFIED"
        }
    }

    /// What this verdict does to the fleet's exit status.
    public var status: ExitStatus {
        switch self {
        case .certified: .success
        case .incomplete: .incomplete
        default: .violations
        }
    }
}

/// One check on one host: the worst outcome of its findings (a check with several subjects,
/// one per node or process, fails when any fails), and the findings that did not pass.
public struct CheckCell: Encodable, Sendable {
    public var check: String
    public var outcome: CertificateRecord.Outcome
    public var severity: CertificateRecord.Severity
    public var findings: [Detail]

    public struct Detail: Encodable, Sendable {
        public var outcome: CertificateRecord.Outcome
        public var subject: String?
        public var expected: String
        public var actual: String
    }
}

/// What a verified certificate says about who and when (absent when the certificate is not trusted).
public struct CertificateFacts: Encodable, Sendable {
    public var hostname: String?
    public var machineID: String?
    public var bootID: String?
    public var kernelRelease: String
    public var toolVersion: String
    public var certifiedAt: String?
    public var ageSeconds: Int?
    public var policyFile: String
    public var policyDigest: String
    public var failOn: String
    /// certify's exit status, judged again from the certificate's findings.
    public var status: Int32

    enum CodingKeys: String, CodingKey {
        case hostname, machineID = "machine_id", bootID = "boot_id", kernelRelease = "kernel_release"
        case toolVersion = "tool_version", certifiedAt = "certified_at", ageSeconds = "age_seconds"
        case policyFile = "policy_file", policyDigest = "policy_digest", failOn = "fail_on", status
    }
}

/// One host's row of the fleet report.
public struct FleetHost: Encodable, Sendable {
    /// The directory's base name (the collector's name for the host: Ansible's inventory_hostname),
    /// or the directory as given when two base names collide.
    public var name: String
    public var directory: String
    public var verdict: Verdict
    /// Why, when the verdict is not the certificate's own (tampered, stale, no certificate...).
    public var reason: String?
    /// sha256 of certificate.json as read, when there was one.
    public var sha256: String?
    /// The collector's exit-status file, when present and a number; the certificate's own
    /// verdict wins when both exist (the file is not covered by the digest).
    public var recordedExitStatus: Int?
    public var certificate: CertificateFacts?
    /// By check ID, sorted; empty unless the certificate was verified.
    public var checks: [CheckCell]
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case name, directory, verdict, reason, sha256, recordedExitStatus = "recorded_exit_status", certificate, checks, notes
    }
}
