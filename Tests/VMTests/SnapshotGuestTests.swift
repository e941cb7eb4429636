import Foundation
import TestSupport
import XCTest

/// Snapshots, diff and capture on real kernels: the same 6.1 kernel booted twice, first as
/// two nodes with NUMA balancing enabled on the command line, then as four nodes with
/// asymmetric distances, balancing disabled, a cpuset partition and a numad running. The
/// diff must report exactly those changes; a capture taken in the first guest must audit
/// outside it with the findings the audit gave inside.
final class SnapshotGuestTests: XCTestCase {
    static let policy = """
        version: 1
        host:
          kernel: {numa_balancing: off, zone_reclaim_mode: 0}
          topology: {nodes: 2, cpus: {0: "0-1", 1: "2-3"}}
          forbid_processes: [numad]
        workloads:
          - name: engine
            match: {cmdline: "^probe 32$"}
            protected: true
            running: {min: 1, max: 1}
            cpus: {nodes: [0]}
            memory: {policy: bind, nodes: [0], max_remote: 1%}
          - name: batch
            match: {cmdline: "^probe 16$"}
            memory: {policy: bind, nodes: [1]}
        """

    static let firstBoot = """
        cat >$OUT/policy.yaml <<'EOF'
        \(policy)
        EOF
        start engine numactl --cpunodebind=0 --membind=0 probe 32
        start batch numactl --interleave=all probe 16
        numaguard snapshot --out $OUT/a.json 2>$OUT/a.err; echo $? >$OUT/a.status
        numaguard diff $OUT/a.json $OUT/a.json >$OUT/self.txt 2>&1; echo $? >$OUT/self.status
        numaguard audit --policy $OUT/policy.yaml --today 2026-11-21 --format json >$OUT/audit.json 2>$OUT/audit.err
        echo $? >$OUT/audit.status
        numaguard capture --out $OUT/a.tar 2>$OUT/capture.err; echo $? >$OUT/capture.status
        # busybox tar unpacks it, and numaguard reads the unpacked tree as it read the live host.
        mkdir /tmp/unpacked && tar -xf $OUT/a.tar -C /tmp/unpacked 2>$OUT/untar.err; echo $? >$OUT/untar.status
        numaguard snapshot --host-root /tmp/unpacked --out $OUT/a-unpacked.json 2>$OUT/a-unpacked.err
        cat /proc/sys/kernel/numa_balancing >$OUT/numa_balancing
        """

    static let secondBoot = """
        mkdir /sys/fs/cgroup/trading
        echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control
        echo 1 >/sys/fs/cgroup/trading/cpuset.cpus
        echo 1 >/sys/fs/cgroup/trading/cpuset.mems
        cp /bin/probe /tmp/numad
        start numad /tmp/numad 8
        numaguard snapshot --out $OUT/b.json 2>$OUT/b.err; echo $? >$OUT/b.status
        numaguard capture --out $OUT/b.tar 2>$OUT/capture.err; echo $? >$OUT/capture.status
        cat /proc/sys/kernel/numa_balancing >$OUT/numa_balancing
        """

