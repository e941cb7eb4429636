import Foundation
import NumaguardCore
import NumaguardFleet
import TestSupport
import XCTest

/// Real certify output to build fleets from: `numaguard certify` run once per process over
/// recorded hosts (linux-rt-2node passes the baseline policy, linux-6.1-2node fails it), each
/// test copying the directories it needs and then tampering, ageing or removing files.
enum CertifiedHosts {
    struct Output {
        /// certify's --out directory, as the collector would have fetched it.
        let directory: URL
        let status: Int32
    }

    static let policy = Command.repositoryRoot.appendingPathComponent("policies/latency-baseline.yaml").path

    /// Certified once and kept for the whole test run (certify's window makes it slow).
    nonisolated(unsafe) private static var cache: [String: Output] = [:]
    private static let lock = NSLock()

    static func certify(_ fixture: String) throws -> Output {
        lock.lock()
        defer { lock.unlock() }
        if let output = cache[fixture] { return output }
        // Kept for the whole run, removed when the test process exits (nothing else would).
        if cache.isEmpty { atexit { CertifiedHosts.removeAll() } }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-cert-\(fixture)-\(UUID().uuidString)")
        let result = try Command.numaguard(["certify", "--policy", policy, "--host-root", Fixtures.path(fixture),
                                            "--out", directory.path, "--window", "10ms"])
        guard [0, 1, 3].contains(result.status) else {
            throw NSError(domain: "fleet", code: 1, userInfo: [NSLocalizedDescriptionKey: "certify \(fixture): \(result.status) \(result.stderr)"])
        }
        try "\(result.status)\n".write(to: directory.appendingPathComponent("exit-status"), atomically: true, encoding: .utf8)
        let output = Output(directory: directory, status: result.status)
        cache[fixture] = output
        return output
    }

    private static func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        for output in cache.values { try? FileManager.default.removeItem(at: output.directory) }
        cache = [:]
    }

    /// A fleet directory: for each (host name, fixture), that fixture's certify output as if
    /// certify had run there `index` seconds earlier than on the first host: recorded hosts
    /// have one identity, and two certificates of the same host in the same second would be
    /// byte-identical, which the report calls a copy.
    static func fleet(_ hosts: [(String, String)]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (index, (name, fixture)) in hosts.enumerated() {
            let host = root.appendingPathComponent(name)
            try FileManager.default.copyItem(at: try certify(fixture).directory, to: host)
            let certifiedAt = try certifiedAt(host)
            let shifted = UTCTime.text(Double((Timestamp.epochSeconds(certifiedAt) ?? 0) - index))
            try rewrite(host) { $0.replacingOccurrences(of: "\"certified_at\" : \"\(certifiedAt)\"", with: "\"certified_at\" : \"\(shifted)\"") }
        }
        return root
    }

    /// Rewrites a host's certificate.json with `edit` and records the new digest as certify
    /// would: a certificate that is different but verifies (as if certify had written it so).
    static func rewrite(_ host: URL, _ edit: (String) -> String) throws {
        let file = host.appendingPathComponent("certificate.json")
        let edited = edit(try String(contentsOf: file, encoding: .utf8))
        try edited.write(to: file, atomically: true, encoding: .utf8)
        try "\(SHA256.hex(edited))  certificate.json\n".write(to: host.appendingPathComponent("certificate.sha256"), atomically: true, encoding: .utf8)
    }

    /// The instant certify recorded in a host's certificate.
    static func certifiedAt(_ host: URL) throws -> String {
        let json = try Command.json(String(contentsOf: host.appendingPathComponent("certificate.json"), encoding: .utf8))
        return try XCTUnwrap(json["certified_at"] as? String)
    }
}
