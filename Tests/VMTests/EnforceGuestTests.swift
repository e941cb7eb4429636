import Foundation
import TestSupport
import XCTest

/// `numaguard plan`, `apply`, `undo` and `migrate` inside a real 2-node 6.1 guest, one boot:
/// a batch process on the reserved node is moved off it while a protected process beside
/// it is refused and left exactly as it was; numa_balancing goes 1 -> 0 and back through
/// the journal; a second apply changes nothing; without CAP_SYS_NICE the migration is
/// blocked by name; an unprivileged user with only CAP_SYS_NICE and CAP_SYS_PTRACE migrates;
/// a PID reused between plan and apply is skipped; a knobs-only apply with --persist (THP
/// and the drop-in) exits 0, a second one changes nothing, and undo takes both back.
/// The migrate runs pass --yes: migrate asks like apply.
final class EnforceGuestTests: XCTestCase {
    static let script = #"""
        J=/tmp/journal.jsonl
        # Anonymous pages per node of a process, summed from numa_maps: "N0=... N1=...".
        anon() { awk '/anon=/ {for (i = 1; i <= NF; i++) if ($i ~ /^N[0-9]+=/) { split($i, a, "="); s[a[1]] += a[2] }}
                      END { printf "N0=%d N1=%d\n", s["N0"], s["N1"] }' /proc/$1/numa_maps; }
        cpus() { awk '/^Cpus_allowed_list/ {print $2}' /proc/$1/status; }
        run() { name=$1; shift; "$@" >$OUT/$name.out 2>$OUT/$name.err; echo $? >$OUT/$name.status; }
        cat >/tmp/enforce.yaml <<'EOF'
        version: 1
        host: {kernel: {numa_balancing: off}}
        workloads:
          - name: engine
            match: {cmdline: "^probe 40$"}
            protected: true
            cpus: {nodes: [0]}
            memory: {policy: bind, nodes: [0]}
          - name: feed
            match: {cmdline: "^probe 32$"}
            protected: true
            cpus: {nodes: [1]}
            memory: {policy: bind, nodes: [1]}
          - name: batch
            match: {cmdline: "^probe 48$"}
            cpus: {nodes: [1]}
        reserve:
          - {node: 0, for: [engine], max_foreign_memory: 16MiB}
        EOF
        start feed numactl --cpunodebind=0 --membind=0 probe 32
        start batch numactl --cpunodebind=0 probe 48
        pid_of batch >$OUT/batch.pid
        cat /proc/sys/kernel/numa_balancing >$OUT/balancing-before
        anon $(pid_of batch) >$OUT/batch-before; anon $(pid_of feed) >$OUT/feed-before
        cpus $(pid_of batch) >$OUT/batch-cpus-before
        cat /proc/$(pid_of feed)/numa_maps >$OUT/feed-maps-before; cpus $(pid_of feed) >$OUT/feed-cpus-before
        run plan numaguard plan --policy /tmp/enforce.yaml
        run planjson numaguard plan --policy /tmp/enforce.yaml --format json
        run noyes numaguard apply --policy /tmp/enforce.yaml --journal $J
        run apply1 numaguard apply --policy /tmp/enforce.yaml --journal $J --yes --format json
        cat /proc/sys/kernel/numa_balancing >$OUT/balancing-after
        anon $(pid_of batch) >$OUT/batch-after; anon $(pid_of feed) >$OUT/feed-after
        cpus $(pid_of batch) >$OUT/batch-cpus-after
        cat /proc/$(pid_of feed)/numa_maps >$OUT/feed-maps-after; cpus $(pid_of feed) >$OUT/feed-cpus-after
        cp $J $OUT/journal-1
        run apply2 numaguard apply --policy /tmp/enforce.yaml --journal $J --yes --format json
        cp $J $OUT/journal-2
        anon $(pid_of batch) >$OUT/batch-after2
        run undo numaguard undo --journal $J --yes
        cat /proc/sys/kernel/numa_balancing >$OUT/balancing-undone
        run undo2 numaguard undo --journal $J --yes
        cp $J $OUT/journal-3

        # Knobs only, with --persist: THP written and read back, the drop-in written, exit 0.
        cat >/tmp/knobs.yaml <<'EOF'
        version: 1
        host: {kernel: {numa_balancing: off, transparent_hugepage: never}}
        EOF
        mkdir -p /etc/sysctl.d
        cat /sys/kernel/mm/transparent_hugepage/enabled >$OUT/thp-before
        run knobs numaguard apply --policy /tmp/knobs.yaml --persist --journal $J --yes
        cat /sys/kernel/mm/transparent_hugepage/enabled >$OUT/thp-after
        cat /etc/sysctl.d/90-numaguard.conf >$OUT/dropin 2>&1
        cat /proc/sys/kernel/numa_balancing >$OUT/knobs-balancing
        run knobs2 numaguard apply --policy /tmp/knobs.yaml --persist --journal $J --yes
        run knobsundo numaguard undo --journal $J --yes
        cat /sys/kernel/mm/transparent_hugepage/enabled >$OUT/thp-undone
        cat /proc/sys/kernel/numa_balancing >$OUT/knobs-balancing-undone
        ls /etc/sysctl.d/90-numaguard.conf >$OUT/dropin-undone 2>&1
        kill $(pid_of feed); wait $(pid_of feed) 2>/dev/null

        # Without CAP_SYS_NICE (root, with it gone from the bounding set): the knob is still
        # allowed; the affinity and the migration are blocked by name.
        cat >/tmp/nonice.yaml <<'EOF'
        version: 1
        host: {kernel: {numa_balancing: off}}
        workloads:
          - name: engine
            match: {cmdline: "^probe 40$"}
            protected: true
          - name: batch
            match: {cmdline: "^probe 56$"}
            cpus: {nodes: [1]}
        reserve:
          - {node: 0, for: [engine], max_foreign_memory: 16MiB}
        EOF
        start nonice numactl --cpunodebind=0 probe 56
        anon $(pid_of nonice) >$OUT/nonice-before
        /usr/bin/setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice grep CapEff /proc/self/status >$OUT/nonice-capeff
        run nonice /usr/bin/setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice numaguard apply --policy /tmp/nonice.yaml --journal $J --yes --format json
        anon $(pid_of nonice) >$OUT/nonice-after
        cpus $(pid_of nonice) >$OUT/nonice-cpus-after
        cat /proc/sys/kernel/numa_balancing >$OUT/nonice-balancing

        # An unprivileged user holding only CAP_SYS_NICE and CAP_SYS_PTRACE migrates it.
        run nobody /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+sys_nice,+sys_ptrace \
            --ambient-caps=+sys_nice,+sys_ptrace numaguard migrate $(pid_of nonice) --from 0 --to 1 --yes --journal /tmp/nobody.jsonl
        anon $(pid_of nonice) >$OUT/nobody-after
        run protect numaguard migrate $(pid_of nonice) --from 1 --to 0 --protect probe --yes --journal $J
        anon $(pid_of nonice) >$OUT/protect-after
        kill $(pid_of nonice); wait $(pid_of nonice) 2>/dev/null

        # A PID reused between plan and apply: the saved plan names PID and start time.
        cat >/tmp/replace.yaml <<'EOF'
        version: 1
        workloads:
          - name: engine
            match: {cmdline: "^probe 40$"}
            protected: true
          - name: batch
            match: {cmdline: "^probe 24$"}
            cpus: {nodes: [1]}
        reserve:
          - {node: 0, for: [engine], max_foreign_memory: 16MiB}
        EOF
        start old numactl --cpunodebind=0 probe 24
        numaguard plan --policy /tmp/replace.yaml --format json >/tmp/replace-plan.json; echo $? >$OUT/replace-plan.status
        cp /tmp/replace-plan.json $OUT/replace-plan.json
        old=$(pid_of old); kill $old; wait $old 2>/dev/null
        echo $((old - 1)) >/proc/sys/kernel/ns_last_pid
        start new numactl --cpunodebind=0 probe 24
        echo "$old $(pid_of new)" >$OUT/replace-pids
        anon $(pid_of new) >$OUT/replace-before
        run replace numaguard apply --plan /tmp/replace-plan.json --journal $J --yes
        anon $(pid_of new) >$OUT/replace-after
        cpus $(pid_of new) >$OUT/replace-cpus-after
        cp $J $OUT/journal-final
        """#

    /// For failure messages, which cannot throw.
    private func show(_ guest: Guest, _ name: String) -> String { (try? guest.text(name)) ?? "(no \(name))" }

    private func text(_ guest: Guest, _ name: String) throws -> String {
        try guest.text(name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// "N0=12288 N1=3" -> [0: 12288, 1: 3]
    private func pages(_ guest: Guest, _ name: String) throws -> [Int: Int] {
        var result: [Int: Int] = [:]
        for field in try text(guest, name).split(separator: " ") {
            let parts = field.dropFirst().split(separator: "=")
            if parts.count == 2, let node = Int(parts[0]), let count = Int(parts[1]) { result[node] = count }
        }
        return result
    }

    private func results(_ guest: Guest, _ name: String) throws -> [[String: Any]] {
        try XCTUnwrap(try guest.json("\(name).out")["results"] as? [[String: Any]], show(guest, "\(name).out"))
    }

    private func journal(_ guest: Guest, _ name: String) throws -> [[String: Any]] {
        try guest.text(name).split(separator: "\n").map { try Command.json(String($0)) }
    }

    func testPlanApplyUndoMigrateOnATwoNodeGuest() throws {
        let guest = try Guest.boot(.linux61, .twoNode, script: Self.script)

        // plan: the batch process is moved and re-pinned, the protected feed refused.
        XCTAssertEqual(try text(guest, "plan.status"), "2", show(guest, "plan.err"))
        let plan = try guest.text("plan.out")
        XCTAssertTrue(plan.contains("set kernel.numa_balancing"), plan)
        XCTAssertTrue(plan.contains("migrate the pages of PID"), plan)
        XCTAssertTrue(plan.contains("Refused (never done live)"), plan)
        XCTAssertTrue(plan.contains("[workload feed, protected]"), plan)
        let planned = try XCTUnwrap(try guest.json("planjson.out")["actions"] as? [[String: Any]])
        let feedRefusal = try XCTUnwrap(planned.first { ($0["process"] as? [String: Any])?["workload"] as? String == "feed" })
        XCTAssertEqual(feedRefusal["status"] as? String, "refused")
        XCTAssertTrue((feedRefusal["reason"] as? String ?? "").contains("restart through numaguard run"), "\(feedRefusal)")
        XCTAssertFalse(planned.contains { $0["kind"] as? String == "migrate_pages" && ($0["process"] as? [String: Any])?["protected"] as? Bool == true })

        XCTAssertEqual(try text(guest, "noyes.status"), "64", "no --yes and no terminal: nothing changed")
        XCTAssertTrue(try guest.text("noyes.err").contains("--yes"))

        // apply: balancing 1 -> 0, batch moved to node 1 and pinned to its CPUs, feed untouched.
        XCTAssertEqual(try text(guest, "apply1.status"), "1", "the protected feed remains: \(show(guest, "apply1.out"))")
        XCTAssertEqual(try text(guest, "balancing-before"), "1")
        XCTAssertEqual(try text(guest, "balancing-after"), "0")
        let batchBefore = try pages(guest, "batch-before"), batchAfter = try pages(guest, "batch-after")
        XCTAssertGreaterThanOrEqual(batchBefore[0] ?? 0, 48 * 256, "the batch probe's 48 MiB start on node 0")
        XCTAssertLessThan(batchAfter[0] ?? 0, 64, "numa_maps after: \(batchAfter)")
        XCTAssertGreaterThanOrEqual(batchAfter[1] ?? 0, 48 * 256, "numa_maps after: \(batchAfter)")
        XCTAssertEqual(try text(guest, "batch-cpus-before"), "0-1")
        XCTAssertEqual(try text(guest, "batch-cpus-after"), "2-3")
        XCTAssertEqual(try guest.text("feed-maps-before"), try guest.text("feed-maps-after"), "the protected process's numa_maps is unchanged")
        XCTAssertEqual(try text(guest, "feed-cpus-after"), "0-1")
        XCTAssertGreaterThanOrEqual(try pages(guest, "feed-after")[0] ?? 0, 32 * 256)
        let applied = try results(guest, "apply1")
        XCTAssertEqual(Set(applied.filter { $0["outcome"] as? String == "done" }.compactMap { ($0["action"] as? [String: Any])?["kind"] as? String }),
                       ["set_knob", "set_affinity", "migrate_pages"])
        XCTAssertTrue(applied.contains { $0["outcome"] as? String == "refused" })

        let firstJournal = try journal(guest, "journal-1")
        // Write-ahead: each change's intent line comes before its outcome line.
        let intent = try XCTUnwrap(firstJournal.firstIndex { $0["subject"] as? String == "kernel.numa_balancing" && $0["phase"] as? String == "intent" })
        XCTAssertEqual(firstJournal[intent]["before"] as? String, "1")
        XCTAssertNil(firstJournal[intent]["result"], "an intent has no outcome yet")
        let outcome = try XCTUnwrap(firstJournal.firstIndex { $0["subject"] as? String == "kernel.numa_balancing" && $0["phase"] == nil })
        XCTAssertLessThan(intent, outcome, "the intent is journaled before the change")
        let balancing = firstJournal[outcome]
        XCTAssertEqual(balancing["before"] as? String, "1")
        XCTAssertEqual(balancing["after"] as? String, "0")
        XCTAssertEqual(balancing["result"] as? String, "done")
        XCTAssertNotNil(balancing["time"] as? String)
        let migration = try XCTUnwrap(firstJournal.first { $0["action"] as? String == "migrate_pages" && $0["phase"] == nil })
        XCTAssertEqual((migration["process"] as? [String: Any])?["pid"] as? Int, Int(try text(guest, "batch.pid")) ?? -1)
        XCTAssertNotNil((migration["process"] as? [String: Any])?["start_time_ticks"] as? Int)
        XCTAssertFalse(firstJournal.contains { ($0["process"] as? [String: Any])?["workload"] as? String == "feed" },
                       "nothing was attempted on the protected process")

        // A second apply changes nothing and journals nothing.
        XCTAssertEqual(try guest.text("journal-1"), show(guest, "journal-2"))
        XCTAssertFalse(try results(guest, "apply2").contains { ["done", "failed", "partial"].contains($0["outcome"] as? String) },
                       show(guest, "apply2.out"))
        XCTAssertEqual(try pages(guest, "batch-after2"), batchAfter)

        // undo restores the knob; a second undo has nothing left.
        XCTAssertEqual(try text(guest, "undo.status"), "0", show(guest, "undo.out") + show(guest, "undo.err"))
        XCTAssertEqual(try text(guest, "balancing-undone"), "1")
        XCTAssertEqual(try text(guest, "undo2.status"), "0")
        XCTAssertTrue(try guest.text("undo2.out").contains("Nothing to undo"), show(guest, "undo2.out"))
        XCTAssertTrue(try journal(guest, "journal-3").contains { $0["command"] as? String == "undo" && $0["before"] as? String == "0" && $0["after"] as? String == "1" })

        // Knobs only with --persist: exit 0, THP and the drop-in read back; again: nothing; undo: both back.
        XCTAssertEqual(try text(guest, "knobs.status"), "0", show(guest, "knobs.out") + show(guest, "knobs.err"))
        XCTAssertTrue(try guest.text("thp-before").contains("[always]"), show(guest, "thp-before"))
        XCTAssertTrue(try guest.text("thp-after").contains("[never]"), show(guest, "thp-after"))
        XCTAssertEqual(try text(guest, "knobs-balancing"), "0")
        let dropIn = try guest.text("dropin")
        XCTAssertTrue(dropIn.hasPrefix("# Written by numaguard apply --persist (policy "), dropIn)
        XCTAssertTrue(dropIn.hasSuffix("\nkernel.numa_balancing = 0\n"), dropIn)
        XCTAssertEqual(try text(guest, "knobs2.status"), "0", show(guest, "knobs2.out"))
        XCTAssertTrue(try guest.text("knobs2.out").hasPrefix("Nothing to do"), show(guest, "knobs2.out"))
        XCTAssertEqual(try text(guest, "knobsundo.status"), "0", show(guest, "knobsundo.out") + show(guest, "knobsundo.err"))
        XCTAssertTrue(try guest.text("thp-undone").contains("[always]"), show(guest, "thp-undone"))
        XCTAssertEqual(try text(guest, "knobs-balancing-undone"), "1")
        XCTAssertTrue(try guest.text("dropin-undone").contains("No such file"), show(guest, "dropin-undone"))

        // Without CAP_SYS_NICE: blocked by name, everything else done, exit 77.
        let capEff = try text(guest, "nonice-capeff").split(separator: "\t").last.flatMap { UInt64($0, radix: 16) } ?? 0
        XCTAssertEqual(capEff & (1 << 23), 0, "CAP_SYS_NICE (23) is not effective under setpriv")
        XCTAssertEqual(try text(guest, "nonice.status"), "77", show(guest, "nonice.out") + show(guest, "nonice.err"))
        let nonice = try results(guest, "nonice")
        let blocked = nonice.filter { $0["outcome"] as? String == "blocked" }
        XCTAssertEqual(Set(blocked.compactMap { ($0["action"] as? [String: Any])?["kind"] as? String }), ["migrate_pages", "set_affinity"])
        for result in blocked {
            XCTAssertTrue((result["detail"] as? String ?? "").hasPrefix("missing CAP_SYS_NICE ("), "\(result)")
        }
        XCTAssertEqual(nonice.first { ($0["action"] as? [String: Any])?["kind"] as? String == "set_knob" }?["outcome"] as? String, "done")
        XCTAssertEqual(try text(guest, "nonice-balancing"), "0", "the knob needs root and CAP_SYS_ADMIN, not CAP_SYS_NICE")
        XCTAssertEqual(try text(guest, "nonice-cpus-after"), "0-1", "nothing was attempted without CAP_SYS_NICE")
        XCTAssertEqual(try pages(guest, "nonice-after")[0] ?? 0, try pages(guest, "nonice-before")[0] ?? -1, "no page moved")

        // An unprivileged user with exactly the capabilities migration needs.
        XCTAssertEqual(try text(guest, "nobody.status"), "0", show(guest, "nobody.out") + show(guest, "nobody.err"))
        XCTAssertLessThan(try pages(guest, "nobody-after")[0] ?? 0, 64)
        XCTAssertEqual(try text(guest, "protect.status"), "1")
        XCTAssertTrue(try guest.text("protect.out").contains("refused"), show(guest, "protect.out"))
        XCTAssertEqual(try pages(guest, "protect-after"), try pages(guest, "nobody-after"), "--protect: nothing moved")

        // The PID was reused: same number, another start time; apply --plan skips it.
        let pids = try text(guest, "replace-pids").split(separator: " ")
        XCTAssertEqual(pids.count, 2)
        XCTAssertEqual(pids.first, pids.last, "ns_last_pid gave the new process the old PID")
        XCTAssertEqual(try text(guest, "replace-plan.status"), "2")
        XCTAssertEqual(try text(guest, "replace.status"), "1", show(guest, "replace.out"))
        let replaced = try guest.text("replace.out")
        XCTAssertTrue(replaced.contains("was replaced"), replaced)
        XCTAssertFalse(replaced.contains("done:"), replaced)
        XCTAssertEqual(try pages(guest, "replace-after"), try pages(guest, "replace-before"))
        XCTAssertEqual(try text(guest, "replace-cpus-after"), "0-1")
        XCTAssertTrue(try journal(guest, "journal-final").contains { $0["result"] as? String == "skipped" && ($0["detail"] as? String ?? "").contains("replaced") })
    }
}