    private func status(_ guest: Guest, _ name: String) throws -> String {
        try guest.text("\(name).status").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func unpack(_ archive: URL) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-unpacked-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let result = try Command.run("/usr/bin/tar", ["-xf", archive.path, "-C", directory.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        return directory
    }

    /// A snapshot's JSON without the moment it was taken.
    private func stable(_ object: [String: Any]) -> NSDictionary {
        var copy = object
        copy.removeValue(forKey: "taken_at")
        return copy as NSDictionary
    }

    func testDiffReportsExactlyTheChangesBetweenTwoBootsAndACaptureAuditsTheSameOutside() throws {
        let first = try Guest.boot(.linux61, .twoNode, append: "numa_balancing=enable", script: Self.firstBoot)
        let second = try Guest.boot(.linux61, .fourNodeAsymmetric, append: "numa_balancing=disable", script: Self.secondBoot)
        XCTAssertEqual(try first.text("numa_balancing").trimmingCharacters(in: .whitespacesAndNewlines), "1")
        XCTAssertEqual(try second.text("numa_balancing").trimmingCharacters(in: .whitespacesAndNewlines), "0")
        XCTAssertEqual(try status(first, "a"), "0", "complete as root, debugfs included: \((try? first.text("a.err")) ?? "")")
        XCTAssertEqual(try status(second, "b"), "0", (try? second.text("b.err")) ?? "")
        XCTAssertEqual(try status(first, "self"), "0")
        XCTAssertTrue(try first.text("self.txt").contains("NO DRIFT"))
        let a = try first.json("a.json")
        let debugfs = try XCTUnwrap((a["kernel"] as? [String: Any])?["numa_balancing_debugfs"] as? [String: String])
        XCTAssertNotNil(debugfs["scan_delay_ms"], "the guest mounts debugfs: \(debugfs)")

        // The diff, run outside on the two snapshots brought out of the guests.
        let oldFile = first.directory.appendingPathComponent("a.json").path
        let newFile = second.directory.appendingPathComponent("b.json").path
        let result = try Command.numaguard(["diff", oldFile, newFile, "--format", "json"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let diff = try Command.json(result.stdout)
        let changes = try XCTUnwrap(diff["changes"] as? [[String: Any]])
        var expected: Set<String> = [
            "topology.nodes.possible", "topology.nodes.online", "topology.nodes.with_cpus", "topology.nodes.with_memory",
            "kernel.numa_balancing", "boot.numa_balancing",
            "cpuset.trading.cpus", "cpuset.trading.mems", "cpuset.trading.cpus.partition", "actor.numad",
        ]
        for node in 0...3 { expected.formUnion(["cpus", "memory", "distances"].map { "topology.node.\(node).\($0)" }) }
        XCTAssertEqual(Set(changes.compactMap { $0["id"] as? String }), expected)
        XCTAssertEqual(changes.count, expected.count)
        XCTAssertEqual((diff["notes"] as? [Any])?.count, 0, "\(diff["notes"] ?? "")")
        XCTAssertEqual((diff["not_compared"] as? [Any])?.count, 0)
        func change(_ id: String) -> [String: String] {
            (changes.first { $0["id"] as? String == id } ?? [:]).compactMapValues { $0 as? String }
        }
        XCTAssertEqual(change("kernel.numa_balancing")["old"], "on: normal (1)")
        XCTAssertEqual(change("kernel.numa_balancing")["new"], "off (0)")
        XCTAssertEqual(change("boot.numa_balancing")["old"], "numa_balancing=enable")
        XCTAssertEqual(change("boot.numa_balancing")["new"], "numa_balancing=disable")
        XCTAssertEqual(change("topology.node.0.distances")["new"], "10 16 22 28")
        XCTAssertEqual(change("topology.node.3.distances")["new"], "30 22 16 10", "the asymmetric row as the kernel reports it")
        XCTAssertNil(change("topology.node.3.cpus")["old"], "absent before")
        XCTAssertEqual(change("cpuset.trading.cpus")["new"], "1")
        XCTAssertEqual(change("actor.numad")["new"], "running")
        XCTAssertEqual(change("kernel.numa_balancing")["group"], "kernel")
        let text = try Command.numaguard(["diff", oldFile, newFile]).stdout
        for title in ["topology:", "kernel knobs:", "boot arguments:", "cgroup cpusets:", "placement actors:"] {
            XCTAssertTrue(text.contains("\n\(title)\n"), "\(title) in\n\(text)")
        }
        XCTAssertTrue(text.contains("DRIFT: \(expected.count) placement-relevant changes"), text)

        // The capture: complete as root, unpacked by busybox tar inside and GNU tar outside,
        // and read the same everywhere.
        XCTAssertEqual(try status(first, "capture"), "0", (try? first.text("capture.err")) ?? "")
        XCTAssertEqual(try status(first, "untar"), "0", (try? first.text("untar.err")) ?? "")
        XCTAssertEqual(stable(try first.json("a-unpacked.json")), stable(a), "snapshot of the capture unpacked by busybox tar")
        let unpacked = try unpack(first.directory.appendingPathComponent("a.tar"))
        defer { try? FileManager.default.removeItem(at: unpacked) }
        let outside = try Command.numaguard(["snapshot", "--host-root", unpacked.path])
        XCTAssertEqual(outside.status, 0, outside.stderr)
        XCTAssertEqual(stable(try Command.json(outside.stdout)), stable(a), "snapshot of the capture unpacked outside")

        let policy = first.directory.appendingPathComponent("policy.yaml").path
        let audit = try Command.numaguard(["audit", "--policy", policy, "--today", "2026-11-21", "--format", "json", "--host-root", unpacked.path])
        XCTAssertEqual("\(audit.status)", try status(first, "audit"), audit.stdout)
        let inside = try first.json("audit.json")
        let outsideAudit = try Command.json(audit.stdout)
        let insideFindings = try XCTUnwrap(inside["findings"] as? [[String: Any]])
        XCTAssertGreaterThan(insideFindings.count, 8, "the policy's host and workload checks all ran")
        XCTAssertTrue(insideFindings.contains { $0["check"] as? String == "workload.batch.memory.interleave" && $0["outcome"] as? String == "fail" })
        // Remedies name the policy file, which lives at another path outside.
        func normalized(_ value: Any?, _ policyPath: String) -> NSObject {
            switch value {
            case let text as String: return text.replacingOccurrences(of: policyPath, with: "POLICY") as NSString
            case let list as [Any]: return list.map { normalized($0, policyPath) } as NSArray
            case let object as [String: Any]: return object.mapValues { normalized($0, policyPath) } as NSDictionary
            default: return (value as? NSObject) ?? NSNull()
            }
        }
        XCTAssertEqual(normalized(outsideAudit["findings"], policy), normalized(insideFindings, "/out/policy.yaml"),
                       "the same findings outside as inside")
        XCTAssertEqual(outsideAudit["host"] as? NSDictionary, inside["host"] as? NSDictionary, "the same host identity")
        XCTAssertEqual(outsideAudit["gone"] as? NSArray, inside["gone"] as? NSArray)
        XCTAssertEqual(outsideAudit["unreadable"] as? NSArray, inside["unreadable"] as? NSArray)

        // audit --baseline: the first boot's snapshot against each capture.
        let same = try Command.numaguard(["audit", "--policy", policy, "--today", "2026-11-21", "--format", "json",
                                          "--host-root", unpacked.path, "--baseline", oldFile])
        let sameDrift = try XCTUnwrap(try Command.json(same.stdout)["findings"] as? [[String: Any]]).filter {
            ($0["check"] as? String ?? "").hasPrefix("drift")
        }
        XCTAssertEqual(sameDrift.map { $0["check"] as? String }, ["drift"])
        XCTAssertEqual(sameDrift.first?["outcome"] as? String, "pass")
        let later = try unpack(second.directory.appendingPathComponent("b.tar"))
        defer { try? FileManager.default.removeItem(at: later) }
        XCTAssertEqual(try status(second, "capture"), "0", (try? second.text("capture.err")) ?? "")
        let drifted = try Command.numaguard(["audit", "--policy", policy, "--today", "2026-11-21", "--format", "json",
                                             "--host-root", later.path, "--baseline", oldFile])
        XCTAssertEqual(drifted.status, 1, drifted.stderr)
        let drift = try XCTUnwrap(try Command.json(drifted.stdout)["findings"] as? [[String: Any]]).filter {
            ($0["check"] as? String ?? "").hasPrefix("drift")
        }
        XCTAssertEqual(Set(drift.compactMap { $0["check"] as? String }), Set(expected.map { "drift.\($0)" }))
        XCTAssertTrue(drift.allSatisfy { $0["outcome"] as? String == "fail" && $0["severity"] as? String == "warning" })
    }
}
