import Foundation
import TestSupport
import XCTest

/// contrib/ansible/fleet.yml run by ansible-core, end to end, against an inventory of three
/// hosts on the local connection, each certified and snapshotted through `--host-root` from
/// the tree captured in its own QEMU guest (Tests/Fixtures/fleet-*, recorded by
/// scripts/vm/record-fixtures.sh): fleet-a (2 nodes, the reference), fleet-b (2 nodes, booted
/// with numa_balancing=disable) and fleet-c (4 nodes). Those are the planted differences; the
/// fleet report, the fleet diff and the play's verdict must name exactly them.
/// scripts/setup.sh --test installs ansible-core and xmllint; under CI a missing one fails.
final class FleetPlaybookTests: XCTestCase {
    private static let hosts = [("fleet-a", "fleet-a-linux-6.1-2node"), ("fleet-b", "fleet-b-linux-6.1-2node-nobalancing"),
                                ("fleet-c", "fleet-c-linux-6.1-4node-asym")]
    private static let names = hosts.map(\.0)
    private let playbook = Command.repositoryRoot.appendingPathComponent("contrib/ansible/fleet.yml").path
    private let files = FileManager.default

    /// A policy fleet-a passes: fleet-b fails its balancing check, fleet-c its node count.
    private static let reference = "version: 1\nhost:\n  kernel: {numa_balancing: normal}\n  topology: {nodes: 2}\n"
    /// A policy every host passes.
    private static let lenient = "version: 1\nhost: {forbid_processes: [numad]}\n"

