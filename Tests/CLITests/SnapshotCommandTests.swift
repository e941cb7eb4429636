import Foundation
import TestSupport
import XCTest

/// `numaguard snapshot`, `diff`, `capture` and `audit --baseline` end to end: exit codes,
/// both formats, refusals that name the file, and captures that read as their host.
final class SnapshotCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a snapshot of a host root to `name` and returns its path.
    private func snapshot(_ root: String, _ name: String) throws -> String {
        let result = try Command.numaguard(["snapshot", "--host-root", root, "--out", file(name)])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "", "--out leaves stdout empty")
        return file(name)
    }

    private func withoutTime(_ json: String) throws -> NSDictionary {
        var object = try Command.json(json)
        object.removeValue(forKey: "taken_at")
        return object as NSDictionary
    }

    func testSnapshotAndDiffOfRecordedGuests() throws {
        let two = try snapshot(Fixtures.path("linux-6.1-2node"), "two.json")
        let four = try snapshot(Fixtures.path("linux-6.1-4node-asym"), "four.json")
        let document = try Command.json(try String(contentsOfFile: two, encoding: .utf8))
        XCTAssertEqual(document["format_version"] as? Int, 1)
        XCTAssertEqual(document["kind"] as? String, "snapshot")
        XCTAssertEqual(document["tool_version"] as? String, try Command.numaguard(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let stdout = try Command.numaguard(["snapshot", "--host-root", Fixtures.path("linux-6.1-2node")])
        XCTAssertEqual(try withoutTime(stdout.stdout), try withoutTime(try String(contentsOfFile: two, encoding: .utf8)))

        let text = try Command.numaguard(["diff", two, four])
        XCTAssertEqual(text.status, 1, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("numaguard diff\nold: \(two) (host unnamed, kernel 6.1.0-56-amd64"), text.stdout)
        XCTAssertTrue(text.stdout.contains("\ntopology:\n  topology.nodes.possible: 0-1 -> 0-3\n"), text.stdout)
        XCTAssertTrue(text.stdout.contains("\nkernel knobs:\n  hugepages.node.0.2048kB: 8 -> absent\n"), text.stdout)
        XCTAssertTrue(text.stdout.hasSuffix("DRIFT: 17 placement-relevant changes (topology 16, kernel knobs 1)\n"), text.stdout)

        let json = try Command.numaguard(["diff", two, four, "--format", "json"])
        XCTAssertEqual(json.status, 1)
        let diff = try Command.json(json.stdout)
        XCTAssertEqual(diff["kind"] as? String, "diff")
        XCTAssertEqual(diff["format_version"] as? Int, 1)
        XCTAssertEqual(diff["status"] as? Int, 1)
        XCTAssertEqual(diff["summary"] as? [String: Int], ["topology": 16, "kernel": 1])
        let first = try XCTUnwrap((diff["changes"] as? [[String: Any]])?.first)
        XCTAssertEqual(first["id"] as? String, "topology.nodes.possible")
        XCTAssertEqual(first["group"] as? String, "topology")
        XCTAssertEqual(first["old"] as? String, "0-1")
        XCTAssertEqual(first["new"] as? String, "0-3")

        let same = try Command.numaguard(["diff", two, two])
        XCTAssertEqual(same.status, 0)
        XCTAssertTrue(same.stdout.hasSuffix("NO DRIFT: nothing placement-relevant changed\n"), same.stdout)
    }

    func testDiffRefusesWhatIsNotASnapshot() throws {
        let good = try snapshot(Fixtures.path("linux-6.1-2node"), "good.json")
        let missing = try Command.numaguard(["diff", file("nope.json"), good])
        XCTAssertEqual(missing.status, 66)
        XCTAssertEqual(missing.stderr, "numaguard: cannot read the snapshot \(file("nope.json")): No such file or directory\n")
        XCTAssertEqual(missing.stdout, "")

        let policy = Command.repositoryRoot.appendingPathComponent("policies/latency-baseline.yaml").path
        let yaml = try Command.numaguard(["diff", good, policy])
        XCTAssertEqual(yaml.status, 65, "bad data, not usage")
        XCTAssertTrue(yaml.stderr.hasPrefix("numaguard: \(policy) is not a snapshot numaguard can read: not a JSON document"), yaml.stderr)

        try Command.numaguard(["topology", "--host-root", Fixtures.path("linux-6.1-2node"), "--format", "json"]).stdout
            .write(toFile: file("topology.json"), atomically: true, encoding: .utf8)
        let topology = try Command.numaguard(["diff", good, file("topology.json")])
        XCTAssertEqual(topology.status, 65, "JSON, but not a snapshot: \(topology.stderr)")
        XCTAssertTrue(topology.stderr.contains("not a snapshot: its kind is \"topology\""), topology.stderr)

        try String(contentsOfFile: good, encoding: .utf8).replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 9")
            .write(toFile: file("future.json"), atomically: true, encoding: .utf8)
        let future = try Command.numaguard(["diff", file("future.json"), good])
        XCTAssertEqual(future.status, 65)
        XCTAssertTrue(future.stderr.contains("\(file("future.json")) is not a snapshot numaguard can read: format_version 9"), future.stderr)

        XCTAssertEqual(try Command.numaguard(["diff", good]).status, 64, "two snapshots are needed")
    }

    func testSomethingNotComparedExits3() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        let before = try snapshot(host.path, "before.json")
        try FileManager.default.removeItem(at: host.root.appendingPathComponent("sys/kernel/debug/sched/numa_balancing"))
        try host.write("sys/kernel/debug/sched/numa_balancing", "not a directory\n")
        let incomplete = try Command.numaguard(["snapshot", "--host-root", host.path, "--out", file("after.json")])
        XCTAssertEqual(incomplete.status, 3, "the snapshot is written but incomplete")
        XCTAssertTrue(incomplete.stderr.contains("sys/kernel/debug/sched/numa_balancing: Not a directory: debugfs.numa_balancing is not in the snapshot"),
                      incomplete.stderr)
        let diff = try Command.numaguard(["diff", before, file("after.json")])
        XCTAssertEqual(diff.status, 3, diff.stdout)
        XCTAssertTrue(diff.stdout.contains("not compared:\n  debugfs.numa_balancing: unreadable in new snapshot"), diff.stdout)
        XCTAssertTrue(diff.stdout.contains("INCOMPLETE"), diff.stdout)
    }

    func testAuditBaselineAddsDriftFindings() throws {
        let policy = file("policy.yaml")
        try """
            version: 1
            host: {kernel: {zone_reclaim_mode: 0}}
            waivers:
              - {check: drift.hugepages.*, reason: "pools resized on purpose, OPS-7", expires: 2026-12-31}
            """.write(toFile: policy, atomically: true, encoding: .utf8)
        let host = Fixtures.path("linux-6.1-4node-asym")
        func audit(_ extra: [String]) throws -> (status: Int32, checks: [String: String], stdout: String) {
            let result = try Command.numaguard(["audit", "--policy", policy, "--host-root", host, "--today", "2026-11-21",
                                                "--format", "json"] + extra)
            let findings = (try? Command.json(result.stdout)["findings"] as? [[String: Any]]) ?? []
            var checks: [String: String] = [:]
            for finding in findings { checks[finding["check"] as? String ?? ""] = finding["outcome"] as? String }
            return (result.status, checks, result.stdout + result.stderr)
        }
        XCTAssertEqual(try audit([]).status, 0)
        let unchanged = try audit(["--baseline", try snapshot(host, "same.json")])
        XCTAssertEqual(unchanged.status, 0, unchanged.stdout)
        XCTAssertEqual(unchanged.checks["drift"], "pass")

        let drifted = try audit(["--baseline", try snapshot(Fixtures.path("linux-6.1-2node"), "two.json")])
        XCTAssertEqual(drifted.status, 1, drifted.stdout)
        XCTAssertEqual(drifted.checks["drift.topology.node.0.cpus"], "fail")
        XCTAssertEqual(drifted.checks["drift.topology.node.3.distances"], "fail")
        XCTAssertEqual(drifted.checks["drift.hugepages.node.0.2048kB"], "waived", "drift findings take waivers like any other")
        XCTAssertNil(drifted.checks["drift"])
        XCTAssertEqual(drifted.checks.keys.filter { $0.hasPrefix("drift.") }.count, 17)

        let text = try Command.numaguard(["audit", "--policy", policy, "--host-root", host, "--baseline", file("two.json")])
        XCTAssertTrue(text.stdout.contains("WARN drift.topology.node.0.cpus [topology]\n     expected: 0-1\n     actual:   0\n"), text.stdout)
        XCTAssertTrue(text.stdout.contains("fix:      hardware, firmware (BIOS NUMA/SNC) or the kernel changed the topology"), text.stdout)
        XCTAssertEqual(try Command.numaguard(["audit", "--policy", policy, "--host-root", host, "--baseline", file("two.json"),
                                              "--fail-on", "critical"]).status, 0, "drift is a warning")

        let missing = try Command.numaguard(["audit", "--policy", policy, "--host-root", host, "--baseline", file("none.json")])
        XCTAssertEqual(missing.status, 66)
        XCTAssertEqual(missing.stdout, "", "nothing is audited without the baseline asked for")
        let notSnapshot = try Command.numaguard(["audit", "--policy", policy, "--host-root", host, "--baseline", policy])
        XCTAssertEqual(notSnapshot.status, 65)
        XCTAssertTrue(notSnapshot.stderr.contains("\(policy) is not a snapshot"), notSnapshot.stderr)
    }

    func testCaptureOfARecordedGuestReadsTheSameEverywhere() throws {
        let source = Fixtures.path("linux-6.1-2node")
        let archive = file("guest.tar")
        let capture = try Command.numaguard(["capture", "--host-root", source, "--out", archive])
        XCTAssertEqual(capture.status, 0, capture.stderr)
        XCTAssertTrue(capture.stderr.hasPrefix("numaguard: captured "), capture.stderr)
        let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: archive)[.posixPermissions] as? Int)
        XCTAssertEqual(mode, 0o600, "command lines can carry secrets")
        let unpacked = file("unpacked")
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        XCTAssertEqual(try Command.run("/usr/bin/tar", ["-xf", archive, "-C", unpacked]).status, 0)
        let policy = Command.repositoryRoot.appendingPathComponent("policies/trading-host.yaml").path
        let commands = [
            ["audit", "--policy", policy, "--today", "2026-11-21", "--format", "json"],
            ["inspect", "--all", "--format", "json"],
            ["topology", "--format", "json"],
            ["policy", "init", "--workload", "probe=probe"],
        ]
        for command in commands {
            let original = try Command.numaguard(command + ["--host-root", source])
            let copy = try Command.numaguard(command + ["--host-root", unpacked])
            XCTAssertEqual(copy.status, original.status, "\(command)")
            XCTAssertEqual(copy.stdout, original.stdout, "\(command)")
            XCTAssertFalse(original.stdout.isEmpty, "\(command)")
        }
        let unwritable = try Command.numaguard(["capture", "--host-root", source, "--out", "/proc/no-such/x.tar"])
        XCTAssertEqual(unwritable.status, 73)
        XCTAssertTrue(unwritable.stderr.contains("cannot write /proc/no-such/x.tar"), unwritable.stderr)
        XCTAssertEqual(try Command.numaguard(["capture"]).status, 64, "--out is required")
    }

    /// What a capture could not read stays unreadable in the copy (exit 3, named on stderr),
    /// and a manifest's strings reach the terminal escaped: a capture is input like any other.
    func testACapturesGapsAreReportedEscaped() throws {
        let archive = file("gaps.tar")
        XCTAssertEqual(try Command.numaguard(["capture", "--host-root", Fixtures.path("linux-6.1-2node"), "--out", archive]).status, 0)
        let unpacked = file("gaps")
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        XCTAssertEqual(try Command.run("/usr/bin/tar", ["-xf", archive, "-C", unpacked]).status, 0)
        let manifest = """
            {"kind": "capture", "format_version": 1, "source": "/", "skipped": [
              {"path": "sys/kernel/debug/sched/numa_balancing/scan_\\u001b]0;owned\\u0007", "error": "Operation not permitted\\u001b[2J"}]}
            """
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: unpacked).appendingPathComponent("numaguard-capture.json"))
        let result = try Command.numaguard(["snapshot", "--host-root", unpacked])
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertEqual(result.stderr, "numaguard: /sys/kernel/debug/sched/numa_balancing/scan_\\x1b]0;owned\\x07: Operation not permitted\\x1b[2J: "
                       + "debugfs.numa_balancing.scan_\\x1b]0;owned\\x07 is not in the snapshot\n")
    }

    /// A host file that does not parse is quoted in the failure escaped once: the parse error
    /// escapes what it quotes, and the command escapes only controls on top (no `\x5cx1b`).
    func testAMalformedHostFileIsQuotedEscapedOnce() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        try Data("0-1\u{1B}]0;owned\u{07}\n".utf8).write(to: copy.appendingPathComponent("sys/devices/system/node/online"))
        let result = try Command.numaguard(["snapshot", "--host-root", copy.path])
        XCTAssertEqual(result.status, 71, result.stderr)
        XCTAssertTrue(result.stderr.contains("0-1\\x1b]0;owned\\x07"), result.stderr)
        XCTAssertFalse(result.stderr.contains("x5c"), result.stderr)
        XCTAssertFalse(result.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, result.stderr)
    }

    /// This host's /proc and /sys, captured and unpacked, snapshot exactly as the host does.
    func testCaptureOfThisHost() throws {
        let archive = file("live.tar")
        let capture = try Command.numaguard(["capture", "--out", archive])
        XCTAssertTrue([0, 3].contains(capture.status), capture.stderr)
        if capture.status == 3 { XCTAssertTrue(capture.stderr.contains("numaguard: not captured: "), capture.stderr) }
        let unpacked = file("live")
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        XCTAssertEqual(try Command.run("/usr/bin/tar", ["-xf", archive, "-C", unpacked]).status, 0)
        let live = try Command.numaguard(["snapshot"])
        let copy = try Command.numaguard(["snapshot", "--host-root", unpacked])
        XCTAssertEqual(copy.status, live.status, copy.stderr)
        XCTAssertEqual(try withoutTime(copy.stdout), try withoutTime(live.stdout))
        let topology = try Command.numaguard(["topology", "--host-root", unpacked])
        XCTAssertEqual(topology.status, 0, topology.stderr)
    }

    /// Another user's numa_maps cannot be read without privilege: listed, and the capture goes on.
    func testUnprivilegedCaptureIsIncompleteAndSaysWhat() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to run numaguard as another user") }
        let child = try Child("/bin/sleep", ["304"])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let archive = file("nobody.tar")
        let result = try Command.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                                                          Command.numaguard, "capture", "--out", archive])
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("could not be read (listed in numaguard-capture.json)"), result.stderr)
        let manifest = try Command.run("/usr/bin/tar", ["-xOf", archive, "numaguard-capture.json"])
        XCTAssertTrue(manifest.stdout.contains("\"path\" : \"proc/\(child.pid)/numa_maps\""), manifest.stdout)
        let listing = try Command.run("/usr/bin/tar", ["-tf", archive]).stdout
        XCTAssertTrue(listing.contains("proc/\(child.pid)/status\n"), "the rest of the process is taken")
    }
}
