import Foundation
import TestSupport
import XCTest

/// `numaguard audit` inside a real 2-node 6.1 guest: one boot, several host states and
/// policies; each audit's JSON and exit status is recorded in the guest and judged here.
final class AuditGuestTests: XCTestCase {
    static let script = #"""
        audit() { numaguard audit --policy "$2" --format json --today 2026-11-21 >$OUT/$1.json 2>$OUT/$1.err; echo $? >$OUT/$1.status; }
        cat >/tmp/baseline.yaml <<'EOF'
        version: 1
        host: {kernel: {numa_balancing: off}, forbid_processes: [numad]}
        EOF
        # The guest kernel turns NUMA balancing on by default on a multi-node machine.
        audit default /tmp/baseline.yaml
        cat >/tmp/waived.yaml <<'EOF'
        version: 1
        host: {kernel: {numa_balancing: off}}
        waivers:
          - {check: host.kernel.numa_balancing, reason: "test window", expires: 2026-12-31}
        EOF
        audit waived /tmp/waived.yaml
        numaguard audit --policy /tmp/waived.yaml --format json --today 2027-01-01 >$OUT/expired.json 2>&1; echo $? >$OUT/expired.status
        echo 0 >/proc/sys/kernel/numa_balancing
        start engine numactl --cpunodebind=0 --membind=0 probe 32
        cat >/tmp/engine.yaml <<'EOF'
        version: 1
        host: {kernel: {numa_balancing: off}, topology: {nodes: 2, cpus: {0: "0-1", 1: "2-3"}}}
        workloads:
          - name: engine
            match: {cmdline: "^probe 32$"}
            protected: true
            running: {min: 1, max: 1}
            cpus: {nodes: [0]}
            memory: {policy: bind, nodes: [0], max_remote: 1%}
        reserve:
          - {node: 0, for: [engine], max_foreign_memory: 16MiB}
        EOF
        audit compliant /tmp/engine.yaml
        sed 's/nodes: \[0\], max_remote/nodes: [1], max_remote/' /tmp/engine.yaml >/tmp/wrong.yaml
        audit wrong /tmp/wrong.yaml
        start batch numactl --membind=0 probe 48
        start leak numactl --interleave=all probe 24
        cat >/tmp/busy.yaml <<'EOF'
        version: 1
        workloads:
          - name: engine
            match: {cmdline: "^probe 32$"}
            protected: true
            memory: {policy: bind, nodes: [0]}
          - name: leaky
            match: {cmdline: "^probe 24$"}
            memory: {policy: bind, nodes: [1]}
        reserve:
          - {node: 0, for: [engine], max_foreign_memory: 16MiB}
        EOF
        audit busy /tmp/busy.yaml
        # Certification catches what a single audit cannot: pages moved during the window.
        numaguard certify --policy /tmp/engine.yaml --today 2026-11-21 --window 2s --out /tmp/quiet >$OUT/quiet.out 2>&1; echo $? >$OUT/quiet.status
        cp /tmp/quiet/certificate.json $OUT/quiet.json
        numaguard certify --policy /tmp/engine.yaml --today 2026-11-21 --window 4s --out /tmp/moved >$OUT/moved.out 2>&1 &
        certifier=$!
        sleep 1
        migratepages $(pid_of batch) 0 1 >$OUT/migratepages.out 2>&1
        wait $certifier; echo $? >$OUT/moved.status
        cp /tmp/moved/certificate.json $OUT/moved.json
        echo 'version: 2' >/tmp/bad.yaml
        audit bad /tmp/bad.yaml
        echo "$(pid_of batch) $(pid_of leak) $(pid_of engine)" >$OUT/pids
        """#

    private func status(_ guest: Guest, _ name: String) throws -> String {
        try guest.text("\(name).status").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func finding(_ guest: Guest, _ name: String, _ check: String) throws -> [String: Any] {
        let findings = try XCTUnwrap(try guest.json("\(name).json")["findings"] as? [[String: Any]])
        return try XCTUnwrap(findings.first { $0["check"] as? String == check }, "\(check) in \(name): \(findings.compactMap { $0["check"] })")
    }

    func testAuditOnATwoNodeGuest() throws {
        let guest = try Guest.boot(.linux61, .twoNode, script: Self.script)
        let pids = try guest.text("pids").split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(pids.count, 3)

        XCTAssertEqual(try status(guest, "default"), "1", "numa_balancing left at the guest's default is a violation")
        let balancing = try finding(guest, "default", "host.kernel.numa_balancing")
        XCTAssertEqual(balancing["outcome"] as? String, "fail")
        XCTAssertEqual(balancing["actual"] as? String, "on: normal (1)")

        XCTAssertEqual(try status(guest, "waived"), "0", "a current waiver silences the finding")
        XCTAssertEqual(try finding(guest, "waived", "host.kernel.numa_balancing")["outcome"] as? String, "waived")
        XCTAssertEqual(try status(guest, "expired"), "1", "after the waiver's day the finding fails again")
        XCTAssertEqual(try finding(guest, "expired", "host.kernel.numa_balancing")["outcome"] as? String, "fail")

        XCTAssertEqual(try status(guest, "compliant"), "0", (try? guest.text("compliant.json")) ?? "")
        let summary = try XCTUnwrap(try guest.json("compliant.json")["summary"] as? [String: Int])
        XCTAssertEqual(summary["failed"], 0)
        XCTAssertGreaterThanOrEqual(summary["passed"] ?? 0, 10)

        XCTAssertEqual(try status(guest, "wrong"), "1")
        let policy = try finding(guest, "wrong", "workload.engine.memory.policy")
        XCTAssertEqual(policy["outcome"] as? String, "fail")
        XCTAssertEqual(policy["pid"] as? Int, pids[2])
        XCTAssertTrue((policy["remediation"] as? String ?? "").hasPrefix("restart through numaguard run"), "\(policy)")

        XCTAssertEqual(try status(guest, "busy"), "1")
        let interleave = try finding(guest, "busy", "workload.leaky.memory.interleave")
        XCTAssertEqual(interleave["outcome"] as? String, "fail")
        XCTAssertEqual(interleave["subject"] as? String, "PID \(pids[1]) (probe)")
        let reserve = try finding(guest, "busy", "node.0.reserve")
        XCTAssertEqual(reserve["outcome"] as? String, "fail")
        let actual = reserve["actual"] as? String ?? ""
        XCTAssertTrue(actual.contains("PID \(pids[0]) (probe) 48"), "the batch process and its memory on node 0: \(actual)")
        XCTAssertFalse(actual.contains("PID \(pids[2])"), "the reserving workload is not foreign: \(actual)")

        let quiet = try status(guest, "quiet")
        XCTAssertEqual(quiet, "1", "the engine policy has a reservation the batch and leak processes break: \((try? guest.text("quiet.out")) ?? "")")
        let quietFindings = try XCTUnwrap((try guest.json("quiet.json")["audit"] as? [String: Any])?["findings"] as? [[String: Any]])
        XCTAssertEqual(quietFindings.first { $0["check"] as? String == "host.window.migrations" }?["outcome"] as? String, "pass")
        XCTAssertEqual(try status(guest, "moved"), "1")
        let moved = try XCTUnwrap((try guest.json("moved.json")["audit"] as? [String: Any])?["findings"] as? [[String: Any]])
        let migrations = try XCTUnwrap(moved.first { $0["check"] as? String == "host.window.migrations" })
        XCTAssertEqual(migrations["outcome"] as? String, "fail", "migratepages during the window: \(migrations)")
        XCTAssertTrue((migrations["actual"] as? String ?? "").hasSuffix("pages migrated"))

        XCTAssertEqual(try status(guest, "bad"), "78")
        let badError = try guest.text("bad.err")
        XCTAssertTrue(badError.contains("/tmp/bad.yaml:1:"), badError)
        // Nothing is inspected; JSON says why the audit did not run instead of printing nothing.
        let bad = try guest.json("bad.json")
        XCTAssertEqual((bad["error"] as? [String: Any])?["reason"] as? String, "invalid_policy", "\(bad)")
        XCTAssertNil(bad["findings"], "nothing inspected")
    }
}
