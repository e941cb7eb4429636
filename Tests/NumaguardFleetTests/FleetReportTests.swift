import Foundation
import NumaguardCore
@testable import NumaguardFleet
import NumaguardReport
import TestSupport
import XCTest

/// fleet report over real certify output: verified, tampered, unverified, missing, stale,
/// copied and hostile directories, each judged as README "fleet report" says.
final class FleetReportTests: XCTestCase {
    private var cleanup: [URL] = []

    override func tearDown() {
        for url in cleanup { try? FileManager.default.removeItem(at: url) }
    }

    private func fleet(_ hosts: [(String, String)]) throws -> URL {
        let root = try CertifiedHosts.fleet(hosts)
        cleanup.append(root)
        return root
    }

    /// The report of `names` under `root`, ages measured `after` seconds after host `clock`'s certificate.
    private func report(_ root: URL, _ names: [String], after: Int = 60, maxAge: Int = 86_400) throws -> FleetReport {
        let clock = try XCTUnwrap(Timestamp.epochSeconds(try CertifiedHosts.certifiedAt(root.appendingPathComponent(names[0]))))
        let collected = try CollectedHostReader.read(names.map { root.appendingPathComponent($0).path })
        let report = FleetReport.make(collected, now: clock + after, maxAge: maxAge)
        // Reading and judging one directory at a time gives the same report.
        let streamed = try FleetReport.make(reading: names.map { root.appendingPathComponent($0).path }, now: clock + after, maxAge: maxAge)
        XCTAssertEqual(try JSONDocument.render(kind: .fleetReport, streamed), try JSONDocument.render(kind: .fleetReport, report))
        return report
    }

    private func host(_ report: FleetReport, _ name: String) throws -> FleetHost {
        try XCTUnwrap(report.hosts.first { $0.name == name }, "\(name) in \(report.hosts.map(\.name))")
    }

    func testVerifiedCertificatesAreGroupedByVerdictAndFailuresByCheck() throws {
        let root = try fleet([("a", "linux-rt-2node"), ("b", "linux-6.1-2node"), ("c", "linux-6.1-2node"), ("d", "linux-rt-2node")])
        let report = try report(root, ["a", "b", "c", "d"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.certified, .notCertified, .notCertified, .certified])
        XCTAssertEqual(report.status, .violations)
        // One group per failing check, naming both failing hosts, not a line per host.
        let failing = report.byCheck.filter { $0.outcome == .fail }
        XCTAssertFalse(failing.isEmpty)
        for group in failing { XCTAssertEqual(group.hosts, ["b", "c"], group.check) }
        let text = FleetReportText.render(report)
        XCTAssertTrue(text.contains("CERTIFIED (2): a, d"), text)
        XCTAssertTrue(text.contains("NOT CERTIFIED (2): b, c"), text)
        XCTAssertTrue(text.contains("failures by check:"), text)
        XCTAssertTrue(text.contains(": 2 hosts\n"), text)
        XCTAssertTrue(text.hasSuffix("FLEET NOT CERTIFIED (exit 1): 2 of 4 hosts certified; 2 not certified\n"), text)
        // The host × check table: a row per failing host, the passing ones summed up.
        XCTAssertTrue(text.contains("host × check"), text)
        XCTAssertTrue(text.contains("(2 more passing every check)"), text)
        // Only certified hosts: 0.
        XCTAssertEqual(try self.report(root, ["a", "d"]).status, .success)
    }

    func testOneChangedByteIsTamperedAndItsFindingsAreNotBelieved() throws {
        let root = try fleet([("a", "linux-rt-2node"), ("b", "linux-6.1-2node")])
        let file = root.appendingPathComponent("b/certificate.json")
        var bytes = try Array(Data(contentsOf: file))
        // "fail" -> "pass" would be the forger's edit; any byte will do.
        let index = try XCTUnwrap(bytes.firstIndex(of: UInt8(ascii: "f")))
        bytes[index] = UInt8(ascii: "g")
        try Data(bytes).write(to: file)
        let report = try report(root, ["a", "b"])
        let b = try host(report, "b")
        XCTAssertEqual(b.verdict, .tampered)
        XCTAssertTrue(b.reason?.contains("certificate.sha256 records") == true, b.reason ?? "")
        XCTAssertTrue(b.checks.isEmpty)
        XCTAssertNil(b.certificate)
        XCTAssertTrue(report.byCheck.isEmpty, "a tampered certificate's findings are not counted")
        XCTAssertEqual(report.status, .violations)
    }

