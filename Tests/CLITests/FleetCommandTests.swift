import Foundation
import TestSupport
import XCTest

/// `numaguard fleet report` and `fleet diff` end to end, over real certify and snapshot
/// output of recorded hosts: exit codes, every format, --out, and refusals naming the file.
final class FleetCommandTests: XCTestCase {
    private var directory: URL!
    private let policy = Command.repositoryRoot.appendingPathComponent("policies/latency-baseline.yaml").path

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// certify of `fixture` into `<collect>/<name>`, with the exit-status the playbook records.
    private func certify(_ name: String, _ fixture: String) throws -> String {
        let out = directory.appendingPathComponent("collect/\(name)")
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        let result = try Command.numaguard(["certify", "--policy", policy, "--host-root", Fixtures.path(fixture),
                                            "--out", out.path, "--window", "10ms"])
        XCTAssertTrue([0, 1].contains(result.status), result.stderr)
        try "\(result.status)\n".write(to: out.appendingPathComponent("exit-status"), atomically: true, encoding: .utf8)
        return out.path
    }

    func testReportExitCodesFormatsAndOut() throws {
        let a = try certify("host-a", "linux-rt-2node")
        let b = try certify("host-b", "linux-rt-2node-devices")
        let certified = try Command.numaguard(["fleet", "report", a, b])
        XCTAssertEqual(certified.status, 0, certified.stdout + certified.stderr)
        XCTAssertTrue(certified.stdout.hasPrefix("numaguard fleet report: 2 hosts at "), certified.stdout)
        XCTAssertTrue(certified.stdout.contains("\nCERTIFIED (2): host-a, host-b\n"), certified.stdout)
        XCTAssertTrue(certified.stdout.hasSuffix("FLEET CERTIFIED: 2 of 2 hosts certified\n"), certified.stdout)

        let c = try certify("host-c", "linux-6.1-2node")
        let out = directory.appendingPathComponent("report")
        let junit = try Command.numaguard(["fleet", "report", a, b, c, "--format", "junit", "--out", out.path])
        XCTAssertEqual(junit.status, 1, junit.stderr)
        XCTAssertEqual(junit.stdout.components(separatedBy: "<testsuite ").count - 1, 3)
        try XMLSchema.validate(junit.stdout, against: "junit/junit-10-rules.xsd")
        for file in ["fleet.txt", "fleet.json", "fleet.junit.xml", "fleet.prom"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("fleet.junit.xml"), encoding: .utf8), junit.stdout)
        let json = try Command.json(String(contentsOf: out.appendingPathComponent("fleet.json"), encoding: .utf8))
        XCTAssertEqual(json["kind"] as? String, "fleet_report")
        XCTAssertEqual(json["format_version"] as? Int, 1)
        XCTAssertEqual(json["status"] as? Int, 1)
        XCTAssertEqual((json["summary"] as? [String: Int])?["not_certified"], 1)
        let hosts = try XCTUnwrap(json["hosts"] as? [[String: Any]])
        XCTAssertEqual(hosts.map { $0["verdict"] as? String }, ["certified", "certified", "not_certified"])
        XCTAssertEqual(hosts[2]["recorded_exit_status"] as? Int, 1)
        let prometheus = try String(contentsOf: out.appendingPathComponent("fleet.prom"), encoding: .utf8)
        XCTAssertTrue(prometheus.contains("numaguard_fleet_certified 0\n"), prometheus)
        XCTAssertTrue(prometheus.contains("numaguard_fleet_host_verdict{host=\"host-c\",verdict=\"not_certified\"} 1\n"), prometheus)