    private var inCI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return !(environment["CI"] ?? "").isEmpty || environment["NUMAGUARD_VM_TESTS"] == "1"
    }

    private func ansiblePlaybook() throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin"] where files.isExecutableFile(atPath: "\(directory)/ansible-playbook") {
            return "\(directory)/ansible-playbook"
        }
        if inCI { XCTFail("ansible-playbook not installed: scripts/setup.sh --test installs ansible-core") }
        throw XCTSkip("ansible-playbook not installed (scripts/setup.sh --test installs ansible-core)")
    }

    /// The controller's half of the play needs `numaguard fleet`.
    private func requireFleetCommands() throws {
        let help = try Command.numaguard(["fleet", "report", "--help"])
        guard help.status == 0 else {
            if inCI { XCTFail("numaguard has no `fleet report` (exit \(help.status)): \(help.stderr)") }
            throw XCTSkip("numaguard has no `fleet report` command in this build")
        }
    }

    /// A scratch directory with the inventory, the policy and the hosts' --out parent. The
    /// policy is an inventory group variable (a host's own `numaguard_policy` in `hostVars`
    /// wins over it), as a fleet's inventory would set it.
    private func workspace(policy: String, hostVars: [String: [String: String]] = [:]) throws -> URL {
        let directory = files.temporaryDirectory.appendingPathComponent("numaguard-fleet-\(UUID().uuidString)")
        try files.createDirectory(at: directory.appendingPathComponent("hosts"), withIntermediateDirectories: true,
                                  attributes: [.posixPermissions: 0o700])
        try policy.write(to: directory.appendingPathComponent("policy.yaml"), atomically: true, encoding: .utf8)
        var hosts: [String: Any] = [:]
        for (name, fixture) in Self.hosts {
            hosts[name] = ["numaguard_host_root": Fixtures.path(fixture)].merging(hostVars[name] ?? [:]) { $1 }
        }
        let inventory: [String: Any] = ["fleet": ["hosts": hosts,
                                                  "vars": ["ansible_connection": "local", "ansible_python_interpreter": "auto_silent",
                                                           "numaguard_policy": directory.appendingPathComponent("policy.yaml").path]]]
        // JSON is YAML: the yaml inventory plugin reads it.
        try JSONSerialization.data(withJSONObject: inventory, options: [.sortedKeys])
            .write(to: directory.appendingPathComponent("inventory.yml"))
        return directory
    }

    private func play(_ directory: URL, _ extra: [String] = []) throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment["ANSIBLE_NOCOLOR"] = "1"
        environment["ANSIBLE_LOCAL_TEMP"] = directory.appendingPathComponent("tmp").path
        environment["ANSIBLE_HOME"] = directory.appendingPathComponent("home").path
        environment["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
        return try Command.run(try ansiblePlaybook(), [
            "-i", directory.appendingPathComponent("inventory.yml").path, playbook,
            "-e", "numaguard_bin=\(Command.numaguard)", "-e", "numaguard_window=1s",
            "-e", "numaguard_out=\(directory.path)/hosts/{{ inventory_hostname }}",
            "-e", "numaguard_collect=\(directory.path)/collect",
        ] + extra, environment: environment)
    }

    private static func utcDate() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }

    /// The one run directory under collect/, named for the UTC date the play started on.
    private func runDirectory(_ directory: URL, datedBetween before: String, and after: String) throws -> URL {
        let collect = directory.appendingPathComponent("collect")
        let runs = try files.contentsOfDirectory(atPath: collect.path)
        XCTAssertEqual(runs.count, 1, "\(runs)")
        let run = try XCTUnwrap(runs.first)
        XCTAssertTrue([before, after].contains(run), "run directory \(run), today (UTC) \(before)…\(after)")
        return collect.appendingPathComponent(run)
    }

    private func json(_ url: URL) throws -> [String: Any] {
        try Command.json(try String(contentsOf: url, encoding: .utf8))
    }

    /// Each host's directory holds its certify output, its snapshot and its exit status, and
    /// the certificate matches its digest as fetched.
    private func assertHostDirectories(_ run: URL, exitStatuses: [String: String]) throws {
        for name in Self.names {
            let host = run.appendingPathComponent(name)
            XCTAssertEqual(try files.contentsOfDirectory(atPath: host.path).sorted(),
                           ["certificate.json", "certificate.junit.xml", "certificate.sha256", "certificate.txt", "exit-status", "snapshot.json"],
                           name)
            XCTAssertEqual(try String(contentsOf: host.appendingPathComponent("exit-status"), encoding: .utf8), exitStatuses[name], name)
            let digest = try Command.run("/bin/sh", ["-c", "cd \"$1\" && sha256sum -c certificate.sha256", "sh", host.path])
            XCTAssertEqual(digest.status, 0, "\(name): \(digest.stdout)\(digest.stderr)")
            let certificate = try json(host.appendingPathComponent("certificate.json"))
            let audit = try XCTUnwrap(certificate["audit"] as? [String: Any])
            XCTAssertEqual((audit["host"] as? [String: Any])?["hostname"] as? String, name, "each guest was named for its inventory host")
            try XMLSchema.validate(try String(contentsOf: host.appendingPathComponent("certificate.junit.xml"), encoding: .utf8),
                                   against: "junit/junit-10-rules.xsd")
        }
    }

    /// The IDs `numaguard diff` counts between the reference host's snapshot and another's.
    private func pairwiseChanges(_ run: URL, _ other: String) throws -> Set<String> {
        let diff = try Command.numaguard(["diff", "--format", "json", run.appendingPathComponent("fleet-a/snapshot.json").path,
                                          run.appendingPathComponent("\(other)/snapshot.json").path])
        XCTAssertEqual(diff.status, 1, diff.stderr)
        let changes = try XCTUnwrap(try Command.json(diff.stdout)["changes"] as? [[String: Any]])
        return Set(changes.compactMap { $0["id"] as? String })
    }

    /// The reference policy with drift not allowed: fleet-b and fleet-c fail certify for the
    /// planted reasons, fleet diff names the same two hosts on the planted facts only, the play
    /// fails with both reasons after writing every report, the JUnit validates, and a
    /// certificate changed after the fetch is caught as tampered.
    func testFleetFailsForThePlantedDifferencesAndCatchesATamperedCertificate() throws {
        try requireFleetCommands()
        let directory = try workspace(policy: Self.reference)
        defer { try? files.removeItem(at: directory) }
        let before = Self.utcDate()
        let result = try play(directory)
        let after = Self.utcDate()
        let output = result.stdout + result.stderr
        XCTAssertNotEqual(result.status, 0, output)
        XCTAssertTrue(output.contains("fleet report: not every host is certified (exit 1)"), output)
        XCTAssertTrue(output.contains("fleet diff: hosts differ from the majority (exit 1)"), output)
        XCTAssertFalse(output.contains("no report from"), output)

        let run = try runDirectory(directory, datedBetween: before, and: after)
        XCTAssertEqual(try files.contentsOfDirectory(atPath: run.path).sorted(),
                       Self.names + ["fleet-diff.json", "fleet-diff.txt", "fleet.json", "fleet.junit.xml", "fleet.prom", "fleet.txt"])
        try assertHostDirectories(run, exitStatuses: ["fleet-a": "0\n", "fleet-b": "1\n", "fleet-c": "1\n"])

        // The report: fleet-a certified; b and c not, each for its planted check only.
        let report = try json(run.appendingPathComponent("fleet.json"))
        XCTAssertEqual(report["status"] as? Int, 1)
        let verdicts = try FleetDocuments.verdicts(report)
        XCTAssertEqual(verdicts, ["fleet-a": "certified", "fleet-b": "not_certified", "fleet-c": "not_certified"])
        XCTAssertEqual(try FleetDocuments.failingChecks(report),
                       ["host.kernel.numa_balancing": ["fleet-b"], "host.topology.nodes": ["fleet-c"]])
        let shown = try XCTUnwrap(result.stdout.range(of: "TASK [Show the fleet report]"), "the text report is shown")
        XCTAssertTrue(result.stdout[shown.upperBound...].contains("fleet-b"), result.stdout)
        try XMLSchema.validate(try String(contentsOf: run.appendingPathComponent("fleet.junit.xml"), encoding: .utf8),
                               against: "junit/junit-10-rules.xsd")

        // The diff: fleet-b differs on its boot argument and the knob it sets, fleet-c on
        // exactly the topology facts `numaguard diff` counts against fleet-a; fleet-a nowhere.
        let diff = try json(run.appendingPathComponent("fleet-diff.json"))
        let outliers = try FleetDocuments.outliers(diff)
        XCTAssertEqual(outliers["fleet-b"], ["boot.numa_balancing", "kernel.numa_balancing"])
        XCTAssertEqual(outliers["fleet-b"], try pairwiseChanges(run, "fleet-b"))
        let topology = try pairwiseChanges(run, "fleet-c")
        XCTAssertFalse(topology.isEmpty)
        XCTAssertTrue(topology.allSatisfy { $0.hasPrefix("topology.") }, "\(topology)")
        XCTAssertEqual(outliers["fleet-c"], topology)
        XCTAssertNil(outliers["fleet-a"])
        XCTAssertEqual(Set(outliers.keys), ["fleet-b", "fleet-c"])

        // fleet-b's fetched certificate forged to pass (its failing finding rewritten, its
        // digest file left): the report run again over the same tree calls it tampered and
        // fails the fleet; the others keep their verdicts.
        let certificate = run.appendingPathComponent("fleet-b/certificate.json")
        let original = try String(contentsOf: certificate, encoding: .utf8)
        let forged = original.replacingOccurrences(of: "\"outcome\" : \"fail\"", with: "\"outcome\" : \"pass\"")
        XCTAssertNotEqual(forged, original)
        try forged.write(to: certificate, atomically: true, encoding: .utf8)
        let directories = Self.names.map { run.appendingPathComponent($0).path }
        let again = try Command.numaguard(["fleet", "report", "--format", "json"] + directories)
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertEqual(try FleetDocuments.verdicts(try Command.json(again.stdout)),
                       ["fleet-a": "certified", "fleet-b": "tampered", "fleet-c": "not_certified"])
        let junit = try Command.numaguard(["fleet", "report", "--format", "junit"] + directories)
        XCTAssertEqual(junit.status, 1, junit.stderr)
        XCTAssertTrue(junit.stdout.contains("fleet-b"), junit.stdout)
        try XMLSchema.validate(junit.stdout, against: "junit/junit-10-rules.xsd")
    }

    /// Every host certified and drift allowed: the play succeeds, and the diff is still
    /// written and shown.
    func testFleetPassesWithDriftAllowed() throws {
        try requireFleetCommands()
        let directory = try workspace(policy: Self.lenient)
        defer { try? files.removeItem(at: directory) }
        let before = Self.utcDate()
        let result = try play(directory, ["-e", "numaguard_allow_drift=true"])
        let after = Self.utcDate()
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let run = try runDirectory(directory, datedBetween: before, and: after)
        try assertHostDirectories(run, exitStatuses: ["fleet-a": "0\n", "fleet-b": "0\n", "fleet-c": "0\n"])
        XCTAssertEqual(try json(run.appendingPathComponent("fleet.json"))["status"] as? Int, 0)
        let diff = try String(contentsOf: run.appendingPathComponent("fleet-diff.txt"), encoding: .utf8)
        XCTAssertTrue(diff.contains("fleet-b") && diff.contains("fleet-c"), diff)
        XCTAssertTrue(result.stdout.contains("boot.numa_balancing"), "the diff is shown")
    }

    /// One host whose certify cannot run (its own policy is invalid: exit 78), certified one
    /// host at a time (`numaguard_serial=1`): its batch fails, yet the others are certified,
    /// fetched and reported, and the play fails naming it with numaguard's exit status.
    func testABrokenHostIsNamedWithoutStoppingTheOthers() throws {
        try requireFleetCommands()
        let invalid = files.temporaryDirectory.appendingPathComponent("numaguard-fleet-invalid-\(UUID().uuidString).yaml")
        try "version: 3\n".write(to: invalid, atomically: true, encoding: .utf8)
        defer { try? files.removeItem(at: invalid) }
        let directory = try workspace(policy: Self.lenient, hostVars: ["fleet-c": ["numaguard_policy": invalid.path]])
        defer { try? files.removeItem(at: directory) }
        let before = Self.utcDate()
        let result = try play(directory, ["-e", "numaguard_serial=1", "-e", "numaguard_allow_drift=true"])
        let after = Self.utcDate()
        XCTAssertNotEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("no report from fleet-c (certify exited 78: "), result.stdout)
        XCTAssertFalse(result.stdout.contains("fleet report: not every host") || result.stdout.contains("fleet report: incomplete"),
                       "the two delivered hosts are certified: \(result.stdout)")
        let run = try runDirectory(directory, datedBetween: before, and: after)
        XCTAssertFalse(files.fileExists(atPath: run.appendingPathComponent("fleet-c").path))
        let rows = try XCTUnwrap(try json(run.appendingPathComponent("fleet.json"))["hosts"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["name"] as? String }.sorted(), ["fleet-a", "fleet-b"])
    }

    /// --check changes nothing: no certify, no snapshot, no --out directory on the hosts, no
    /// run directory on the controller; the policy is checked on every host, and an invalid
    /// one fails the check run. Needs no fleet command (the controller play is skipped).
    func testCheckModeChangesNothingAndChecksThePolicy() throws {
        guard files.isExecutableFile(atPath: Command.numaguard) else { throw XCTSkip("numaguard not built") }
        let directory = try workspace(policy: Self.reference)
        defer { try? files.removeItem(at: directory) }
        let result = try play(directory, ["--check", "-e", "numaguard_run_date=2026-12-02"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        for name in Self.names {
            XCTAssertTrue(result.stdout.contains("check mode: certify and snapshot not run on \(name)"), result.stdout)
        }
        XCTAssertTrue(result.stdout.contains("check mode: no fleet report or diff"), result.stdout)
        XCTAssertEqual(try files.contentsOfDirectory(atPath: directory.appendingPathComponent("hosts").path), [])
        XCTAssertFalse(files.fileExists(atPath: directory.appendingPathComponent("collect").path))

        try "version: 3\n".write(to: directory.appendingPathComponent("policy.yaml"), atomically: true, encoding: .utf8)
        let invalid = try play(directory, ["--check"])
        XCTAssertNotEqual(invalid.status, 0)
        XCTAssertTrue(invalid.stdout.contains("\"rc\": 78"), invalid.stdout)
        XCTAssertFalse(files.fileExists(atPath: directory.appendingPathComponent("collect").path))
    }

    /// A run date that is not YYYY-MM-DD would name a directory outside the run tree: refused
    /// before any host is touched.
    func testRunDateMustBeADate() throws {
        guard files.isExecutableFile(atPath: Command.numaguard) else { throw XCTSkip("numaguard not built") }
        let directory = try workspace(policy: Self.lenient)
        defer { try? files.removeItem(at: directory) }
        let result = try play(directory, ["-e", "numaguard_run_date=../../etc"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("must be YYYY-MM-DD"), result.stdout)
        XCTAssertEqual(try files.contentsOfDirectory(atPath: directory.appendingPathComponent("hosts").path), [])
        XCTAssertFalse(files.fileExists(atPath: directory.appendingPathComponent("collect").path))
    }

    /// RUN/HOST sits beside RUN's reports: an inventory host named for one of them (fleet.json...)
    /// would have its directory cleared over that report. Refused by the name check, which runs
    /// in check mode too, so a check run shows it without touching anything.
    func testAHostNamedForAReportIsRefused() throws {
        guard files.isExecutableFile(atPath: Command.numaguard) else { throw XCTSkip("numaguard not built") }
        let directory = try workspace(policy: Self.lenient)
        defer { try? files.removeItem(at: directory) }
        let inventoryFile = directory.appendingPathComponent("inventory.yml")
        var inventory = try Command.json(try String(contentsOf: inventoryFile, encoding: .utf8))
        var fleet = try XCTUnwrap(inventory["fleet"] as? [String: Any])
        var hosts = try XCTUnwrap(fleet["hosts"] as? [String: Any])
        let reports = ["fleet.txt", "fleet.json", "fleet.junit.xml", "fleet.prom", "fleet-diff.txt", "fleet-diff.json"]
        for name in reports { hosts[name] = ["numaguard_host_root": Fixtures.path(Self.hosts[0].1)] }
        fleet["hosts"] = hosts
        inventory["fleet"] = fleet
        try JSONSerialization.data(withJSONObject: inventory, options: [.sortedKeys]).write(to: inventoryFile)
        let result = try play(directory, ["--check", "-e", "numaguard_run_date=2026-12-02"])
        XCTAssertNotEqual(result.status, 0, result.stdout)
        for name in reports {
            XCTAssertTrue(result.stdout.contains("inventory name \\\"\(name)\\\" cannot name a directory of the run"), "\(name): \(result.stdout)")
        }
        for name in Self.names {
            XCTAssertTrue(result.stdout.contains("check mode: certify and snapshot not run on \(name)"), result.stdout)
        }
        XCTAssertEqual(try files.contentsOfDirectory(atPath: directory.appendingPathComponent("hosts").path), [])
        XCTAssertFalse(files.fileExists(atPath: directory.appendingPathComponent("collect").path))
    }
}
