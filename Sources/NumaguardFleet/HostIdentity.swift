/// Who a certificate says it is from, checked across the fleet. The digest only proves the
/// certificate was not changed after the host wrote its certificate.sha256: both come from
/// the host, so a host can deliver another host's certificate with a matching digest. What a
/// copy cannot hide is the identity certify recorded (machine_id, boot_id) or its bytes, so
/// two hosts sharing either are both failed; a hostname that is not the directory's is shown.
enum HostIdentity {
    /// Two directories holding the same certificate byte for byte, or two verified
    /// certificates naming the same machine_id or boot_id: at most one of them is that host's
    /// own, and nothing says which, so all of them are tampered, each naming the others.
    /// Only digests and the identity strings are kept per host, never the certificates.
    static func markCopies(_ hosts: inout [FleetHost]) {
        var reasons: [Int: String] = [:]
        // Identities first (read before the byte check clears a copy's facts); the byte check's
        // reason wins for a host both find, being the more exact.
        for (field, value) in [("machine_id", { (facts: CertificateFacts) in facts.machineID }),
                               ("boot_id", { (facts: CertificateFacts) in facts.bootID })] {
            var byValue: [String: [Int]] = [:]
            for (index, host) in hosts.enumerated() {
                guard let facts = host.certificate, let id = value(facts), !id.trimmingSpaces.isEmpty else { continue }
                byValue[id, default: []].append(index)
            }
            for indices in byValue.values where indices.count > 1 {
                for index in indices where reasons[index] == nil {
                    reasons[index] = "certificate.json carries the same \(field) as the certificate in "
                        + "\(others(indices, index) { hosts[$0].directory }): a copy of one host's certificate, not this host's own"
                }
            }
        }
        var byDigest: [String: [Int]] = [:]
        for (index, host) in hosts.enumerated() {
            if let digest = host.sha256 { byDigest[digest, default: []].append(index) }
        }
        for indices in byDigest.values where indices.count > 1 {
            for index in indices {
                reasons[index] = "certificate.json is byte-identical to that of \(others(indices, index) { hosts[$0].name }): a copy, not this host's own"
            }
        }
        for (index, reason) in reasons {
            hosts[index].verdict = .tampered
            hosts[index].reason = reason
            hosts[index].checks = []
            hosts[index].certificate = nil
        }
    }

    /// The other members of a group, the first `othersNamed` by name: a golden image cloned to a
    /// thousand hosts with one machine_id must not make each reason a thousand names long.
    static let othersNamed = 10

    static func others(_ indices: [Int], _ index: Int, _ name: (Int) -> String) -> String {
        // Only the first othersNamed + 1 looked at: linear in the group, not quadratic.
        let named = indices.prefix(othersNamed + 1).filter { $0 != index }.prefix(othersNamed).map(name).joined(separator: ", ")
        let count = indices.count - 1
        return count > othersNamed ? named + " and \(count - othersNamed) more" : named
    }

    /// A note when the certificate's own hostname is not the collector's name for the host
    /// (the directory's base name): a certificate of another host, or a host named otherwise
    /// than in the inventory. Not a failure: the directory names the host either way. A short
    /// name and its fully qualified form (`web1`, `web1.example.com`) are the same host.
    static func hostnameNote(_ hostname: String?, directory: String) -> String? {
        guard let hostname, !hostname.isEmpty else { return nil }
        let base = FleetNames.baseName(directory)
        func short(_ name: String) -> Substring { name.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first ?? Substring(name) }
        guard hostname != base, short(hostname) != short(base) else { return nil }
        return "the certificate names its host \"\(hostname)\", not \(base) (its directory): another host's certificate, or a host named otherwise than in the inventory"
    }
}
