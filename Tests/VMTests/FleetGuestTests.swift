import Foundation
import TestSupport
import XCTest

/// Issue 18's proof on live kernels: three 6.1 guests with different topologies and command
/// lines each run `certify` and `snapshot` themselves, and their outputs, laid out as the
/// fleet playbook fetches them, are the fleet. `fleet report` and `fleet diff` must name
/// exactly the planted differences (fleet-b booted with NUMA balancing on, fleet-c with four
/// nodes), a certificate changed after certify wrote it must be caught, and every JUnit must
/// validate. (FleetPlaybookTests runs the playbook itself over trees captured from guests.)
final class FleetGuestTests: XCTestCase {
    static let policy = """
        version: 1
        host:
          kernel: {numa_balancing: off}
          topology: {nodes: 2}
        """

    /// certify into a directory of the guest's own (its trust rules), then the files the
    /// playbook fetches, `exit-status` last.
    static let script = """
        cat >/tmp/policy.yaml <<'EOF'
        \(policy)
        EOF
        numaguard certify --policy /tmp/policy.yaml --window 1s --out /tmp/cert >$OUT/certify.out 2>&1
        echo $? >/tmp/certify.status
        numaguard snapshot --out /tmp/cert/snapshot.json 2>$OUT/snapshot.err; echo $? >$OUT/snapshot.status
        mkdir -p $OUT/host
        cp /tmp/cert/certificate.json /tmp/cert/certificate.sha256 /tmp/cert/certificate.txt /tmp/cert/certificate.junit.xml \\
            /tmp/cert/snapshot.json $OUT/host/
        cp /tmp/certify.status $OUT/host/exit-status
        """

    func testThreeGuestsCertifyAndTheFleetNamesExactlyThePlantedDifferences() throws {
        let files = FileManager.default
        let fleet = files.temporaryDirectory.appendingPathComponent("numaguard-fleet-\(UUID().uuidString)")
        try files.createDirectory(at: fleet, withIntermediateDirectories: true)
        defer { try? files.removeItem(at: fleet) }
        let boots: [(String, Guest.Topology, String)] = [
            ("fleet-a", .twoNode, "numa_balancing=disable"),
            ("fleet-b", .twoNode, "numa_balancing=enable"),
            ("fleet-c", .fourNodeAsymmetric, "numa_balancing=disable"),
        ]
        for (name, topology, append) in boots {
            let guest = try Guest.boot(.linux61, topology, append: append, script: Self.script)
            XCTAssertEqual(try guest.text("snapshot.status").trimmingCharacters(in: .whitespacesAndNewlines), "0",
                           "\(name): \((try? guest.text("snapshot.err")) ?? "")")
            try files.copyItem(at: guest.directory.appendingPathComponent("host"), to: fleet.appendingPathComponent(name))
        }
        let names = boots.map(\.0)
        let directories = names.map { fleet.appendingPathComponent($0).path }
        let statuses = try names.map {
            try String(contentsOf: fleet.appendingPathComponent("\($0)/exit-status"), encoding: .utf8)
        }
        XCTAssertEqual(statuses, ["0\n", "1\n", "1\n"], "certify inside each guest: only fleet-a passes")

        // The report: fleet-a certified, b and c not, each for its planted check only.
        let report = try Command.numaguard(["fleet", "report", "--format", "json"] + directories)
        XCTAssertEqual(report.status, 1, report.stderr)
        let document = try Command.json(report.stdout)
        let verdicts = try FleetDocuments.verdicts(document)
        XCTAssertEqual(verdicts, ["fleet-a": "certified", "fleet-b": "not_certified", "fleet-c": "not_certified"])
        XCTAssertEqual(try FleetDocuments.failingChecks(document),
                       ["host.kernel.numa_balancing": ["fleet-b"], "host.topology.nodes": ["fleet-c"]])
        let junit = try Command.numaguard(["fleet", "report", "--format", "junit"] + directories)
        XCTAssertEqual(junit.status, 1, junit.stderr)
        try XMLSchema.validate(junit.stdout, against: "junit/junit-10-rules.xsd")
        for name in names {
            try XMLSchema.validate(try String(contentsOf: fleet.appendingPathComponent("\(name)/certificate.junit.xml"), encoding: .utf8),
                                   against: "junit/junit-10-rules.xsd")
        }

        // The diff: fleet-b differs on its boot argument and the knob it sets, fleet-c on exactly
        // the topology facts `numaguard diff` counts against fleet-a; fleet-a nowhere.
        let snapshots = names.map { fleet.appendingPathComponent("\($0)/snapshot.json").path }
        let diff = try Command.numaguard(["fleet", "diff", "--format", "json"] + snapshots)
        XCTAssertEqual(diff.status, 1, diff.stderr)
        let outliers = try FleetDocuments.outliers(try Command.json(diff.stdout))
        func pairwise(_ other: String) throws -> Set<String> {
            let result = try Command.numaguard(["diff", "--format", "json", snapshots[0], fleet.appendingPathComponent("\(other)/snapshot.json").path])
            XCTAssertEqual(result.status, 1, result.stderr)
            return Set(try XCTUnwrap(try Command.json(result.stdout)["changes"] as? [[String: Any]]).compactMap { $0["id"] as? String })
        }
        XCTAssertEqual(outliers["fleet-b"], ["boot.numa_balancing", "kernel.numa_balancing"])
        XCTAssertEqual(outliers["fleet-b"], try pairwise("fleet-b"))
        let topology = try pairwise("fleet-c")
        XCTAssertFalse(topology.isEmpty)
        XCTAssertTrue(topology.allSatisfy { $0.hasPrefix("topology.") }, "\(topology)")
        XCTAssertEqual(outliers["fleet-c"], topology)
        XCTAssertEqual(Set(outliers.keys), ["fleet-b", "fleet-c"])

        // fleet-c's certificate forged to pass after certify wrote it: tampered, the fleet fails,
        // the others keep their verdicts.
        let certificate = fleet.appendingPathComponent("fleet-c/certificate.json")
        let original = try String(contentsOf: certificate, encoding: .utf8)
        let forged = original.replacingOccurrences(of: "\"outcome\" : \"fail\"", with: "\"outcome\" : \"pass\"")
        XCTAssertNotEqual(forged, original)
        try forged.write(to: certificate, atomically: true, encoding: .utf8)
        let again = try Command.numaguard(["fleet", "report", "--format", "json"] + directories)
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertEqual(try FleetDocuments.verdicts(try Command.json(again.stdout)),
                       ["fleet-a": "certified", "fleet-b": "not_certified", "fleet-c": "tampered"])
    }
}