    func testMissingOrMalformedDigestIsUnverified() throws {
        let root = try fleet([("a", "linux-rt-2node"), ("b", "linux-rt-2node"), ("c", "linux-rt-2node"), ("d", "linux-rt-2node")])
        try FileManager.default.removeItem(at: root.appendingPathComponent("b/certificate.sha256"))
        let c = root.appendingPathComponent("c/certificate.sha256")
        try String(contentsOf: c, encoding: .utf8).replacingOccurrences(of: "certificate.json", with: "other.json").write(to: c, atomically: true, encoding: .utf8)
        let d = root.appendingPathComponent("d/certificate.sha256")
        try ("0123\n" + String(contentsOf: d, encoding: .utf8)).write(to: d, atomically: true, encoding: .utf8)
        let report = try report(root, ["a", "b", "c", "d"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.certified, .unverified, .unverified, .unverified])
        XCTAssertEqual(try host(report, "b").reason, "no certificate.sha256: the certificate cannot be checked")
        XCTAssertTrue(try host(report, "c").reason?.contains("does not name certificate.json") == true)
        XCTAssertTrue(try host(report, "d").reason?.contains("more than one line") == true)
        XCTAssertEqual(report.status, .violations)
    }

    func testADirectoryWithoutACertificateSaysHowCertifyExited() throws {
        let root = try fleet([("a", "linux-rt-2node")])
        let failed = root.appendingPathComponent("b")
        try FileManager.default.createDirectory(at: failed, withIntermediateDirectories: true)
        try "78\n".write(to: failed.appendingPathComponent("exit-status"), atomically: true, encoding: .utf8)
        let empty = root.appendingPathComponent("c")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        // d: certify passed there, but its certificate never arrived.
        let lost = root.appendingPathComponent("d")
        try FileManager.default.createDirectory(at: lost, withIntermediateDirectories: true)
        try "0\n".write(to: lost.appendingPathComponent("exit-status"), atomically: true, encoding: .utf8)
        let report = try report(root, ["a", "b", "c", "d"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.certified, .noCertificate, .noCertificate, .noCertificate])
        XCTAssertEqual(try host(report, "b").reason, "no certificate.json: certify exited 78 (invalid policy) and wrote none")
        XCTAssertTrue(try host(report, "c").reason?.contains("no exit-status") == true)
        XCTAssertEqual(try host(report, "d").reason,
                       "no certificate.json, though certify exited 0 (certified), which writes one: it was not fetched or was removed")
        XCTAssertEqual(report.status, .violations)
    }

    func testOldUnknownAgeAndFutureCertificatesAreStale() throws {
        let root = try fleet([("a", "linux-rt-2node"), ("b", "linux-rt-2node"), ("c", "linux-rt-2node")])
        // b: certified two days earlier; c: written before certify recorded the time.
        let b = root.appendingPathComponent("b"), c = root.appendingPathComponent("c")
        let bAt = try CertifiedHosts.certifiedAt(b), cAt = try CertifiedHosts.certifiedAt(c)
        try CertifiedHosts.rewrite(b) {
            $0.replacingOccurrences(of: bAt, with: UTCTime.text(Double((Timestamp.epochSeconds(bAt) ?? 0) - 2 * 86_400)))
        }
        try CertifiedHosts.rewrite(c) { $0.replacingOccurrences(of: "\"certified_at\" : \"\(cAt)\",", with: "") }
        let report = try report(root, ["a", "b", "c"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.certified, .stale, .stale])
        let (old, unknown) = (try host(report, "b").reason ?? "", try host(report, "c").reason ?? "")
        XCTAssertTrue(old.contains("certified 2d ago ("), old)
        XCTAssertTrue(old.contains("older than --max-age 24h"), old)
        XCTAssertTrue(unknown.contains("age unknown"), unknown)
        // A stale certificate's findings still count (it was verified): none fail here.
        XCTAssertEqual(report.status, .violations)
        // Measured from a day and a bit later, a is stale too; from an hour before it was written, it is in the future.
        XCTAssertEqual(try self.report(root, ["a"], after: 86_400 + 120).hosts[0].verdict, .stale)
        let early = try self.report(root, ["a"], after: -3600).hosts[0]
        XCTAssertEqual(early.verdict, .stale)
        XCTAssertTrue(early.reason?.contains("in the future") == true, early.reason ?? "")
        XCTAssertEqual(try self.report(root, ["a"], after: -60).hosts[0].verdict, .certified, "a minute of clock skew is tolerated")
    }

    func testACopiedCertificateFailsBothHosts() throws {
        let root = try fleet([("a", "linux-rt-2node")])
        try FileManager.default.copyItem(at: root.appendingPathComponent("a"), to: root.appendingPathComponent("b"))
        let report = try report(root, ["a", "b"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.tampered, .tampered])
        XCTAssertTrue(try host(report, "b").reason?.contains("byte-identical to that of a") == true)
    }

