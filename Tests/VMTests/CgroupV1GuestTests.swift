import Foundation
import TestSupport
import XCTest

/// A real 2-node 6.1 kernel with cgroup v1 hierarchies mounted the way RHEL 8 and systemd's
/// hybrid layout do: cpuset and memory as v1 controllers under a tmpfs at /sys/fs/cgroup, and
/// an empty cgroup2 at /sys/fs/cgroup/unified. `run` refuses CPUs outside a v1 cpuset naming
/// the v1 file, `audit` judges a workload in a v1 cpuset, `snapshot` lists the v1 cpusets, and
/// the v1 memory controller's numa_stat parses as the kernel writes it. The other VM tests run
/// the same commands on cgroup v2.
final class CgroupV1GuestTests: XCTestCase {
    static let script = #"""
        umount /sys/fs/cgroup
        mount -t tmpfs cgroup_root /sys/fs/cgroup
        mkdir /sys/fs/cgroup/cpuset /sys/fs/cgroup/memory /sys/fs/cgroup/unified
        mount -t cgroup -o cpuset cpuset /sys/fs/cgroup/cpuset; echo $? >$OUT/mount-cpuset.rc
        mount -t cgroup -o memory memory /sys/fs/cgroup/memory; echo $? >$OUT/mount-memory.rc
        mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified; echo $? >$OUT/mount-unified.rc
        mkdir /sys/fs/cgroup/cpuset/pinned /sys/fs/cgroup/memory/engine
        echo 0-1 >/sys/fs/cgroup/cpuset/pinned/cpuset.cpus
        echo 0 >/sys/fs/cgroup/cpuset/pinned/cpuset.mems
        cat /proc/self/mountinfo >$OUT/mountinfo
        # in-v1.sh CPUSET MEMCG CMD...: move into both v1 cgroups, then exec CMD (same PID).
        printf 'echo $$ >/sys/fs/cgroup/cpuset/$1/cgroup.procs || exit 99\necho $$ >/sys/fs/cgroup/memory/$2/cgroup.procs || exit 98\nshift 2\nexec "$@"\n' >/tmp/in-v1.sh
        sh /tmp/in-v1.sh pinned engine cat /proc/self/cgroup >$OUT/self-cgroup
        sh /tmp/in-v1.sh pinned engine numaguard run -C 2 -- true >$OUT/run-C2.out 2>$OUT/run-C2.err; echo $? >$OUT/run-C2.rc
        sh /tmp/in-v1.sh pinned engine numaguard run -m 1 -- true >$OUT/run-m1.out 2>$OUT/run-m1.err; echo $? >$OUT/run-m1.rc
        sh /tmp/in-v1.sh pinned engine numaguard run -m 0 -C 1 -- cat /proc/self/status >$OUT/run-ok.out 2>$OUT/run-ok.err; echo $? >$OUT/run-ok.rc
        start engine sh /tmp/in-v1.sh pinned engine numactl --membind=0 probe 16
        cat >/tmp/v1.yaml <<'EOF'
        version: 1
        workloads:
          - name: engine
            match: {cmdline: "^probe 16$"}
            cpus: {nodes: [1]}
            memory: {policy: bind, nodes: [1]}
        EOF
        numaguard audit --policy /tmp/v1.yaml --format json >$OUT/audit.json 2>$OUT/audit.err; echo $? >$OUT/audit.rc
        numaguard snapshot --out $OUT/snapshot.json 2>$OUT/snapshot.err; echo $? >$OUT/snapshot.rc
        cat /sys/fs/cgroup/memory/engine/memory.numa_stat >$OUT/numa_stat
        cat /sys/fs/cgroup/memory/engine/cgroup.procs >$OUT/engine-procs
        """#

    private func line(_ guest: Guest, _ name: String) throws -> String {
        try guest.text(name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testRunAuditAndSnapshotOnCgroupV1() throws {
        let guest = try Guest.boot(.linux61, .twoNode, script: Self.script)
        for mount in ["mount-cpuset.rc", "mount-memory.rc", "mount-unified.rc"] {
            XCTAssertEqual(try line(guest, mount), "0", "\(mount): \(guest.peek("mountinfo"))")
        }
        let cgroups = try guest.text("self-cgroup")
        XCTAssertTrue(cgroups.contains(":cpuset:/pinned"), cgroups)
        XCTAssertTrue(cgroups.contains(":memory:/engine"), cgroups)

        // run: the v1 cpuset is the limit, and the refusal names the v1 file.
        XCTAssertEqual(try line(guest, "run-C2.rc"), "125", guest.peek("run-C2.err"))
        XCTAssertEqual(try guest.text("run-C2.err"), "numaguard run: refused: -C 2: CPU 2 is not allowed: this process's cgroup /pinned "
                       + "allows CPUs 0-1 (cpuset.effective_cpus); run numaguard in a cgroup whose cpuset includes them\n")
        XCTAssertEqual(try line(guest, "run-m1.rc"), "125", guest.peek("run-m1.err"))
        XCTAssertTrue(try guest.text("run-m1.err").contains("(cpuset.effective_mems)"), guest.peek("run-m1.err"))
        XCTAssertEqual(try line(guest, "run-ok.rc"), "0", guest.peek("run-ok.err"))
        XCTAssertTrue(try guest.text("run-ok.out").contains("Cpus_allowed_list:\t1\n"), guest.peek("run-ok.out"))

        // audit: the workload's cpuset checks read the v1 files and name them.
        XCTAssertEqual(try line(guest, "audit.rc"), "1", guest.peek("audit.err"))
        let findings = try XCTUnwrap(try guest.json("audit.json")["findings"] as? [[String: Any]])
        let cpus = try XCTUnwrap(findings.first { $0["check"] as? String == "workload.engine.cgroup.cpuset.cpus" }, "\(findings.map { $0["check"] ?? "" })")
        XCTAssertEqual(cpus["outcome"] as? String, "fail")
        XCTAssertEqual(cpus["actual"] as? String, "0-1")
        XCTAssertTrue((cpus["expected"] as? String ?? "").contains("cpuset.effective_cpus"), "\(cpus)")
        let mems = try XCTUnwrap(findings.first { $0["check"] as? String == "workload.engine.cgroup.cpuset.mems" })
        XCTAssertEqual(mems["actual"] as? String, "0")
        XCTAssertTrue((mems["expected"] as? String ?? "").contains("cpuset.effective_mems"), "\(mems)")

        // snapshot: the v1 cpusets, found through init's mountinfo.
        XCTAssertEqual(try line(guest, "snapshot.rc"), "0", guest.peek("snapshot.err"))
        let cpusets = try XCTUnwrap(try guest.json("snapshot.json")["cpusets"] as? [[String: Any]])
        let pinned = try XCTUnwrap(cpusets.first { $0["cgroup"] as? String == "/pinned" }, "\(cpusets)")
        XCTAssertEqual(pinned["version"] as? Int, 1)
        XCTAssertEqual((pinned["settings"] as? [String: Any])?["cpus"] as? String, "0-1")
        XCTAssertEqual((pinned["settings"] as? [String: Any])?["mems"] as? String, "0")

        // The v1 memory controller's numa_stat, in pages, as the kernel wrote it: the probe's
        // 16 MiB (bound to node 0) is anonymous memory on node 0.
        let stat = try guest.text("numa_stat")
        let anon = try XCTUnwrap(stat.split(separator: "\n").first { $0.hasPrefix("hierarchical_anon=") }, stat)
        let node0 = try XCTUnwrap(anon.split(separator: " ").first { $0.hasPrefix("N0=") }.flatMap { Int($0.dropFirst(3)) }, String(anon))
        XCTAssertGreaterThanOrEqual(node0 * 4096, 16 << 20, stat)
        XCTAssertFalse(try guest.text("engine-procs").isEmpty)
    }
}
