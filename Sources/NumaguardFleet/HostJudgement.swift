import NumaguardCore
import NumaguardOutput
import NumaguardReport

/// Judges one collected host, pure: the digest first (nothing in a certificate whose digest
/// does not match is believed), then the certificate's own verdict and its age. Nothing a
/// host wrote stops the report: a verified certificate that is not one this numaguard reads
/// (another kind or format_version, malformed, a certified_at that is not a time) is that
/// host's `unreadable` verdict, since the host controls both the certificate and its digest.
enum HostJudgement {
    /// Clocks of the hosts and of the machine running the report may disagree a little; a
    /// certificate further in the future than this is not believed to be fresh.
    static let clockSkewSeconds = 300

    static func judge(_ host: CollectedHost, now: Int, maxAge: Int) -> FleetHost {
        var row = FleetHost(name: host.name, directory: host.directory, verdict: .noCertificate, reason: nil, sha256: nil,
                            recordedExitStatus: nil, certificate: nil, checks: [], notes: [])
        switch host.exitStatus {
        case .absent: break
        case let .refused(reason): row.notes.append("exit-status not read: \(reason)")
        case let .bytes(bytes):
            let text = String(decoding: bytes, as: UTF8.self).trimmingSpaces
            if let value = Int(text), (0...255).contains(value) {
                row.recordedExitStatus = value
            } else {
                row.notes.append("exit-status does not hold an exit status (0-255)")
            }
        }
        let bytes: [UInt8]
        switch host.certificate {
        case .absent:
            row.reason = row.recordedExitStatus.map { status in
                [0, 1, 3].contains(status)
                    ? "no certificate.json, though certify exited \(status) (\(meaning(status))), which writes one: it was not fetched or was removed"
                    : "no certificate.json: certify exited \(status) (\(meaning(status))) and wrote none"
            } ?? "no certificate.json and no exit-status: certify did not run here, or nothing was fetched"
            return row
        case let .refused(reason):
            row.verdict = .unreadable
            row.reason = "certificate.json: \(reason)"
            return row
        case let .bytes(read):
            bytes = read
        }
        let actual = SHA256.hex(bytes)
        row.sha256 = actual
        switch host.digest {
        case .absent:
            row.verdict = .unverified
            row.reason = "no certificate.sha256: the certificate cannot be checked"
            return row
        case let .refused(reason):
            row.verdict = .unverified
            row.reason = "certificate.sha256: \(reason)"
            return row
        case let .bytes(recorded):
            switch DigestLine.parse(recorded) {
            case let .failure(why):
                row.verdict = .unverified
                row.reason = "certificate.sha256 \(why)"
                return row
            case let .success(expected) where expected != actual:
                row.verdict = .tampered
                row.reason = "certificate.json's sha256 is \(actual), certificate.sha256 records \(expected)"
                return row
            case .success:
                break
            }
        }
        let path = host.directory + "/certificate.json"
        let record: CertificateRecord
        do {
            record = try CertificateRecord.parse(bytes)
        } catch {
            row.verdict = .unreadable
            row.reason = "\(path) matches its digest but is not a certificate numaguard can read: \(error)"
            return row
        }
        let status = record.status
        var facts = CertificateFacts(
            hostname: record.audit.host.hostname, machineID: record.audit.host.machineID, bootID: record.audit.host.bootID,
            kernelRelease: record.audit.host.kernelRelease, toolVersion: record.toolVersion, certifiedAt: record.certifiedAt,
            ageSeconds: nil, policyFile: record.audit.policyFile, policyDigest: record.audit.policyDigest,
            failOn: record.audit.failOn.rawValue, status: status.rawValue)
        row.checks = cells(record.audit.findings)
        if let note = HostIdentity.hostnameNote(record.audit.host.hostname, directory: host.directory) { row.notes.append(note) }
        row.verdict = switch status {
        case .success: .certified
        case .incomplete: .incomplete
        default: .notCertified
        }
        if let recordedStatus = row.recordedExitStatus, recordedStatus != Int(status.rawValue) {
            row.notes.append("exit-status records \(recordedStatus), the certificate judges \(status.rawValue): the certificate counts")
        }
        if let certifiedAt = record.certifiedAt {
            guard let then = Timestamp.epochSeconds(certifiedAt) else {
                row.verdict = .unreadable
                row.reason = "\(path) matches its digest but its certified_at \"\(certifiedAt)\" is not an RFC 3339 UTC time"
                row.checks = []
                return row
            }
            let age = now - then
            facts.ageSeconds = age
            if age > maxAge {
                row.verdict = .stale
                row.reason = "certified \(Age.text(age)) ago (\(certifiedAt)), older than --max-age \(Age.text(maxAge))"
            } else if age < -clockSkewSeconds {
                row.verdict = .stale
                row.reason = "certified_at \(certifiedAt) is \(Age.text(-age)) in the future: this host's clock or the certificate is wrong"
            }
        } else {
            row.verdict = .stale
            row.reason = "no certified_at (written by numaguard \(record.toolVersion), before certify recorded it): age unknown"
        }
        row.certificate = facts
        return row
    }