        // Options anywhere among the directories, in either spelling; after `--` everything is a directory.
        let spelled = try Command.numaguard(["fleet", "report", a, "--format=json", b, "--max-age", "48h"])
        XCTAssertEqual(spelled.status, 0, spelled.stderr)
        XCTAssertEqual((try Command.json(spelled.stdout)["hosts"] as? [[String: Any]])?.count, 2)
        let terminated = try Command.numaguard(["fleet", "report", a, "--", "--format"])
        XCTAssertEqual(terminated.status, 66)
        XCTAssertTrue(terminated.stderr.contains("cannot read the host directory --format"), terminated.stderr)
        let help = try Command.numaguard(["fleet", "report", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: numaguard fleet report"), help.stdout)
        XCTAssertEqual(try Command.numaguard(["fleet", "report", a, "--format", "xml"]).status, 64)

        // Ages from --now: a day and an hour later every certificate is stale.
        let later = try Command.numaguard(["fleet", "report", a, "--now", "2099-01-01T00:00:00Z"])
        XCTAssertEqual(later.status, 1)
        XCTAssertTrue(later.stdout.contains("STALE (1):\n  host-a: certified "), later.stdout)
        XCTAssertEqual(try Command.numaguard(["fleet", "report", a, "--now", "2099-01-01T00:00:00Z", "--max-age", "1000000h"]).status, 0)

        // A verified certificate of another format_version is that host's verdict, not the
        // report's end: every other host judged, every --out file written, exit 1.
        let future = directory.appendingPathComponent("collect/host-d")
        try FileManager.default.copyItem(atPath: a, toPath: future.path)
        let edited = try String(contentsOf: future.appendingPathComponent("certificate.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 7")
        try edited.write(to: future.appendingPathComponent("certificate.json"), atomically: true, encoding: .utf8)
        let digest = try Command.run("/usr/bin/sha256sum", [future.appendingPathComponent("certificate.json").path])
        try (String(digest.stdout.prefix(64)) + "  certificate.json\n").write(to: future.appendingPathComponent("certificate.sha256"), atomically: true, encoding: .utf8)
        let unknownOut = directory.appendingPathComponent("report-unknown")
        let unknown = try Command.numaguard(["fleet", "report", a, future.path, "--out", unknownOut.path])
        XCTAssertEqual(unknown.status, 1, unknown.stderr)
        XCTAssertEqual(unknown.stderr, "")
        XCTAssertTrue(unknown.stdout.contains("\nCERTIFIED (1): host-a\n"), unknown.stdout)
        XCTAssertTrue(unknown.stdout.contains("\nUNREADABLE (1):\n  host-d: \(future.path)/certificate.json matches its digest but is not a "
                                              + "certificate numaguard can read: format_version 7 is not one"), unknown.stdout)
        for file in ["fleet.txt", "fleet.json", "fleet.junit.xml", "fleet.prom"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: unknownOut.appendingPathComponent(file).path), file)
        }
        XCTAssertTrue(try String(contentsOf: unknownOut.appendingPathComponent("fleet.prom"), encoding: .utf8)
            .contains("numaguard_fleet_host_verdict{host=\"host-d\",verdict=\"unreadable\"} 1\n"))
        // The same directory twice would be two rows (and Prometheus series) of one name: refused.
        let twice = try Command.numaguard(["fleet", "report", a, future.path, a])
        XCTAssertEqual(twice.status, 64)
        XCTAssertTrue(twice.stderr.contains("the host directory \(a) is given twice"), twice.stderr)

        // 66: a directory that is not there; 64: bad flags; 73: --out not writable.
        let missing = try Command.numaguard(["fleet", "report", a, directory.appendingPathComponent("nope").path])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("cannot read the host directory \(directory.appendingPathComponent("nope").path)"), missing.stderr)
        XCTAssertEqual(try Command.numaguard(["fleet", "report", a, "--max-age", "forever"]).status, 64)
        XCTAssertEqual(try Command.numaguard(["fleet", "report", a, "--max-age", "99999999999999999999999h"]).status, 64, "too large for an Int of seconds: refused, not a crash")
        XCTAssertEqual(try Command.numaguard(["fleet", "report", a, "--now", "yesterday"]).status, 64)
        XCTAssertEqual(try Command.numaguard(["fleet", "report"]).status, 64)
        XCTAssertEqual(try Command.numaguard(["fleet", "report", a, "--out", "/proc/no-such/dir"]).status, 73)
        // Last: it skips where promtool is not installed.
        try Promtool.checkMetrics(prometheus)
    }

    func testDiffNamesTheOutlierAndExitCodes() throws {
        func snapshot(_ name: String, _ fixture: String) throws -> String {
            let file = directory.appendingPathComponent("collect/\(name)/snapshot.json")
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let result = try Command.numaguard(["snapshot", "--host-root", Fixtures.path(fixture), "--out", file.path])
            XCTAssertEqual(result.status, 0, result.stderr)
            return file.path
        }
        let a = try snapshot("host-a", "linux-6.1-2node")
        let b = try snapshot("host-b", "linux-6.1-2node")
        let c = try snapshot("host-c", "linux-6.12-2node")
        let agree = try Command.numaguard(["fleet", "diff", a, b])
        XCTAssertEqual(agree.status, 0, agree.stdout + agree.stderr)
        XCTAssertTrue(agree.stdout.hasSuffix("FLEET AGREES: all 2 hosts hold the same value for every fact\n"), agree.stdout)
        let differs = try Command.numaguard(["fleet", "diff", a, b, c])
        XCTAssertEqual(differs.status, 1, differs.stderr)
        XCTAssertTrue(differs.stdout.contains("kernel.release: majority 6.1.0-56-amd64 (2 hosts); host-c: "), differs.stdout)
        XCTAssertTrue(differs.stdout.contains("1 host outside a majority: host-c\n"), differs.stdout)
        let json = try Command.json(try Command.numaguard(["fleet", "diff", a, b, c, "--format", "json"]).stdout)
        XCTAssertEqual(json["kind"] as? String, "fleet_diff")
        XCTAssertEqual(json["status"] as? Int, 1)
        XCTAssertEqual((json["hosts"] as? [[String: Any]])?.map { $0["name"] as? String }, ["host-a", "host-b", "host-c"])

        // A file that is not a snapshot is that host's problem: not compared, the rest compared.
        let bad = directory.appendingPathComponent("bad.json")
        try "{\"format_version\": 1, \"kind\": \"certificate\"}".write(to: bad, atomically: true, encoding: .utf8)
        let notSnapshot = try Command.numaguard(["fleet", "diff", a, b, bad.path])
        XCTAssertEqual(notSnapshot.status, 3, notSnapshot.stdout + notSnapshot.stderr)
        XCTAssertTrue(notSnapshot.stdout.contains("not compared:\n  snapshot on bad: unreadable (\(bad.path): not a snapshot numaguard can read: "
                                                  + "not a snapshot: its kind is \"certificate\")\n"), notSnapshot.stdout)
        XCTAssertTrue(notSnapshot.stdout.hasSuffix("FLEET AGREES on what was compared; INCOMPLETE: 1 snapshot(s) not read\n"), notSnapshot.stdout)
        let outlier = try Command.numaguard(["fleet", "diff", a, b, c, bad.path, "--format", "json"])
        XCTAssertEqual(outlier.status, 1, outlier.stderr)
        let notCompared = try XCTUnwrap(try Command.json(outlier.stdout)["not_compared"] as? [[String: Any]])
        XCTAssertEqual(notCompared.first?["id"] as? String, "snapshot")
        XCTAssertEqual(notCompared.first?["host"] as? String, "bad")
        // Not one snapshot among the files: the files are wrong, 65, the file's own words escaped.
        let evil = directory.appendingPathComponent("evil.json")
        try "{\"format_version\": 1, \"kind\": \"\\u001b[2J\\u202e\"}".write(to: evil, atomically: true, encoding: .utf8)
        let none = try Command.numaguard(["fleet", "diff", evil.path, bad.path])
        XCTAssertEqual(none.status, 65)
        XCTAssertTrue(none.stderr.contains("\(evil.path) is not a snapshot numaguard can read: not a snapshot: its kind is \"\\x1b[2J\\u{202e}\""), none.stderr)
        XCTAssertFalse(none.stderr.contains("\u{1b}") || none.stderr.contains("\u{202e}"), none.stderr)
        XCTAssertEqual(try Command.numaguard(["fleet", "diff", a, b, a]).status, 64)
        XCTAssertEqual(try Command.numaguard(["fleet", "diff", a, directory.appendingPathComponent("none.json").path]).status, 66)
        XCTAssertEqual(try Command.numaguard(["fleet", "diff", a]).status, 64)
    }
}