    func testAnIncompleteCertificateMakesTheFleetIncomplete() throws {
        let root = try fleet([("a", "linux-rt-2node"), ("b", "linux-rt-2node")])
        try CertifiedHosts.rewrite(root.appendingPathComponent("b")) {
            $0.replacingOccurrences(of: "\"outcome\" : \"pass\"", with: "\"outcome\" : \"incomplete\"")
        }
        let report = try report(root, ["a", "b"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.certified, .incomplete])
        XCTAssertEqual(report.status, .incomplete)
        XCTAssertTrue(report.byCheck.allSatisfy { $0.outcome == .incomplete && $0.hosts == ["b"] })
        XCTAssertTrue(try host(report, "b").notes.contains("exit-status records 0, the certificate judges 3: the certificate counts"))
    }

    /// A host controls both its certificate and its digest: a verified certificate this
    /// numaguard cannot read is that host's `unreadable` verdict, naming the file and what is
    /// wrong, and every other host is still judged (it once threw, stopping the whole report).
    func testAVerifiedCertificateThatCannotBeReadIsThatHostsVerdictOnly() throws {
        let root = try fleet([("a", "linux-rt-2node"), ("b", "linux-rt-2node"), ("c", "linux-rt-2node"), ("d", "linux-rt-2node"),
                              ("e", "linux-rt-2node"), ("f", "linux-6.1-2node")])
        try CertifiedHosts.rewrite(root.appendingPathComponent("b")) { $0.replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 2") }
        try CertifiedHosts.rewrite(root.appendingPathComponent("c")) { $0.replacingOccurrences(of: "\"kind\" : \"certificate\"", with: "\"kind\" : \"snapshot\"") }
        let cAt = try CertifiedHosts.certifiedAt(root.appendingPathComponent("d"))
        try CertifiedHosts.rewrite(root.appendingPathComponent("d")) { $0.replacingOccurrences(of: cAt, with: "yesterday\\u001b[2J") }
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        try CertifiedHosts.rewrite(root.appendingPathComponent("e")) { $0.replacingOccurrences(of: "\"audit\" : {", with: "\"deep\" : \(deep), \"audit\" : {") }
        let report = try report(root, ["a", "b", "c", "d", "e", "f"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.certified, .unreadable, .unreadable, .unreadable, .unreadable, .notCertified])
        XCTAssertEqual(report.status, .violations)
        let reasons = try ["b", "c", "d", "e"].map { try host(report, $0).reason ?? "" }
        XCTAssertTrue(reasons[0].hasSuffix("b/certificate.json matches its digest but is not a certificate numaguard can read: format_version 2 is not one this numaguard reads (it reads 1); use the numaguard that wrote it"), reasons[0])
        XCTAssertTrue(reasons[1].contains("c/certificate.json matches its digest but is not a certificate numaguard can read: not a certificate: its kind is \"snapshot\""), reasons[1])
        XCTAssertTrue(reasons[2].hasSuffix("d/certificate.json matches its digest but its certified_at \"yesterday\u{1b}[2J\" is not an RFC 3339 UTC time"), reasons[2])
        XCTAssertTrue(reasons[3].contains("nests deeper than 64 levels"), reasons[3])
        for name in ["b", "c", "d", "e"] {
            XCTAssertNil(try host(report, name).certificate, "nothing of an unreadable certificate is believed")
            XCTAssertTrue(try host(report, name).checks.isEmpty)
        }
        // Every format carries the verdict; text escapes what the certificate put in the reason.
        let text = FleetReportText.render(report)
        XCTAssertTrue(text.contains("UNREADABLE (4):\n  b: "), text)
        XCTAssertFalse(text.contains("\u{1b}"), text)
        XCTAssertTrue(text.contains("certified_at \"yesterday\\x1b[2J\" is not"), text)
        XCTAssertTrue(FleetReportPrometheus.render(report).contains("numaguard_fleet_host_verdict{host=\"d\",verdict=\"unreadable\"} 1\n"))
        XCTAssertTrue(FleetReportJUnit.render(report).contains("<failure message=\"unreadable: "), FleetReportJUnit.render(report))
        let json = try Command.json(try JSONDocument.render(kind: .fleetReport, report))
        XCTAssertEqual((json["summary"] as? [String: Int])?["unreadable"], 4)
    }

    /// The digest cannot tell a host that delivers another host's certificate with a matching
    /// digest; the identity certify recorded can: the same machine_id or boot_id on two hosts
    /// makes both tampered, each naming the other's directory. Empty identities are not compared.
    func testTwoCertificatesOfOneMachineOrBootAreCopies() throws {
        let root = try fleet([("a", "linux-rt-2node"), ("b", "linux-rt-2node"), ("c", "linux-rt-2node"), ("d", "linux-rt-2node"),
                              ("e", "linux-rt-2node"), ("f", "linux-rt-2node")])
        func identify(_ name: String, machine: String?, boot: String?) throws {
            try CertifiedHosts.rewrite(root.appendingPathComponent(name)) { text in
                let fields = [machine.map { "\"machine_id\" : \"\($0)\"" }, boot.map { "\"boot_id\" : \"\($0)\"" }].compactMap { $0 }
                return fields.isEmpty ? text : text.replacingOccurrences(of: "\"host\" : {", with: "\"host\" : {" + fields.joined(separator: ", ") + ", ")
            }
        }
        try identify("a", machine: "m-1", boot: "b-1")
        try identify("b", machine: "m-1", boot: "b-2")
        try identify("c", machine: "m-3", boot: "b-3")
        try identify("d", machine: "m-4", boot: "b-3")
        try identify("e", machine: "", boot: "")
        try identify("f", machine: "", boot: "")
        let report = try report(root, ["a", "b", "c", "d", "e", "f"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.tampered, .tampered, .tampered, .tampered, .certified, .certified])
        XCTAssertEqual(try host(report, "a").reason,
                       "certificate.json carries the same machine_id as the certificate in \(root.appendingPathComponent("b").path): a copy of one host's certificate, not this host's own")
        XCTAssertTrue(try host(report, "d").reason?.contains("the same boot_id as the certificate in \(root.appendingPathComponent("c").path)") == true)
        XCTAssertTrue(report.byCheck.allSatisfy { !$0.hosts.contains("a") }, "nothing of a copy is believed")
        // A golden image on many hosts: each reason names ten others, then counts the rest.
        XCTAssertEqual(HostIdentity.others(Array(0..<12), 0) { "h\($0)" }, "h1, h2, h3, h4, h5, h6, h7, h8, h9, h10 and 1 more")
        XCTAssertEqual(HostIdentity.others(Array(0..<12), 11) { "h\($0)" }, "h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 and 1 more")
        XCTAssertEqual(HostIdentity.others([3, 5], 5) { "h\($0)" }, "h3")
    }

    /// A certificate naming another hostname than its directory is noted beside the host (text
    /// and JSON notes), not failed; a short name and its FQDN are the same host.
    func testAHostnameOtherThanTheDirectoryIsNoted() throws {
        let root = try fleet([("web1", "linux-rt-2node"), ("web2", "linux-rt-2node"), ("web3", "linux-rt-2node")])
        for (name, hostname) in [("web1", "web9"), ("web2", "web2.example.com")] {
            try CertifiedHosts.rewrite(root.appendingPathComponent(name)) {
                $0.replacingOccurrences(of: "\"host\" : {", with: "\"host\" : {\"hostname\" : \"\(hostname)\", ")
            }
        }
        let report = try report(root, ["web1", "web2", "web3"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.certified, .certified, .certified])
        XCTAssertEqual(try host(report, "web1").notes,
                       ["the certificate names its host \"web9\", not web1 (its directory): another host's certificate, or a host named otherwise than in the inventory"])
        XCTAssertEqual(try host(report, "web2").notes, [])
        let text = FleetReportText.render(report)
        XCTAssertTrue(text.contains("CERTIFIED (3):\n  web1\n    note: the certificate names its host \"web9\", not web1"), text)
        XCTAssertEqual(report.status, .success)
    }

    func testLinksFIFOsAndHugeFilesAreRefusedNotFollowed() throws {
        let root = try fleet([("a", "linux-rt-2node")])
        // b borrows a's certificate by links: refused, never followed.
        let b = root.appendingPathComponent("b")
        try FileManager.default.createDirectory(at: b, withIntermediateDirectories: true)
        for file in ["certificate.json", "certificate.sha256"] {
            try FileManager.default.createSymbolicLink(atPath: b.appendingPathComponent(file).path, withDestinationPath: "../a/\(file)")
        }
        // c: a FIFO that nobody writes (the report must not hang on it).
        let c = root.appendingPathComponent("c")
        try FileManager.default.createDirectory(at: c, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(c.appendingPathComponent("certificate.json").path, 0o644), 0)
        // d: a certificate one byte over the bound (sparse: no disk).
        let d = root.appendingPathComponent("d")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: d.path + "/certificate.json", contents: nil))
        XCTAssertEqual(truncate(d.path + "/certificate.json", off_t(CollectedHostReader.certificateBytes + 1)), 0)
        let report = try report(root, ["a", "b", "c", "d"])
        XCTAssertEqual(report.hosts.map(\.verdict), [.certified, .unreadable, .unreadable, .unreadable])
        let reasons = try ["b", "c", "d"].map { try host(report, $0).reason ?? "" }
        XCTAssertTrue(reasons[0].contains("symbolic link"), reasons[0])
        XCTAssertTrue(reasons[1].contains("a FIFO"), reasons[1])
        XCTAssertTrue(reasons[2].contains("holds more than 4 MiB"), reasons[2])
        // A directory that is not there is not a host that failed: the reader throws.
        XCTAssertThrowsError(try CollectedHostReader.read([root.appendingPathComponent("nope").path]))
    }

    func testNamesFromOtherHostsCannotSteerAnyOutput() throws {
        let evil = "evil\u{1b}[31m\"<x>&\nhost\\\u{202E}fdp.\u{2066}x\u{2069}"
        let root = try fleet([(evil, "linux-6.1-2node")])
        let report = try report(root, [evil])
        let text = FleetReportText.render(report)
        XCTAssertFalse(text.contains("\u{1b}"), text)
        XCTAssertTrue(text.contains("evil\\x1b[31m\"<x>&\\x0ahost\\x5c\\u{202e}fdp.\\u{2066}x\\u{2069}"), text)
        // Every bidi embedding, override and isolate, which reorder what follows on a terminal.
        for scalar in Array(0x202A...0x202E) + Array(0x2066...0x2069) {
            let shown = Shown.text("a" + String(UnicodeScalar(UInt32(scalar)).map(Character.init) ?? "?") + "b")
            XCTAssertEqual(shown, "a\\u{\(String(scalar, radix: 16))}b")
        }
        let prometheus = FleetReportPrometheus.render(report)
        XCTAssertTrue(prometheus.contains("host=\"evil\u{1b}[31m\\\"<x>&\\nhost\\\\\u{202E}fdp.\u{2066}x\u{2069}\""), prometheus)
        XCTAssertFalse(prometheus.contains("\nhost"), "a newline in a label would start a new sample")
        let junit = FleetReportJUnit.render(report)
        XCTAssertFalse(junit.contains("\u{1b}"))
        try XMLSchema.validate(junit, against: "junit/junit-10-rules.xsd")
    }

    func testJUnitHasOneSuitePerHostAndValidates() throws {
        let root = try fleet([("a", "linux-rt-2node"), ("b", "linux-6.1-2node"), ("c", "linux-rt-2node")])
        try FileManager.default.removeItem(at: root.appendingPathComponent("c/certificate.sha256"))
        let report = try report(root, ["a", "b", "c"])
        let junit = FleetReportJUnit.render(report)
        XCTAssertEqual(junit.components(separatedBy: "<testsuite ").count - 1, 3)
        XCTAssertTrue(junit.contains("<testsuite name=\"numaguard certify of a\""), junit)
        XCTAssertTrue(junit.contains("classname=\"c.certificate\" name=\"certificate\" time=\"0\">\n      <failure message=\"unverified: no certificate.sha256"), junit)
        XCTAssertTrue(junit.contains("classname=\"b.host.kernel"), junit)
        try XMLSchema.validate(junit, against: "junit/junit-10-rules.xsd")
    }

    func testHostNamesAreTheCollectorsDirectories() {
        XCTAssertEqual(FleetNames.forDirectories(["c/2026-12-02/host-1/", "c/2026-12-02/host-2", "x/host-1"]),
                       ["c/2026-12-02/host-1/", "host-2", "x/host-1"])
        XCTAssertEqual(FleetNames.forSnapshots(["c/host-1/snapshot.json", "c/host-2/snapshot.json", "host-3.json", "snapshot.json"]),
                       ["host-1", "host-2", "host-3", "snapshot"])
    }

    func testTimestampsReadBackWhatUTCTimeWrites() {
        for seconds in [0, 951_782_400, 1_764_633_600, 1_796_169_599, 4_102_444_800] {
            XCTAssertEqual(Timestamp.epochSeconds(UTCTime.text(Double(seconds))), seconds)
        }
        XCTAssertEqual(Timestamp.epochSeconds("2026-12-02T06:00:00.250Z"), 1_796_191_200)
        for bad in ["2026-12-02 06:00:00Z", "2026-12-02T06:00:00+01:00", "2026-02-30T00:00:00Z", "2026-12-02T24:00:00Z", ""] {
            XCTAssertNil(Timestamp.epochSeconds(bad), bad)
        }
    }
}