    /// Findings to one cell per check ID, sorted by ID: the worst outcome, and the highest
    /// severity among the findings with that outcome.
    static func cells(_ findings: [CertificateRecord.Finding]) -> [CheckCell] {
        var byCheck: [String: CheckCell] = [:]
        for finding in findings {
            var cell = byCheck[finding.check] ?? CheckCell(check: finding.check, outcome: finding.outcome, severity: finding.severity, findings: [])
            if finding.outcome > cell.outcome {
                cell.outcome = finding.outcome
                cell.severity = finding.severity
            } else if finding.outcome == cell.outcome {
                cell.severity = max(cell.severity, finding.severity)
            }
            if finding.outcome != .pass {
                cell.findings.append(.init(outcome: finding.outcome, subject: finding.subject, expected: finding.expected, actual: finding.actual))
            }
            byCheck[finding.check] = cell
        }
        return byCheck.values.sorted { $0.check < $1.check }
    }

    /// certify's exit statuses in words (its --help), for a host that left no certificate.
    static func meaning(_ status: Int) -> String {
        switch status {
        case 0: "certified"
        case 1: "violations"
        case 3: "incomplete"
        case 64: "usage"
        case 66: "the policy or --launch-records missing or unreadable"
        case 69: "numaguard-tool missing"
        case 71: "host unreadable"
        case 73: "--out or a report file could not be written"
        case 78: "invalid policy"
        default: "not one of certify's exit statuses"
        }
    }
}

/// certificate.sha256 as certify writes it, sha256sum's format: `<64 hex>  certificate.json`
/// and a newline. One line naming certificate.json; anything else is not a digest of it.
enum DigestLine {
    static let maximumBytes = 4096

    static func parse(_ bytes: [UInt8]) -> Result<String, Why> {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        guard !text.contains("\n") else { return .failure(Why("holds more than one line")) }
        let hex = text.prefix(64)
        guard hex.count == 64, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) })
        else { return .failure(Why("does not start with a sha256 (64 hexadecimal digits)")) }
        let rest = text.dropFirst(64)
        guard rest == "  certificate.json" || rest == " *certificate.json" else {
            return .failure(Why("does not name certificate.json after the digest (sha256sum's \"<digest>  certificate.json\")"))
        }
        return .success(hex.lowercased())
    }

    struct Why: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }
}

extension DigestLine.Why: CustomStringConvertible {
    var description: String { text }
}

/// Durations for people: `45s`, `12m`, `3h 20m`, `30h`, `2d 4h` (hours up to two days, as
/// --max-age is usually given).
enum Age {
    static func text(_ seconds: Int) -> String {
        let seconds = max(0, seconds)
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" }
        if seconds < 2 * 86_400 { return "\(seconds / 3600)h" + (seconds % 3600 >= 60 ? " \(seconds % 3600 / 60)m" : "") }
        return "\(seconds / 86_400)d" + (seconds % 86_400 >= 3600 ? " \(seconds % 86_400 / 3600)h" : "")
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
