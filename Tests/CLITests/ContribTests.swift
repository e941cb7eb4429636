import Foundation
import TestSupport
import XCTest

/// contrib/: the alert rules under `promtool test rules`, the systemd unit under
/// `systemd-analyze verify` and `security`, the certify playbook run by ansible-core against
/// localhost. scripts/setup.sh --test installs promtool and ansible-core; a machine without
/// them skips and says which is missing.
final class ContribTests: XCTestCase {
    private let contrib = Command.repositoryRoot.appendingPathComponent("contrib")

    private func tool(_ name: String, package: String) throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw XCTSkip("\(name) not installed (scripts/setup.sh --test installs \(package))")
    }

    func testAlertRules() throws {
        let promtool = try Promtool.path()
        let directory = contrib.appendingPathComponent("prometheus").path
        let check = try Command.run(promtool, ["check", "rules", "\(directory)/numaguard-watch.rules.yml"])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("SUCCESS: 6 rules found"), check.stdout)
        // promtool resolves rule_files relative to the test file.
        let test = try Command.run(promtool, ["test", "rules", "\(directory)/numaguard-watch.rules.test.yml"])
        XCTAssertEqual(test.status, 0, test.stdout + test.stderr)
        XCTAssertTrue(test.stdout.contains("SUCCESS"), test.stdout)
    }

    /// The alerts use only metric names and labels watch really exports.
    func testAlertRulesNameExportedMetrics() throws {
        let rules = try String(contentsOf: contrib.appendingPathComponent("prometheus/numaguard-watch.rules.yml"), encoding: .utf8)
        let names = Set(rules.matches(of: /numaguard_watch_[a-z_]+/).map { String($0.output) })
        XCTAssertFalse(names.isEmpty)
        let exported = ["numaguard_watch_regime", "numaguard_watch_events_total", "numaguard_watch_numa_balancing",
                        "numaguard_watch_last_sample_timestamp_seconds"]
        XCTAssertEqual(names, Set(exported))
    }

    func testSystemdUnit() throws {
        let analyze = try tool("systemd-analyze", package: "systemd")
        guard FileManager.default.isExecutableFile(atPath: Command.numaguard) else { throw XCTSkip("numaguard not built") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // verify checks that ExecStart exists: point it at the built binary.
        let unit = try String(contentsOf: contrib.appendingPathComponent("systemd/numaguard-watch.service"), encoding: .utf8)
        XCTAssertTrue(unit.contains("ExecStart=/usr/local/bin/numaguard watch --policy "))
        let copy = directory.appendingPathComponent("numaguard-watch.service")
        try unit.replacingOccurrences(of: "ExecStart=/usr/local/bin/numaguard ", with: "ExecStart=\(Command.numaguard) ")
            .write(to: copy, atomically: true, encoding: .utf8)
        let verify = try Command.run(analyze, ["verify", copy.path], environment: ["SYSTEMD_LOG_COLOR": "0", "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertEqual(verify.stdout + verify.stderr, "", "systemd-analyze verify has remarks")
        // Exposure 2.5 or better ("OK") on systemd's own scale.
        let security = try Command.run(analyze, ["security", "--offline=true", "--threshold=25", copy.path],
                                       environment: ["SYSTEMD_LOG_COLOR": "0", "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(security.status, 0, security.stdout + security.stderr)
        XCTAssertTrue(unit.contains("CapabilityBoundingSet=CAP_SYS_PTRACE\n"), "one capability only")
        // With it the kernel lets any process's memory be read and written (process_vm_readv/
        // writev, allowed by @system-service): watch needs only /proc's checks, so those are refused.
        XCTAssertTrue(unit.contains("\nSystemCallFilter=~process_vm_readv process_vm_writev\n"), "CAP_SYS_PTRACE for /proc reads only")
        XCTAssertTrue(unit.contains("--listen 127.0.0.1:9464"), "metrics on loopback")
    }

    func testAnsiblePlaybookCertifiesLocalhostAndCollectsTheReports() throws {
        let playbook = try tool("ansible-playbook", package: "ansible-core")
        guard FileManager.default.isExecutableFile(atPath: Command.numaguard) else { throw XCTSkip("numaguard not built") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-ansible-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("policy.yaml")
        try "version: 1\nhost: {forbid_processes: [numad]}\n".write(to: policy, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["ANSIBLE_NOCOLOR"] = "1"
        environment["ANSIBLE_LOCAL_TEMP"] = directory.appendingPathComponent("tmp").path
        environment["ANSIBLE_HOME"] = directory.appendingPathComponent("home").path
        func run(_ extra: [String]) throws -> CommandResult {
            try Command.run(playbook, [
                "-i", "localhost,", "-c", "local", contrib.appendingPathComponent("ansible/certify.yml").path,
                "-e", "numaguard_hosts=localhost", "-e", "numaguard_bin=\(Command.numaguard)", "-e", "numaguard_window=1s",
                "-e", "numaguard_out=\(directory.path)/out", "-e", "numaguard_collect=\(directory.path)/certs",
            ] + extra, environment: environment)
        }
        let result = try run(["-e", "numaguard_policy=\(policy.path)"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let certs = directory.appendingPathComponent("certs/localhost")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: certs.path).sorted(),
                       ["certificate.json", "certificate.junit.xml", "certificate.sha256", "certificate.txt", "exit-status"])
        XCTAssertEqual(try String(contentsOf: certs.appendingPathComponent("exit-status"), encoding: .utf8), "0\n")
        let digest = try Command.run("/bin/sh", ["-c", "cd '\(certs.path)' && sha256sum -c certificate.sha256"])
        XCTAssertEqual(digest.status, 0, "the fetched report matches its digest: \(digest.stdout)\(digest.stderr)")
        let json = try Command.json(try String(contentsOf: certs.appendingPathComponent("certificate.json"), encoding: .utf8))
        XCTAssertEqual(json["kind"] as? String, "certificate")

        // An invalid policy fails the host at once (exit 78): nothing to fetch.
        let invalid = directory.appendingPathComponent("bad.yaml")
        try "version: 3\n".write(to: invalid, atomically: true, encoding: .utf8)
        let refused = try run(["-e", "numaguard_policy=\(invalid.path)", "-e", "numaguard_collect=\(directory.path)/refused"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stdout.contains("\"rc\": 78"), refused.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("refused").path))

        // The policy set as an inventory host variable is the one certified against (play
        // vars used to outrank it, so the default /etc/numaguard/policy.yaml was read: 66).
        let inventory = directory.appendingPathComponent("inventory.ini")
        try "localhost ansible_connection=local numaguard_policy=\(invalid.path)\n".write(to: inventory, atomically: true, encoding: .utf8)
        let fromInventory = try Command.run(playbook, [
            "-i", inventory.path, contrib.appendingPathComponent("ansible/certify.yml").path,
            "-e", "numaguard_hosts=localhost", "-e", "numaguard_bin=\(Command.numaguard)", "-e", "numaguard_window=1s",
            "-e", "numaguard_out=\(directory.path)/out", "-e", "numaguard_collect=\(directory.path)/inventory",
        ], environment: environment)
        XCTAssertNotEqual(fromInventory.status, 0)
        XCTAssertTrue(fromInventory.stdout.contains("\"rc\": 78"), fromInventory.stdout)
        XCTAssertTrue(fromInventory.stdout.contains(invalid.path), fromInventory.stdout)
    }
}
