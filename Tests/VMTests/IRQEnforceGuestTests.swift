import Foundation
import TestSupport
import XCTest

/// IRQ affinity through `numaguard plan`, `apply` and `undo` in a q35 guest with real PCI
/// devices (`run-guest.sh --pci net@1,nvme@0,net@none`, CPUs 0-1 on node 0, 2-3 on node 1):
/// the node-1 NIC's `input.0` vector is put on CPU 3 by hand, a policy allows CPUs 0-2, apply
/// writes the vector and, after one ping to slirp's gateway (its next interrupt), the
/// effective CPU follows; an NVMe queue vector (managed by the kernel) is left manual by the
/// planner, and written through an edited saved plan it is refused with the kernel's EIO or
/// EPERM, never failed; undo puts the vector back on CPU 3.
final class IRQEnforceGuestTests: XCTestCase {
    static let devices = "net@1,nvme@0,net@none"

    static let script = #"""
        J=/tmp/journal.jsonl
        run() { name=$1; shift; "$@" >$OUT/$name.out 2>$OUT/$name.err; echo $? >$OUT/$name.status; }
        # irq NAME: the IRQ whose handler is exactly NAME.
        irq() { for a in /sys/kernel/irq/*/actions; do [ "$(cat "$a")" = "$1" ] && { n=${a%/actions}; echo "${n##*/}"; return; }; done; }
        aff() { echo "req=$(cat /proc/irq/$1/smp_affinity_list) eff=$(cat /proc/irq/$1/effective_affinity_list)"; }
        # The NIC behind the node-1 root port 0000:20:00.0, by its PCI path (never by probe order).
        for n in /sys/class/net/eth*; do
            case "$(readlink "$n")" in */0000:20:00.0/*) ETH=${n##*/} ;; esac
        done
        VIRTIO=$(readlink /sys/class/net/$ETH/device); VIRTIO=${VIRTIO##*/}
        V=$(irq "$VIRTIO-input.0"); Q=$(irq nvme0q1)
        echo "$ETH $VIRTIO $V $Q" >$OUT/names
        ip link set $ETH up; ip addr add 10.0.2.15/24 dev $ETH
        echo 3 >/proc/irq/$V/smp_affinity_list
        ping -c1 -W3 10.0.2.2 >$OUT/ping-0 2>&1
        aff $V >$OUT/vector-before
        cat >/tmp/irq.yaml <<EOF
        version: 1
        devices:
          - {name: md-nic, match: {interface: $ETH}, irqs: {cpus: "0-2"}}
        EOF
        cat >/tmp/nvme.yaml <<'EOF'
        version: 1
        devices:
          - {name: journal, match: {class: nvme}, irqs: {cpus: "0"}}
        EOF
        run plan numaguard plan --policy /tmp/irq.yaml
        run planjson numaguard plan --policy /tmp/irq.yaml --format json
        run nvmeplan numaguard plan --policy /tmp/nvme.yaml --format json
        run apply numaguard apply --policy /tmp/irq.yaml --journal $J --yes --format json
        aff $V >$OUT/vector-applied
        ping -c1 -W3 10.0.2.2 >$OUT/ping-1 2>&1
        aff $V >$OUT/vector-after-ping
        cp $J $OUT/journal-apply

        # A managed vector written anyway: the saved plan's IRQ swapped for nvme0q1's.
        echo 3 >/proc/irq/$V/smp_affinity_list
        numaguard plan --policy /tmp/irq.yaml --format json >/tmp/plan.json
        sed -e "s/irq\.$V\.smp/irq.$Q.smp/g" -e "s#proc/irq/$V/#proc/irq/$Q/#g" -e "s/\"irq\" : $V\$/\"irq\" : $Q/" \
            -e "s/\"$VIRTIO-input\.0\"/\"nvme0q1\"/" /tmp/plan.json >/tmp/managed-plan.json
        cp /tmp/managed-plan.json $OUT/managed-plan.json
        aff $Q >$OUT/managed-before
        run managed numaguard apply --plan /tmp/managed-plan.json --policy /tmp/irq.yaml --journal /tmp/managed.jsonl --yes --format json
        aff $Q >$OUT/managed-after
        echo 0-3 >/proc/irq/$V/smp_affinity_list 2>/dev/null
        numaguard apply --policy /tmp/irq.yaml --journal /tmp/other.jsonl --yes >/dev/null 2>&1

        # Undo of the first apply: the vector goes back to CPU 3 (the value found then). The
        # journal's run left 0-2 there; the second apply (another journal) left 0-2 too.
        run undo numaguard undo --journal $J --yes --format json
        aff $V >$OUT/vector-undone
        ping -c1 -W3 10.0.2.2 >$OUT/ping-2 2>&1
        aff $V >$OUT/vector-undone-ping
        cp $J $OUT/journal-undo
        """#

    /// vacate_cpus on a plain 2-node guest (no devices needed): a probe pinned to CPU 3 and one
    /// allowed 0-3 leave CPU 3 (the pinned one through its cpuset's CPUs), a protected probe on
    /// 2-3 is refused and left exactly as it was, a per-CPU kernel thread is never touched, and
    /// undo --policy puts both probes back.
    static let vacateScript = #"""
        J=/tmp/vacate.jsonl
        run() { name=$1; shift; "$@" >$OUT/$name.out 2>$OUT/$name.err; echo $? >$OUT/$name.status; }
        cpus() { awk '/^Cpus_allowed_list/ {print $2}' /proc/$1/status; }
        kthread() { for c in /proc/[0-9]*/comm; do [ "$(cat $c 2>/dev/null)" = "$1" ] && { p=${c%/comm}; echo ${p#/proc/}; return; }; done; }
        cat >/tmp/vacate.yaml <<'EOF'
        version: 1
        workloads:
          - {name: engine, match: {comm: engine}}
          - {name: feed, match: {cmdline: "^probe 16$"}, protected: true}
        reserve:
          - {cpus: "3", for: [engine]}
        EOF
        start pinned taskset -c 3 probe 8
        start wide probe 12
        start feed taskset -c 2-3 probe 16
        K=$(kthread ksoftirqd/3)
        for n in pinned wide feed; do echo "$n $(cpus $(pid_of $n))"; done >$OUT/before
        echo "ksoftirqd/3 $(cpus $K)" >>$OUT/before
        grep -E '^(Cpus|Mems)_allowed' /proc/$(pid_of feed)/status >$OUT/feed-status-before; cat /proc/$(pid_of feed)/numa_maps >$OUT/feed-maps-before
        run plan numaguard plan --policy /tmp/vacate.yaml --format json
        run apply numaguard apply --policy /tmp/vacate.yaml --journal $J --yes --format json
        for n in pinned wide feed; do echo "$n $(cpus $(pid_of $n))"; done >$OUT/after
        echo "ksoftirqd/3 $(cpus $K)" >>$OUT/after
        grep -E '^(Cpus|Mems)_allowed' /proc/$(pid_of feed)/status >$OUT/feed-status-after; cat /proc/$(pid_of feed)/numa_maps >$OUT/feed-maps-after
        run nopolicy numaguard undo --journal $J --yes --format json
        run undo numaguard undo --journal $J --yes --policy /tmp/vacate.yaml --format json
        for n in pinned wide feed; do echo "$n $(cpus $(pid_of $n))"; done >$OUT/undone
        cp $J $OUT/journal
        """#

    func testVacateLinux61() throws { try checkVacate(try Guest.boot(.linux61, .twoNode, script: Self.vacateScript)) }

    func testVacateLinux612() throws { try checkVacate(try Guest.boot(.linux612, .twoNode, script: Self.vacateScript)) }

    func testVacateRT() throws { try checkVacate(try Guest.boot(.rt, .twoNode, script: Self.vacateScript)) }

    private func checkVacate(_ guest: Guest) throws {
        func table(_ name: String) throws -> [String: String] {
            Dictionary(uniqueKeysWithValues: try guest.text(name).split(separator: "\n").map {
                let parts = $0.split(separator: " ", maxSplits: 1).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1] : "")
            })
        }
        XCTAssertEqual(try table("before"), ["pinned": "3", "wide": "0-3", "feed": "2-3", "ksoftirqd/3": "3"])
        XCTAssertEqual(try table("after"), ["pinned": "0-2", "wide": "0-2", "feed": "2-3", "ksoftirqd/3": "3"],
                       "the pinned probe had only CPU 3: its cpuset's CPUs without it; the protected one and the kernel thread untouched")
        XCTAssertEqual(try guest.text("feed-status-after"), try guest.text("feed-status-before"))
        XCTAssertEqual(try guest.text("feed-maps-after"), try guest.text("feed-maps-before"))
        let results = try guest.json("apply.out")["results"] as? [[String: Any]] ?? []
        let feed = results.first { (($0["action"] as? [String: Any])?["process"] as? [String: Any])?["comm"] as? String == "probe"
            && ($0["outcome"] as? String) == "refused" }
        XCTAssertTrue((feed?["detail"] as? String)?.contains("restart through numaguard run") ?? false, "\(results)")
        let nopolicy = try guest.json("nopolicy.out")["results"] as? [[String: Any]] ?? []
        XCTAssertTrue(nopolicy.allSatisfy { $0["outcome"] as? String == "refused" }, "\(nopolicy)")
        XCTAssertEqual(try table("undone"), ["pinned": "3", "wide": "0-3", "feed": "2-3"])
    }

    /// apply and undo of IRQ affinities on the real kernel without the planner: a saved plan
    /// written in the guest (the policy's digest and the boot's ID filled in) names the node-1
    /// NIC's input.0 vector, an NVMe queue vector (managed) and the same NIC vector under a
    /// handler name it does not have.
    static let savedPlanScript = #"""
        J=/tmp/journal.jsonl
        run() { name=$1; shift; "$@" >$OUT/$name.out 2>$OUT/$name.err; echo $? >$OUT/$name.status; }
        irq() { for a in /sys/kernel/irq/*/actions; do [ "$(cat "$a")" = "$1" ] && { n=${a%/actions}; echo "${n##*/}"; return; }; done; }
        aff() { echo "req=$(cat /proc/irq/$1/smp_affinity_list) eff=$(cat /proc/irq/$1/effective_affinity_list)"; }
        for n in /sys/class/net/eth*; do
            case "$(readlink "$n")" in */0000:20:00.0/*) ETH=${n##*/} ;; esac
        done
        VIRTIO=$(readlink /sys/class/net/$ETH/device); VIRTIO=${VIRTIO##*/}
        V=$(irq "$VIRTIO-input.0"); Q=$(irq nvme0q1)
        echo "$ETH $VIRTIO $V $Q" >$OUT/names
        ip link set $ETH up; ip addr add 10.0.2.15/24 dev $ETH
        echo 3 >/proc/irq/$V/smp_affinity_list
        ping -c1 -W3 10.0.2.2 >$OUT/ping-0 2>&1
        aff $V >$OUT/vector-before
        aff $Q >$OUT/managed-before
        printf 'version: 1\nworkloads:\n  - {name: engine, match: {comm: engine}}\n' >/tmp/empty.yaml
        numaguard plan --policy /tmp/empty.yaml --format json >/tmp/base.json
        DIGEST=$(grep '"policy_digest"' /tmp/base.json | sed 's/.*: "\(.*\)".*/\1/')
        VERSION=$(grep '"format_version"' /tmp/base.json | head -n1 | sed 's/[^0-9]//g')
        BOOT=$(cat /proc/sys/kernel/random/boot_id)
        action() {
            printf '{"kind": "set_knob", "status": "pending", "checks": [], "subject": "irq.%s.smp_affinity_list", ' $1
            printf '"knob": {"name": "irq.%s.smp_affinity_list", "path": "proc/irq/%s/smp_affinity_list", "kind": "irq_affinity"}, ' $1 $1
            printf '"irq": {"irq": %s, "actions": "%s", "device": "md-nic", "boot_id": "%s"}, ' $1 $2 $BOOT
            printf '"value": "0-2", "before": "", "after": "0-2", "requires": []}'
        }
        {
            printf '{"kind": "plan", "format_version": %s, "policy_file": "/tmp/empty.yaml", "policy_digest": "%s", ' $VERSION $DIGEST
            printf '"boot_id": "%s", "unreadable": [], "actions": [' $BOOT
            action $V "$VIRTIO-input.0"; printf ', '; action $Q nvme0q1; printf ', '; action $V bogus-handler
            printf ']}\n'
        } >/tmp/plan.json
        cp /tmp/plan.json $OUT/plan.json
        run apply numaguard apply --plan /tmp/plan.json --policy /tmp/empty.yaml --journal $J --yes --format json
        aff $V >$OUT/vector-applied
        aff $Q >$OUT/managed-after
        ping -c1 -W3 10.0.2.2 >$OUT/ping-1 2>&1
        aff $V >$OUT/vector-after-ping
        run undo numaguard undo --journal $J --yes --format json
        aff $V >$OUT/vector-undone
        ping -c1 -W3 10.0.2.2 >$OUT/ping-2 2>&1
        aff $V >$OUT/vector-undone-ping
        cp $J $OUT/journal
        """#

    func testSavedPlanLinux61() throws {
        try checkSavedPlan(try Guest.boot(.linux61, .twoNode, pci: Self.devices, script: Self.savedPlanScript), managedErrno: "Input/output error")
    }

    func testSavedPlanLinux612() throws {
        try checkSavedPlan(try Guest.boot(.linux612, .twoNode, pci: Self.devices, script: Self.savedPlanScript), managedErrno: "Operation not permitted")
    }

    func testSavedPlanRT() throws {
        try checkSavedPlan(try Guest.boot(.rt, .twoNode, pci: Self.devices, script: Self.savedPlanScript), managedErrno: "Input/output error")
    }

    private func checkSavedPlan(_ guest: Guest, managedErrno: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let names = try value(guest, "names").split(separator: " ").map(String.init)
        XCTAssertEqual(names.count, 4, "NIC, virtio device, input.0 IRQ, nvme0q1 IRQ: \(names)", file: file, line: line)
        guard names.count == 4 else { return }
        let vector = names[2], queue = names[3]
        XCTAssertEqual(try value(guest, "vector-before"), "req=3 eff=3", file: file, line: line)
        let status = try value(guest, "apply.status"), err = try guest.text("apply.err")
        XCTAssertEqual(status, "1", "something remains (the refusal, the skip): \(err)", file: file, line: line)
        let outcomes = try results(guest, "apply")
        XCTAssertEqual(outcomes.map { $0["outcome"] as? String ?? "?" }.count, 3, "\(outcomes) \(err)", file: file, line: line)
        guard outcomes.count == 3 else { return }
        XCTAssertTrue(["done", "partial"].contains(outcomes[0]["outcome"] as? String ?? ""), "\(outcomes[0])", file: file, line: line)
        XCTAssertEqual(outcomes[1]["outcome"] as? String, "refused", "\(outcomes[1])", file: file, line: line)
        let queueBefore = try value(guest, "managed-before").split(separator: " ")[0].dropFirst(4)
        XCTAssertEqual(outcomes[1]["detail"] as? String,
                       "IRQ \(queue) (nvme0q1) is managed or per-CPU: its affinity cannot be written from user space (the kernel answered \(managedErrno)); "
                           + "left at \(queueBefore)", file: file, line: line)
        XCTAssertEqual(try value(guest, "managed-after"), try value(guest, "managed-before"), file: file, line: line)
        XCTAssertEqual(outcomes[2]["outcome"] as? String, "skipped", "\(outcomes[2])", file: file, line: line)
        XCTAssertEqual(outcomes[2]["detail"] as? String,
                       "IRQ \(vector) is now \"\(names[1])-input.0\", planned for \"bogus-handler\": not the same interrupt; nothing written",
                       file: file, line: line)
        let applied = try value(guest, "vector-applied")
        XCTAssertTrue(applied.hasPrefix("req=0-2 "), applied, file: file, line: line)
        let afterPing = try value(guest, "vector-after-ping")
        XCTAssertTrue(["req=0-2 eff=0", "req=0-2 eff=1", "req=0-2 eff=2"].contains(afterPing), afterPing, file: file, line: line)
        let undo = try results(guest, "undo")
        XCTAssertEqual(undo.count, 1, "only the written vector is undone: \(undo)", file: file, line: line)
        XCTAssertTrue(["done", "partial"].contains(undo.first?["outcome"] as? String ?? ""), "\(undo)", file: file, line: line)
        let undone = try value(guest, "vector-undone")
        XCTAssertTrue(undone.hasPrefix("req=3 "), undone, file: file, line: line)
        XCTAssertEqual(try value(guest, "vector-undone-ping"), "req=3 eff=3", file: file, line: line)
    }

    func testLinux61() throws {
        try check(try Guest.boot(.linux61, .twoNode, pci: Self.devices, script: Self.script), managedErrno: "Input/output error")
    }

    func testLinux612() throws {
        try check(try Guest.boot(.linux612, .twoNode, pci: Self.devices, script: Self.script), managedErrno: "Operation not permitted")
    }

    private func value(_ guest: Guest, _ name: String) throws -> String {
        try guest.text(name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func results(_ guest: Guest, _ name: String) throws -> [[String: Any]] {
        try guest.json("\(name).out")["results"] as? [[String: Any]] ?? []
    }

    private func check(_ guest: Guest, managedErrno: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let names = try value(guest, "names").split(separator: " ").map(String.init)
        XCTAssertEqual(names.count, 4, "NIC, virtio device, input.0 IRQ, nvme0q1 IRQ: \(names)", file: file, line: line)
        guard names.count == 4 else { return }
        let vector = names[2], queue = names[3]
        XCTAssertEqual(try value(guest, "vector-before"), "req=3 eff=3", "moved to CPU 3 by hand, after an interrupt", file: file, line: line)

        // The plan writes the vector's requested list with the declared CPUs (all online).
        let plan = try guest.json("planjson.out")["actions"] as? [[String: Any]] ?? []
        let knob = plan.first { $0["subject"] as? String == "irq.\(vector).smp_affinity_list" }
        XCTAssertEqual(knob?["status"] as? String, "pending", "\(plan)", file: file, line: line)
        XCTAssertEqual(knob?["after"] as? String, "0-2", file: file, line: line)
        XCTAssertEqual((knob?["irq"] as? [String: Any])?["actions"] as? String, "\(names[1])-input.0", file: file, line: line)
        let planText = try guest.text("plan.out")
        XCTAssertTrue(planText.contains("set irq.\(vector).smp_affinity_list (device md-nic, IRQ \(vector) \(names[1])-input.0)"),
                      planText, file: file, line: line)

        // Apply: written and read back; the effective CPU follows at the next interrupt at the latest.
        let applied = try results(guest, "apply").first { ($0["action"] as? [String: Any])?["subject"] as? String == "irq.\(vector).smp_affinity_list" }
        XCTAssertTrue(["done", "partial"].contains(applied?["outcome"] as? String ?? ""), "\(String(describing: applied))", file: file, line: line)
        let appliedVector = try value(guest, "vector-applied")
        XCTAssertTrue(appliedVector.hasPrefix("req=0-2 "), appliedVector, file: file, line: line)
        let afterPing = try value(guest, "vector-after-ping")
        XCTAssertTrue(["req=0-2 eff=0", "req=0-2 eff=1", "req=0-2 eff=2"].contains(afterPing), afterPing, file: file, line: line)

        // NVMe queue vectors: left manual by the planner (expected managed), never written.
        let nvmePlan = try guest.json("nvmeplan.out")["actions"] as? [[String: Any]] ?? []
        XCTAssertFalse(nvmePlan.contains { ($0["subject"] as? String)?.hasPrefix("irq.\(queue).") ?? false }, "\(nvmePlan)", file: file, line: line)
        XCTAssertTrue(nvmePlan.contains { $0["status"] as? String == "manual" && ($0["reason"] as? String)?.contains("(nvme0q1) is expected to be managed") ?? false },
                      "\(nvmePlan)", file: file, line: line)
        // ... and written anyway through an edited plan, the kernel refuses: outcome refused, not failed.
        XCTAssertTrue(try guest.text("managed-plan.json").contains("\"irq.\(queue).smp_affinity_list\""), file: file, line: line)
        let managed = try results(guest, "managed").first { ($0["action"] as? [String: Any])?["subject"] as? String == "irq.\(queue).smp_affinity_list" }
        let managedErr = try guest.text("managed.err")
        XCTAssertEqual(managed?["outcome"] as? String, "refused", "\(String(describing: managed)) \(managedErr)", file: file, line: line)
        let queueBefore = try value(guest, "managed-before").split(separator: " ")[0].dropFirst(4)
        XCTAssertEqual(managed?["detail"] as? String,
                       "IRQ \(queue) (nvme0q1) is managed or per-CPU: its affinity cannot be written from user space (the kernel answered \(managedErrno)); "
                           + "left at \(queueBefore)",
                       file: file, line: line)
        XCTAssertEqual(try value(guest, "managed-after"), try value(guest, "managed-before"), file: file, line: line)

        // Undo restores what apply found: CPU 3 (the later writes were another journal's); partial
        // while the effective CPU waits for the next interrupt, as for apply.
        let undone = try results(guest, "undo").first { ($0["action"] as? [String: Any])?["subject"] as? String == "irq.\(vector).smp_affinity_list" }
        XCTAssertTrue(["done", "partial"].contains(undone?["outcome"] as? String ?? ""), "\(String(describing: undone))", file: file, line: line)
        let undoneVector = try value(guest, "vector-undone")
        XCTAssertTrue(undoneVector.hasPrefix("req=3 "), undoneVector, file: file, line: line)
        XCTAssertEqual(try value(guest, "vector-undone-ping"), "req=3 eff=3", file: file, line: line)
    }
}
