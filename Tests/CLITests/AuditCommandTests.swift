import Foundation
import TestSupport
import XCTest

/// `numaguard audit` and `policy check` end to end: exit codes, formats, and that an
/// invalid policy stops everything before the host is read.
final class AuditCommandTests: XCTestCase {
    private var baseline: String { Command.repositoryRoot.appendingPathComponent("policies/latency-baseline.yaml").path }

    func testBaselineOnARecordedGuestIsAViolation() throws {
        let result = try Command.numaguard(["audit", "--policy", baseline, "--host-root", Fixtures.path("linux-6.1-2node")])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stdout.contains("FAIL host.kernel.numa_balancing"), result.stdout)
        XCTAssertTrue(result.stdout.contains("NOT COMPLIANT"), result.stdout)
        XCTAssertFalse(result.stdout.contains("\u{1B}["), "no colour when stdout is not a TTY")
    }

    func testJSONCarriesVersionDigestAndHostIdentity() throws {
        let result = try Command.numaguard(["audit", "--policy", baseline, "--host-root", Fixtures.path("linux-rt-2node"), "--format", "json"])
        XCTAssertEqual(result.status, 0, "the RT kernel has no numa_balancing sysctl: \(result.stdout)")
        let document = try Command.json(result.stdout)
        XCTAssertEqual(document["format_version"] as? Int, 1)
        XCTAssertEqual(document["kind"] as? String, "audit")
        let digest = try Command.run("/usr/bin/sha256sum", [baseline]).stdout.split(separator: " ").first.map(String.init)
        XCTAssertEqual(document["policy_digest"] as? String, digest)
        let host = try XCTUnwrap(document["host"] as? [String: Any])
        XCTAssertEqual(host["kernel_release"] as? String, "6.1.0-56-rt-amd64")
        let findings = try XCTUnwrap(document["findings"] as? [[String: Any]])
        XCTAssertTrue(findings.allSatisfy { $0["check"] is String && $0["outcome"] is String && $0["expected"] is String })
    }

    func testInvalidPolicyExits78WithLocationAndInspectsNothing() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml")
        try "version: 1\nhost:\n  kernel:\n    numa_balance: off\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try Command.numaguard(["audit", "--policy", file.path])
        XCTAssertEqual(result.status, 78)
        XCTAssertEqual(result.stdout, "", "no report for an invalid policy")
        XCTAssertTrue(result.stderr.contains("\(file.path):4:5: error: unknown key \"numa_balance\" in host.kernel"), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean \"numa_balancing\"?"), result.stderr)
        XCTAssertTrue(result.stderr.contains("    numa_balance: off\n      ^"), result.stderr)
        let check = try Command.numaguard(["policy", "check", file.path])
        XCTAssertEqual(check.status, 78)
    }

    /// A policy file that cannot be read is an input that is not there (66), not an invalid
    /// policy: the message names the path and the errno, and invents no line:col. Every
    /// command taking --policy says the same (run keeps its 125 for anything before exec).
    func testAMissingPolicyExits66WithTheErrnoInEveryCommand() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("missing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("none.yaml").path
        let root = Fixtures.path("linux-6.1-2node")
        let line = "numaguard: cannot read the policy \(missing): No such file or directory; nothing was inspected\n"
        let commands: [[String]] = [
            ["policy", "check", missing],
            ["audit", "--policy", missing, "--host-root", root],
            ["certify", "--policy", missing, "--host-root", root, "--out", directory.appendingPathComponent("cert").path, "--window", "1ms"],
            ["plan", "--policy", missing, "--host-root", root],
            ["apply", "--policy", missing, "--yes", "--journal", directory.appendingPathComponent("journal").path],
            ["migrate", "1", "--from", "0", "--to", "0", "--policy", missing, "--yes",
             "--journal", directory.appendingPathComponent("journal").path],
        ]
        for arguments in commands {
            let result = try Command.numaguard(arguments)
            XCTAssertEqual(result.status, 66, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr, line, "\(arguments)")
            XCTAssertFalse(result.stderr.contains(":1:1"), "\(arguments)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("journal").path), "nothing was changed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("cert").path), "nothing was written")

        // A directory is read and refused the same way (EISDIR), not located at 1:1.
        let isDirectory = try Command.numaguard(["policy", "check", directory.path])
        XCTAssertEqual(isDirectory.status, 66, isDirectory.stderr)
        XCTAssertEqual(isDirectory.stderr, "numaguard: cannot read the policy \(directory.path): Is a directory; nothing was inspected\n")

        // audit's documents say so too: input_unreadable, 66.
        let textfile = directory.appendingPathComponent("audit.prom").path
        let json = try Command.numaguard(["audit", "--policy", missing, "--host-root", root, "--format", "json", "--textfile", textfile])
        XCTAssertEqual(json.status, 66, json.stderr)
        let error = try XCTUnwrap(try Command.json(json.stdout)["error"] as? [String: Any], json.stdout)
        XCTAssertEqual(error["reason"] as? String, "input_unreadable")
        XCTAssertEqual(error["exit_status"] as? Int, 66)
        XCTAssertEqual(error["message"] as? String, "cannot read the policy \(missing): No such file or directory; nothing was inspected")
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        XCTAssertTrue(metrics.contains("numaguard_audit_error{reason=\"input_unreadable\"} 1\n"), metrics)
        XCTAssertTrue(metrics.contains("numaguard_audit_error{reason=\"invalid_policy\"} 0\n"), metrics)
    }

    /// A policy that does not load still says so in every output asked for: the textfile of an
    /// earlier compliant run is replaced, JSON and JUnit are error documents, nothing is empty.
    func testAFailedLoadSaysSoInEveryFormat() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("failed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.yaml").path
        try "version: 1\n".write(toFile: good, atomically: true, encoding: .utf8)
        let bad = directory.appendingPathComponent("bad.yaml").path
        try "version: 1\nhost: {kernel: {numa_balance: off}}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let textfile = directory.appendingPathComponent("audit.prom").path
        XCTAssertEqual(try Command.numaguard(["audit", "--policy", good, "--textfile", textfile]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: textfile, encoding: .utf8).contains("numaguard_audit_compliant 1\n"))

        let failed = try Command.numaguard(["audit", "--policy", bad, "--textfile", textfile, "--format", "prometheus"])
        XCTAssertEqual(failed.status, 78, failed.stderr)
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        XCTAssertTrue(metrics.contains("numaguard_audit_compliant 0\n"), metrics)
        XCTAssertTrue(metrics.contains("numaguard_audit_error{reason=\"invalid_policy\"} 1\n"), metrics)
        XCTAssertTrue(metrics.contains("numaguard_audit_error{reason=\"host_unreadable\"} 0\n"), metrics)
        XCTAssertEqual(failed.stdout, metrics, "--format prometheus prints the same exposition")
        try Promtool.checkMetrics(metrics)

        let json = try Command.numaguard(["audit", "--policy", bad, "--format", "json"])
        XCTAssertEqual(json.status, 78)
        let document = try Command.json(json.stdout)
        XCTAssertEqual(document["format_version"] as? Int, 1)
        XCTAssertEqual(document["kind"] as? String, "audit")
        let error = try XCTUnwrap(document["error"] as? [String: Any], json.stdout)
        XCTAssertEqual(error["reason"] as? String, "invalid_policy")
        XCTAssertEqual(error["exit_status"] as? Int, 78)
        XCTAssertTrue((error["message"] as? String ?? "").contains("bad.yaml: 1 error"), "\(error)")

        let junit = try Command.numaguard(["audit", "--policy", bad, "--format", "junit"])
        XCTAssertEqual(junit.status, 78)
        XCTAssertTrue(junit.stdout.contains("<error message=") && junit.stdout.contains("type=\"invalid_policy\""), junit.stdout)
        try XMLSchema.validate(junit.stdout, against: "junit/junit-10-rules.xsd")
    }

    func testShippedPoliciesAreValid() throws {
        for name in ["latency-baseline", "trading-host", "batch-isolation"] {
            let result = try Command.numaguard(["policy", "check", Command.repositoryRoot.appendingPathComponent("policies/\(name).yaml").path])
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains(": valid (sha256:"), result.stdout)
        }
    }

    func testFailOnAndTodayOptions() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("warn-\(UUID().uuidString).yaml")
        try "version: 1\nhost: {kernel: {zone_reclaim_mode: 1}}\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let root = Fixtures.path("linux-6.1-2node")
        XCTAssertEqual(try Command.numaguard(["audit", "--policy", file.path, "--host-root", root]).status, 1)
        XCTAssertEqual(try Command.numaguard(["audit", "--policy", file.path, "--host-root", root, "--fail-on", "critical"]).status, 0)
        XCTAssertEqual(try Command.numaguard(["audit", "--policy", file.path, "--host-root", root, "--fail-on", "info"]).status, 64)
        XCTAssertEqual(try Command.numaguard(["audit", "--policy", file.path, "--host-root", root, "--today", "2026-02-30"]).status, 64)
    }

    func testJUnitPrometheusTextfileAndSchema() throws {
        let root = Fixtures.path("linux-6.1-2node")
        let junit = try Command.numaguard(["audit", "--policy", baseline, "--host-root", root, "--format", "junit"])
        XCTAssertEqual(junit.status, 1)
        // A real XML parser reads it: 4 test cases, 1 failure.
        let xmlFile = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-\(UUID().uuidString).xml")
        try junit.stdout.write(to: xmlFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: xmlFile) }
        let parsed = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            cases = root.findall(".//testcase")
            print(len(cases), len([c for c in cases if c.find("failure") is not None]))
            """, xmlFile.path])
        XCTAssertEqual(parsed.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "4 1", parsed.stderr)

        let textfile = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-\(UUID().uuidString).prom")
        defer { try? FileManager.default.removeItem(at: textfile) }
        let prometheus = try Command.numaguard(["audit", "--policy", baseline, "--host-root", root, "--format", "json",
                                                "--textfile", textfile.path])
        XCTAssertEqual(prometheus.status, 1)
        let metrics = try String(contentsOf: textfile, encoding: .utf8)
        XCTAssertTrue(metrics.contains("numaguard_audit_check_failed{check=\"host.kernel.numa_balancing\",severity=\"critical\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("numaguard_audit_compliant 0"), metrics)
        try Promtool.checkMetrics(metrics)
        let missing = try Command.numaguard(["audit", "--policy", baseline, "--host-root", root, "--textfile", "/nonexistent/dir/x.prom"])
        XCTAssertEqual(missing.status, 73)
        XCTAssertTrue(missing.stderr.contains("--textfile"), missing.stderr)

        let schema = try Command.numaguard(["policy", "schema"])
        XCTAssertEqual(schema.status, 0)
        XCTAssertEqual(schema.stdout, try String(contentsOfFile: Command.repositoryRoot.appendingPathComponent("policies/numaguard-policy.schema.json").path, encoding: .utf8))
    }

    /// The text and JSON reports of a recorded guest audited against the trading-host example,
    /// byte for byte. Regenerate with NUMAGUARD_UPDATE_GOLDEN=1 after an intended change.
    func testGoldenTextAndJSON() throws {
        let policy = Command.repositoryRoot.appendingPathComponent("policies/trading-host.yaml").path
        for (format, file) in [("text", "audit-trading-host.txt"), ("json", "audit-trading-host.json")] {
            let result = try Command.numaguard(["audit", "--policy", policy, "--host-root", Fixtures.path("linux-6.1-2node"),
                                                "--format", format, "--today", "2026-11-21"])
            XCTAssertEqual(result.status, 1, result.stderr)
            let output = result.stdout.replacingOccurrences(of: Command.repositoryRoot.path, with: "<repo>")
            let golden = Command.repositoryRoot.appendingPathComponent("Tests/CLITests/Golden/\(file)")
            if ProcessInfo.processInfo.environment["NUMAGUARD_UPDATE_GOLDEN"] == "1" {
                try output.write(to: golden, atomically: true, encoding: .utf8)
            }
            XCTAssertEqual(output, try String(contentsOf: golden, encoding: .utf8), "\(file) differs (NUMAGUARD_UPDATE_GOLDEN=1 to accept)")
        }
    }

    /// init -> audit on the same live host passes: the child sleeps under this host's placement.
    func testPolicyInitRoundTripOnThisHost() throws {
        // A copy of sleep under a name no other process on the host has: other sleepers (a
        // bench's) may come and go between init and audit and change the running count.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("init-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let comm = "ngi\(getpid())"
        let sleeper = directory.appendingPathComponent(comm).path
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: sleeper)
        let child = try Child(sleeper, ["302"])
        _ = child
        let file = directory.appendingPathComponent("init.yaml")
        let initResult = try Command.numaguard(["policy", "init", "--workload", "sleeper=\(comm)", "--out", file.path])
        XCTAssertEqual(initResult.status, 0, initResult.stderr)
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertTrue(text.contains("match: {comm: \"\(comm)\"}"), text)
        let audit = try Command.numaguard(["audit", "--policy", file.path])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        XCTAssertEqual(try Command.numaguard(["policy", "init", "--workload", "x=no-such-comm"]).status, 66)
        XCTAssertEqual(try Command.numaguard(["policy", "init", "--workload", "missing-equals"]).status, 64)
    }

    func testCertifyWritesAVerifiableReportAndGates() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let failing = try Command.numaguard(["certify", "--policy", baseline, "--host-root", Fixtures.path("linux-6.1-2node"),
                                             "--out", out.path, "--window", "100ms"])
        XCTAssertEqual(failing.status, 1, failing.stderr)
        XCTAssertTrue(failing.stdout.hasPrefix("numaguard "), failing.stdout)
        XCTAssertTrue(failing.stdout.contains("certify: NOT CERTIFIED (exit 1)"), failing.stdout)
        for file in ["certificate.json", "certificate.txt", "certificate.junit.xml", "certificate.sha256"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        let check = try Command.run("/bin/sh", ["-c", "cd '\(out.path)' && sha256sum -c certificate.sha256"])
        XCTAssertEqual(check.status, 0, "the recorded digest is the JSON's: \(check.stdout)\(check.stderr)")
        let json = try Command.json(String(contentsOf: out.appendingPathComponent("certificate.json"), encoding: .utf8))
        XCTAssertEqual(json["kind"] as? String, "certificate")
        XCTAssertNotNil(json["tool_version"] as? String)
        let audit = try XCTUnwrap(json["audit"] as? [String: Any])
        XCTAssertNotNil((audit["host"] as? [String: Any])?["kernel_cmdline"])
        let checks = (audit["findings"] as? [[String: Any]] ?? []).compactMap { $0["check"] as? String }
        XCTAssertTrue(checks.contains("host.window.migrations"), "\(checks)")

        let passing = try Command.numaguard(["certify", "--policy", baseline, "--host-root", Fixtures.path("linux-rt-2node"),
                                             "--out", out.path, "--window", "100ms"])
        XCTAssertEqual(passing.status, 0, passing.stdout + passing.stderr)
        XCTAssertTrue(passing.stdout.contains("certify: CERTIFIED (exit 0)"), passing.stdout)

        XCTAssertEqual(try Command.numaguard(["certify", "--policy", baseline, "--out", out.path, "--window", "forever"]).status, 64)
        let unwritable = try Command.numaguard(["certify", "--policy", baseline, "--host-root", Fixtures.path("linux-rt-2node"),
                                                "--out", "/proc/no-such/dir", "--window", "100ms"])
        XCTAssertEqual(unwritable.status, 73)
        XCTAssertTrue(unwritable.stderr.contains("cannot write the report to /proc/no-such/dir"), unwritable.stderr)
    }

    /// What cannot be read for lack of permission makes the audit incomplete (3), and says which privilege.
    func testUnreadableWorkloadMakesTheAuditIncomplete() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to start a process another user cannot read") }
        let child = try Child("/bin/sleep", ["303"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("perm-\(UUID().uuidString).yaml")
        try "version: 1\nworkloads:\n  - {name: sleeper, match: {cmdline: \"^/bin/sleep 303$\"}, memory: {policy: default}}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try Command.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                                                          Command.numaguard, "audit", "--policy", file.path])
        XCTAssertEqual(result.status, 3, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("UNKNOWN workload.sleeper.read [PID \(child.pid) (sleep)]"), result.stdout)
        XCTAssertTrue(result.stdout.contains("CAP_SYS_PTRACE"), result.stdout)
        XCTAssertTrue(result.stdout.contains("INCOMPLETE"), result.stdout)
    }

    /// Processes a reservation's scan cannot read are counted once, as incomplete, the same in
    /// every format (the text summary once said 0 incomplete beside an UNREADABLE line). Each
    /// document is judged against itself, and JSON against the textfile of the same run: the
    /// machine's other processes come and go between runs.
    func testIncompleteIsOneCountInEveryFormat() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to run the audit as an unprivileged user") }
        let child = try Child("/bin/sleep", ["304"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("count-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("policy.yaml")
        try "version: 1\nreserve:\n  - {node: 0, for: [latency], max_foreign_memory: 64TiB}\nworkloads:\n  - {name: latency, match: {comm: \"^no-such-comm$\"}}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        func audit(_ arguments: [String]) throws -> CommandResult {
            let result = try Command.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                                                              Command.numaguard, "audit", "--policy", file.path] + arguments)
            XCTAssertEqual(result.status, 3, arguments.description + ": " + result.stdout + result.stderr)
            return result
        }
        func count(_ text: String, _ word: String) -> Int { text.components(separatedBy: word).count - 1 }

        let text = try audit([]).stdout
        XCTAssertTrue(text.contains("UNKNOWN reservations.read [PID \(child.pid) (sleep)]"), text)
        let summary = try XCTUnwrap(text.split(separator: "\n").last { $0.hasPrefix("INCOMPLETE: ") }, text)
        let words = summary.split(separator: " ")
        let textCount = try XCTUnwrap(words.firstIndex(of: "incomplete").flatMap { Int(words[$0 - 1]) }, String(summary))
        XCTAssertGreaterThan(textCount, 0, text)
        XCTAssertEqual(textCount, count(text, "\nUNKNOWN "), "each unreadable process is one incomplete check: \(text)")

        let textfile = directory.appendingPathComponent("audit.prom").path
        let json = try Command.json(try audit(["--format", "json", "--textfile", textfile]).stdout)
        let jsonCount = try XCTUnwrap((json["summary"] as? [String: Any])?["incomplete"] as? Int)
        let findings = try XCTUnwrap(json["findings"] as? [[String: Any]])
        XCTAssertEqual(jsonCount, findings.filter { $0["outcome"] as? String == "incomplete" }.count)
        XCTAssertEqual(jsonCount, (json["unreadable"] as? [String])?.count)
        let prometheus = try String(contentsOfFile: textfile, encoding: .utf8)
        XCTAssertTrue(prometheus.contains("numaguard_audit_checks{outcome=\"incomplete\"} \(jsonCount)\n"), prometheus)

        let junit = try audit(["--format", "junit"]).stdout
        XCTAssertTrue(junit.contains(" errors=\"\(count(junit, "<error "))\""), junit)
        XCTAssertGreaterThan(count(junit, "<error "), 0, junit)
    }
}
