import Foundation
import TestSupport
import XCTest

/// `numaguard run` on real kernels: the placement the launched program actually has, read by
/// the program itself from /proc/self (Cpus_allowed_list, Mems_allowed_list, the policy column
/// of numa_maps), next to what `numactl` with the same flags gives in the same guest. Every
/// other promise of the launcher is exercised there too: the inherited policy reset, a strict
/// bind that runs out of its node, the user switch and capabilities, exec in place, the exit
/// statuses, every refusal with its message, and the launch record.
///
/// One boot per kernel/topology: each guest script runs many launches, writes what each
/// printed and its exit status under $OUT, and the assertions here judge them.
final class RunGuestTests: XCTestCase {
    // MARK: The comparison matrix

    /// One flag set: what `numaguard run FLAGS -- sh -c 'cat /proc/self/status /proc/self/numa_maps'`
    /// and `numactl FLAGS sh -c '...'` must both show.
    struct Case {
        var name: String
        /// numactl's flags, given to both.
        var flags: String
        /// Extra flags only numaguard needs (`--allow-interleave`).
        var extra = ""
        /// Run both inside this cgroup (created by the guest script).
        var cgroup = ""
        var cpus: String
        var mems: String
        /// The policy column of numa_maps for every mapping (heap and stack included).
        var policy: String
        /// What numaguard prints on stderr (its warnings); numactl's stderr is not judged.
        var stderr = ""
    }

    /// Shell helpers every script here uses, after Guest's own library.
    static let library = #"""
        # ng NAME CMD...: run CMD, keep its stdout, stderr and exit status as $OUT/NAME.{out,err,rc}.
        ng() { name=$1; shift; "$@" >$OUT/$name.out 2>$OUT/$name.err; echo $? >$OUT/$name.rc; }
        probe_cmd='cat /proc/self/status /proc/self/numa_maps'
        # in-cgroup.sh CGROUP CMD...: move into /sys/fs/cgroup/CGROUP, then exec CMD.
        printf 'cg=$1; shift\necho $$ >/sys/fs/cgroup/$cg/cgroup.procs || exit 99\nexec "$@"\n' >/tmp/in-cgroup.sh
        # compare NAME FLAGS EXTRA CGROUP: the same probe under numaguard run and under numactl.
        compare() {
            name=$1 flags=$2 extra=$3 cg=$4
            pre=; [ -n "$cg" ] && pre="sh /tmp/in-cgroup.sh $cg"
            $pre numaguard run $extra $flags -- sh -c "$probe_cmd" >$OUT/$name.ng 2>$OUT/$name.ng-err; echo $? >$OUT/$name.ng-rc
            $pre numactl $flags sh -c "$probe_cmd" >$OUT/$name.nc 2>$OUT/$name.nc-err; echo $? >$OUT/$name.nc-rc
        }
        # show NAME PARENT_FLAGS: run --show and numactl --show under a parent numactl.
        show() {
            numactl $2 numaguard run --show >$OUT/show-$1.ng 2>$OUT/show-$1.ng-err; echo $? >$OUT/show-$1.ng-rc
            numactl $2 numactl --show >$OUT/show-$1.nc 2>$OUT/show-$1.nc-err; echo $? >$OUT/show-$1.nc-rc
        }
        cat /proc/sys/kernel/numa_balancing >$OUT/balancing-default 2>/dev/null || echo absent >$OUT/balancing-default
        # Off unless a check turns it on: then numaguard's stderr carries only what a test expects.
        [ -w /proc/sys/kernel/numa_balancing ] && echo 0 >/proc/sys/kernel/numa_balancing
        cat /proc/self/status >$OUT/shell-status
        echo $$ >$OUT/shell-pid

        """#

    static func matrixScript(_ cases: [Case]) -> String {
        cases.map { "compare \($0.name) \"\($0.flags)\" \"\($0.extra)\" \"\($0.cgroup)\"" }.joined(separator: "\n") + "\n"
    }

    /// Debian 6.1, nodes 0 (CPUs 0-1) and 1 (CPUs 2-3). `high` is a cgroup with CPUs 2-3 and
    /// node 1, where `all`, `!` and `+` resolve against the cpuset.
    static let twoNodeMatrix: [Case] = [
        Case(name: "m0", flags: "-m 0", cpus: "0-3", mems: "0-1", policy: "bind:0"),
        Case(name: "m1", flags: "-m 1", cpus: "0-3", mems: "0-1", policy: "bind:1"),
        Case(name: "N1", flags: "-N 1", cpus: "2-3", mems: "0-1", policy: "default"),
        Case(name: "C1", flags: "-C 1", cpus: "1", mems: "0-1", policy: "default"),
        Case(name: "C23", flags: "-C 2-3", cpus: "2-3", mems: "0-1", policy: "default"),
        Case(name: "m1N1", flags: "-m 1 -N 1", cpus: "2-3", mems: "0-1", policy: "bind:1"),
        Case(name: "p1", flags: "-p 1", cpus: "0-3", mems: "0-1", policy: "prefer:1"),
        Case(name: "l", flags: "-l", cpus: "0-3", mems: "0-1", policy: "local"),
        Case(name: "m01", flags: "-m 0,1", cpus: "0-3", mems: "0-1", policy: "bind:0-1"),
        Case(name: "Nall", flags: "-N all", cpus: "0-3", mems: "0-1", policy: "default"),
        Case(name: "mnot0", flags: "-m !0", cpus: "0-3", mems: "0-1", policy: "bind:1"),
        Case(name: "Crel1", flags: "-C +1", cpus: "1", mems: "0-1", policy: "default"),
        Case(name: "P01", flags: "-P 0,1", cpus: "0-3", mems: "0-1", policy: "prefer (many):0-1"),
        Case(name: "iall", flags: "-i all", extra: "--allow-interleave", cpus: "0-3", mems: "0-1", policy: "interleave:0-1"),
        Case(name: "long", flags: "--membind=1 --cpunodebind=0", cpus: "0-1", mems: "0-1", policy: "bind:1"),
        Case(name: "attached", flags: "-m1 -C3", cpus: "3", mems: "0-1", policy: "bind:1"),
        Case(name: "N0C1", flags: "-N 0 -C 1", cpus: "1", mems: "0-1", policy: "default"),
        Case(name: "hC1", flags: "-C +1", cgroup: "high", cpus: "3", mems: "1", policy: "default"),
        Case(name: "hCnot2", flags: "-C !2", cgroup: "high", cpus: "3", mems: "1", policy: "default"),
        Case(name: "hNall", flags: "-N all", cgroup: "high", cpus: "2-3", mems: "1", policy: "default"),
        Case(name: "hmall", flags: "-m all", cgroup: "high", cpus: "2-3", mems: "1", policy: "bind:1"),
        Case(name: "hmrel0", flags: "-m +0", cgroup: "high", cpus: "2-3", mems: "1", policy: "bind:1"),
    ]

    // MARK: 6.1, two nodes: the whole launcher

    static let twoNodeScript = library + #"""
        # Cgroups first (the matrix uses `high`): pinned = CPUs 0-1 + node 0, high = CPUs 2-3 + node 1.
        echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control
        mkdir /sys/fs/cgroup/pinned /sys/fs/cgroup/high
        echo 0-1 >/sys/fs/cgroup/pinned/cpuset.cpus; echo 0 >/sys/fs/cgroup/pinned/cpuset.mems
        echo 2-3 >/sys/fs/cgroup/high/cpuset.cpus; echo 1 >/sys/fs/cgroup/high/cpuset.mems

        """# + matrixScript(twoNodeMatrix) + #"""
        # --show under a parent numactl: the same lines as numactl --show.
        show m1 "-m 1"; show p1 "-p 1"; show C1 "-C 1"; show N1 "-N 1"; show P01 "-P 0,1"; show l "-l"; show iall "-i all"
        # An inherited policy does not survive numaguard run; it does survive numactl without -m.
        ng inherit-il-ng numactl -i all numaguard run -N 0 -- cat /proc/self/numa_maps
        ng inherit-il-nc numactl -i all numactl -N 0 cat /proc/self/numa_maps
        ng inherit-il-m0 numactl -i all numaguard run -m 0 -- cat /proc/self/numa_maps
        ng inherit-m1-ng numactl -m 1 numaguard run -- cat /proc/self/numa_maps
        ng inherit-m1-nc numactl -m 1 numactl -N 0 cat /proc/self/numa_maps
        ng inherit-C1 numactl -C 1 numaguard run -m 0 -- sh -c "$probe_cmd"
        ng static numaguard run -m 1 --static-nodes -- cat /proc/self/numa_maps

        # A strict bind larger than node 0: the OOM killer ends it, no page goes to node 1.
        # The guest script survives (-1000); the probe is the OOM killer's choice (1000).
        echo -1000 >/proc/self/oom_score_adj
        ( echo 1000 >/proc/self/oom_score_adj; exec numaguard run -m 0 -- probe 640 ) >$OUT/strict.out 2>$OUT/strict.err &
        strict=$!
        echo $strict >$OUT/strict.pid
        i=0
        while [ $i -lt 1200 ]; do
            state=$(awk '/^State:/ {print $2}' /proc/$strict/status 2>/dev/null)
            if [ -z "$state" ] || [ "$state" = Z ]; then break; fi
            # Only after the exec: before it, the pid is numaguard itself, whose own mappings
            # show the default policy until it sets the bind.
            if [ "$(cat /proc/$strict/comm 2>/dev/null)" = probe ]; then
                { cat /proc/$strict/numa_maps; echo ---; } >>$OUT/strict.samples 2>/dev/null
            fi
            if grep -q ready $OUT/strict.out; then kill $strict; break; fi
            i=$((i+1)); sleep 0.1
        done
        wait $strict; echo $? >$OUT/strict.rc
        dmesg | grep -E 'oom-kill:|Killed process' >$OUT/strict.dmesg
        # The control: preferred node 0 spills to node 1 instead.
        start preferred numaguard run -p 0 -- probe 640
        cat /proc/$(pid_of preferred)/numa_maps >$OUT/preferred.numa_maps
        kill $(pid_of preferred); wait
        for n in 0 1; do cat /sys/devices/system/node/node$n/meminfo >$OUT/node$n-meminfo; done

        # User and capabilities.
        caps='grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status'
        ng user numaguard run --user nobody -- sh -c "id -u; id -g; $caps"
        ng user-uid numaguard run --user 65534 -- id -un
        ng root numaguard run -- sh -c "$caps"
        ng keep numaguard run --keep-caps -- sh -c "$caps"
        ng nouser numaguard run --user no-such-user -- touch /tmp/ran-nouser
        # Ignored signals are not inherited by the program.
        ( trap '' HUP INT QUIT TERM
          grep -E '^Sig(Blk|Ign):' /proc/self/status >$OUT/signals-parent
          numaguard run -- grep -E '^Sig(Blk|Ign):' /proc/self/status >$OUT/signals-child 2>&1 )

        # exec in place: the pid the shell started is the pid the program has; its parent is this shell.
        numaguard run -m 1 -- sh -c 'echo $$ $PPID; sleep 1' >$OUT/samepid.out 2>$OUT/samepid.err &
        echo $! >$OUT/samepid.started
        wait $!; echo $? >$OUT/samepid.rc
        numactl -m 1 sh -c 'echo $$ $PPID; sleep 1' >$OUT/samepid-numactl.out &
        echo $! >$OUT/samepid-numactl.started
        wait $!
        # Exit statuses.
        ng exit7 numaguard run -- sh -c 'exit 7'
        ng term numaguard run -- sh -c 'kill -TERM $$'
        ng missing numaguard run -- /no/such/program
        ng missing-path numaguard run -- no-such-program
        printf '#!/bin/sh\ntouch /tmp/ran-noexec\n' >/tmp/noexec; chmod 644 /tmp/noexec
        ng noexec numaguard run -- /tmp/noexec
        ng dir numaguard run -- /tmp
        ng usage-option numaguard run --bogus -- touch /tmp/ran-usage-option
        ng usage-noprog numaguard run -m 0

        # Refusals: exit 125, the reason on stderr, the program (touch) never runs.
        ng nonode numaguard run -m 5 -- touch /tmp/ran-nonode
        ng nonode-N numaguard run -N 5 -- touch /tmp/ran-nonode-N
        ng nocpu numaguard run --physcpubind 9 -- touch /tmp/ran-nocpu
        ng interleave numaguard run -i all -- touch /tmp/ran-interleave
        ng preferred2 numaguard run -p 0,1 -- touch /tmp/ran-preferred2
        ng weighted numaguard run --weighted-interleave 0,1 --allow-interleave -- touch /tmp/ran-weighted
        # Free memory moves while the guest runs: sampled before and after the runs that report it.
        for n in 0 1; do cat /sys/devices/system/node/node$n/meminfo >$OUT/node$n-meminfo-before-minfree; done
        ng minfree numaguard run --min-free 10GiB -m 1 -- touch /tmp/ran-minfree
        ng minfree-any numaguard run --min-free 10GiB -- touch /tmp/ran-minfree-any
        ng minfree-pct numaguard run --min-free 99% -m 0 -- touch /tmp/ran-minfree-pct
        ng minfree-ok numaguard run --min-free 50% -m 0 -- touch /tmp/ran-minfree-ok
        for n in 0 1; do cat /sys/devices/system/node/node$n/meminfo >$OUT/node$n-meminfo-minfree; done
        ng cg-m1 sh /tmp/in-cgroup.sh pinned numaguard run -m 1 -- touch /tmp/ran-cg-m1
        ng cg-C2 sh /tmp/in-cgroup.sh pinned numaguard run -C 2 -- touch /tmp/ran-cg-C2
        ng cg-N1 sh /tmp/in-cgroup.sh pinned numaguard run --cpunodebind 1 -- touch /tmp/ran-cg-N1
        ng cg-ok sh /tmp/in-cgroup.sh pinned numaguard run -m 0 -C 1 -- sh -c "$probe_cmd"
        ng cg-self sh /tmp/in-cgroup.sh pinned cat /proc/self/cgroup

        # NUMA balancing: a warning, or a refusal when asked (flag or policy) to require it off.
        cat >/tmp/engine.yaml <<'YAML'
        version: 1
        host: {kernel: {numa_balancing: off}}
        workloads:
          - name: engine
            match: {comm: engine}
            cpus: {nodes: [1]}
            memory: {policy: bind, nodes: [1]}
          - name: helper
            match: {comm: helper}
            cpus: {nodes: [0]}
        YAML
        echo 1 >/proc/sys/kernel/numa_balancing
        ng bal-warn numaguard run -m 0 -- touch /tmp/ran-bal-warn
        ng bal-none numaguard run -- touch /tmp/ran-bal-none
        ng bal-require numaguard run --require-balancing-off -m 0 -- touch /tmp/ran-bal-require
        ng bal-policy numaguard run --policy /tmp/engine.yaml --workload engine -- touch /tmp/ran-bal-policy
        echo 2 >/proc/sys/kernel/numa_balancing
        ng bal-tiering numaguard run --require-balancing-off -m 0 -- touch /tmp/ran-bal-tiering
        echo 0 >/proc/sys/kernel/numa_balancing
        ng bal-off numaguard run --require-balancing-off -m 0 -- touch /tmp/ran-bal-off
        ng policy-engine numaguard run --policy /tmp/engine.yaml --workload engine -- sh -c "$probe_cmd"
        ng policy-helper numaguard run --policy /tmp/engine.yaml --workload helper -- sh -c "$probe_cmd"
        ng policy-missing numaguard run --policy /tmp/engine.yaml --workload nope -- touch /tmp/ran-policy-missing

        # Launch records.
        mkdir /tmp/rec /tmp/rec-user
        numaguard run --record /tmp/rec -m 0 -N 0 -- sh -c 'echo $$ $(cut -d" " -f22 /proc/$$/stat)' >$OUT/record.out 2>$OUT/record.err
        echo $? >$OUT/record.rc
        ls /tmp/rec >$OUT/record.ls
        cp /tmp/rec/*.json $OUT/record.json
        stat -c '%a %u' /tmp/rec/*.json >$OUT/record.mode
        cat /proc/sys/kernel/random/boot_id >$OUT/boot_id
        numaguard run --record /tmp/rec-user --user nobody -- sh -c 'echo $$' >$OUT/record-user.out 2>$OUT/record-user.err
        ls /tmp/rec-user >$OUT/record-user.ls
        cp /tmp/rec-user/*.json $OUT/record-user.json
        ng record-missing numaguard run --record /no/such/dir -m 0 -- touch /tmp/ran-record-missing

        ls /tmp | grep '^ran-' >$OUT/ran
        true
        """#

    func testTwoNodeLinux61() throws {
        let guest = try Guest.boot(.linux61, .twoNode, script: Self.twoNodeScript)
        XCTAssertEqual(try line(guest, "balancing-default"), "1", "the guest kernel turns NUMA balancing on by default")
        XCTAssertEqual(try guest.text("cg-self.out"), "0::/pinned\n", "the cgroup helper moves the command into the cgroup")

        try assertMatrix(guest, Self.twoNodeMatrix)
        try assertShows(guest)
        try assertInheritedPolicyReset(guest)
        try assertStrictBindDoesNotSpill(guest)
        try assertUserAndCapabilities(guest)
        try assertExecInPlace(guest)
        try assertRefusals(guest)
        try assertBalancing(guest)
        try assertRecords(guest)

        // Only the accepted launches ran their program.
        XCTAssertEqual(Set(try guest.text("ran").split(separator: "\n").map(String.init)),
                       ["ran-bal-warn", "ran-bal-none", "ran-bal-off", "ran-minfree-ok"])
    }

    /// Matrix: both tools, the same placement, and the placement expected.
    func assertMatrix(_ guest: Guest, _ cases: [Case], file: StaticString = #filePath, line: UInt = #line) throws {
        for item in cases {
            let what = "\(item.name): \(item.flags)\(item.cgroup.isEmpty ? "" : " in cgroup \(item.cgroup)")"
            XCTAssertEqual(try self.line(guest, "\(item.name).ng-rc"), "0", "numaguard run \(what): \(guest.peek("\(item.name).ng-err"))", file: file, line: line)
            XCTAssertEqual(try guest.text("\(item.name).ng-err"), item.stderr, "numaguard run \(what): stderr", file: file, line: line)
            XCTAssertEqual(try self.line(guest, "\(item.name).nc-rc"), "0", "numactl \(what): \(guest.peek("\(item.name).nc-err"))", file: file, line: line)
            let ours = Placement(try guest.text("\(item.name).ng"))
            let numactl = Placement(try guest.text("\(item.name).nc"))
            for (tool, placement) in [("numaguard run", ours), ("numactl", numactl)] {
                XCTAssertEqual(placement.cpus, item.cpus, "\(tool) \(what): Cpus_allowed_list", file: file, line: line)
                XCTAssertEqual(placement.mems, item.mems, "\(tool) \(what): Mems_allowed_list", file: file, line: line)
                XCTAssertEqual(placement.heap, item.policy, "\(tool) \(what): heap policy", file: file, line: line)
                XCTAssertEqual(placement.stack, item.policy, "\(tool) \(what): stack policy", file: file, line: line)
                XCTAssertEqual(placement.policies, [item.policy], "\(tool) \(what): every mapping's policy", file: file, line: line)
            }
            XCTAssertEqual(ours, numactl, "\(what): numaguard run and numactl disagree", file: file, line: line)
        }
    }

    func assertShows(_ guest: Guest) throws {
        for name in ["m1", "p1", "C1", "N1", "P01", "l", "iall"] {
            XCTAssertEqual(try line(guest, "show-\(name).ng-rc"), "0", guest.peek("show-\(name).ng-err"))
            XCTAssertEqual(try guest.text("show-\(name).ng-err"), "")
            XCTAssertEqual(try line(guest, "show-\(name).nc-rc"), "0")
        }
        func show(_ name: String, _ tool: String) throws -> String { try guest.text("show-\(name).\(tool)") }
        XCTAssertEqual(try show("m1", "ng"), """
            policy: bind
            preferred node: 1
            physcpubind: 0 1 2 3 \("")
            cpubind: 0 1 \("")
            nodebind: 0 1 \("")
            membind: 1 \("")
            preferred: 1 \("")

            """)
        for name in ["m1", "p1", "C1", "N1", "P01"] {
            XCTAssertEqual(try show(name, "ng"), try show(name, "nc"), "run --show under numactl \(name) vs numactl --show")
        }
        XCTAssertTrue(try show("p1", "ng").hasPrefix("policy: preferred\npreferred node: 1\n"), (try? show("p1", "ng")) ?? "")
        XCTAssertTrue(try show("C1", "ng").contains("\nphyscpubind: 1 \ncpubind: 0 \nnodebind: 0 \n"), (try? show("C1", "ng")) ?? "")
        XCTAssertTrue(try show("N1", "ng").contains("\nphyscpubind: 2 3 \ncpubind: 1 \nnodebind: 1 \n"), (try? show("N1", "ng")) ?? "")
        XCTAssertTrue(try show("P01", "ng").hasPrefix("policy: preferred-many\npreferred node: 0 (preferred-many)\n"), (try? show("P01", "ng")) ?? "")
        // The documented difference: numactl 2.0.16 prints nothing after "preferred node: " for
        // local and runs into the next line; numaguard says "current".
        XCTAssertTrue(try show("l", "nc").contains("preferred node: physcpubind:"), "numactl's own quirk: \(guest.peek("show-l.nc"))")
        XCTAssertEqual(try show("l", "ng"),
                       try show("l", "nc").replacingOccurrences(of: "preferred node: physcpubind:", with: "preferred node: current\nphyscpubind:"))
        XCTAssertTrue(try show("l", "ng").hasPrefix("policy: local\npreferred node: current\n"))
        // Interleave: the next node depends on how many pages each process allocated so far,
        // so it may differ between the two; every other line is the same, and each output
        // names one next node consistently.
        let interleaved = try show("iall", "ng"), numactlInterleaved = try show("iall", "nc")
        func withoutNext(_ text: String) -> [Substring] {
            text.split(separator: "\n").filter { !$0.hasPrefix("preferred node:") && !$0.hasPrefix("interleavenode:") }
        }
        XCTAssertEqual(withoutNext(interleaved), withoutNext(numactlInterleaved))
        XCTAssertTrue(interleaved.hasPrefix("policy: interleave\n"), interleaved)
        XCTAssertTrue(interleaved.contains("\ninterleavemask: 0 1 \n"), interleaved)
        for text in [interleaved, numactlInterleaved] {
            let next = text.split(separator: "\n").first { $0.hasPrefix("interleavenode: ") }.map { String($0.dropFirst("interleavenode: ".count)) }
            XCTAssertTrue(["0", "1"].contains(next ?? ""), text)
            XCTAssertTrue(text.contains("\npreferred node: \(next ?? "?") (interleave next)\n"), text)
        }
    }

    func assertInheritedPolicyReset(_ guest: Guest) throws {
        for name in ["inherit-il-ng", "inherit-il-nc", "inherit-il-m0", "inherit-m1-ng", "inherit-m1-nc", "inherit-C1", "static"] {
            XCTAssertEqual(try line(guest, "\(name).rc"), "0", "\(name): \(guest.peek("\(name).err"))")
        }
        // numactl -N 0 under a parent interleave: the interleave leaks into the program ...
        XCTAssertEqual(Placement(try guest.text("inherit-il-nc.out")).policies, ["interleave:0-1"])
        // ... numaguard run -N 0 resets it to the default policy, -m 0 replaces it.
        XCTAssertEqual(Placement(try guest.text("inherit-il-ng.out")).policies, ["default"])
        XCTAssertEqual(Placement(try guest.text("inherit-il-m0.out")).policies, ["bind:0"])
        XCTAssertEqual(Placement(try guest.text("inherit-m1-nc.out")).policies, ["bind:1"])
        XCTAssertEqual(Placement(try guest.text("inherit-m1-ng.out")).policies, ["default"])
        // Without a CPU option the inherited affinity stays, as with numactl.
        let pinned = Placement(try guest.text("inherit-C1.out"))
        XCTAssertEqual(pinned.cpus, "1")
        XCTAssertEqual(pinned.policies, ["bind:0"])
        XCTAssertEqual(Placement(try guest.text("static.out")).policies, ["bind=static:1"])
    }

    func assertStrictBindDoesNotSpill(_ guest: Guest) throws {
        let pid = try line(guest, "strict.pid")
        XCTAssertEqual(try line(guest, "strict.rc"), "137", "killed (SIGKILL by the OOM killer); stderr: \(guest.peek("strict.err"))")
        XCTAssertFalse(try guest.text("strict.out").contains("ready"), "640 MiB cannot fit in node 0 under a strict bind")
        let dmesg = try guest.text("strict.dmesg")
        XCTAssertTrue(dmesg.contains("oom-kill:constraint=CONSTRAINT_MEMORY_POLICY,nodemask=0,"), dmesg)
        XCTAssertTrue(dmesg.contains(",task=probe,pid=\(pid),"), "the launched program (same pid as numaguard) was killed: \(dmesg)")
        // Sampled while it allocated: never a page on node 1 outside the (shared) page cache.
        let samples = try guest.text("strict.samples").components(separatedBy: "---\n").filter { !$0.isEmpty }
        XCTAssertGreaterThanOrEqual(samples.count, 3, "the probe was observed while allocating")
        var largest = 0
        for sample in samples {
            for mapping in sample.split(separator: "\n") where !mapping.contains("file=") {
                XCTAssertEqual(NumaMapsLine.policy(mapping), "bind:0", String(mapping))
                XCTAssertNil(NumaMapsLine.pages(mapping, node: 1), "anonymous pages on node 1 under a strict bind to 0: \(mapping)")
                largest = max(largest, NumaMapsLine.pages(mapping, node: 0) ?? 0)
            }
        }
        XCTAssertGreaterThan(largest, 50_000, "the sampled probe had touched > 195 MiB on node 0")

        // The preferred control spills the rest to node 1 and finishes.
        let node0Pages = try meminfoKiB(guest, "node0-meminfo", "MemTotal") / 4
        let maps = try guest.text("preferred.numa_maps")
        let big = try XCTUnwrap(maps.split(separator: "\n").first { $0.contains(" anon=163840 ") }, maps)
        XCTAssertEqual(NumaMapsLine.policy(big), "prefer:0")
        let n0 = NumaMapsLine.pages(big, node: 0) ?? 0, n1 = NumaMapsLine.pages(big, node: 1) ?? 0
        XCTAssertEqual(n0 + n1, 163_840, String(big))
        XCTAssertGreaterThan(n0, 0, String(big))
        XCTAssertGreaterThanOrEqual(n1, 163_840 - node0Pages, "what node 0 cannot hold is on node 1: \(big)")
    }

    func assertUserAndCapabilities(_ guest: Guest) throws {
        let shell = Status(try guest.text("shell-status"))
        XCTAssertEqual(shell["CapEff"], "000001ffffffffff", "the guest script runs with every capability")

        XCTAssertEqual(try line(guest, "user.rc"), "0", guest.peek("user.err"))
        let userLines = try guest.text("user.out").split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(userLines.prefix(2), ["65534", "65534"], "id -u, id -g")
        let user = Status(try guest.text("user.out"))
        XCTAssertEqual(user["Uid"], "65534\t65534\t65534\t65534", "real, effective, saved and fs uid")
        XCTAssertEqual(user["Gid"], "65534\t65534\t65534\t65534")
        XCTAssertEqual(user["Groups"], "65534", "root's groups are gone; nobody's are set")
        for field in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            XCTAssertEqual(user[field], "0000000000000000", "--user nobody: \(field)")
        }
        XCTAssertEqual(user["CapBnd"], shell["CapBnd"], "the bounding set is left as it is (README)")
        XCTAssertEqual(user["NoNewPrivs"], "1")
        XCTAssertEqual(try guest.text("user-uid.out"), "nobody\n", "--user takes a numeric uid too")

        XCTAssertEqual(try line(guest, "root.rc"), "0", guest.peek("root.err"))
        let root = Status(try guest.text("root.out"))
        XCTAssertEqual(root["Uid"], "0\t0\t0\t0")
        // The bounding set stays; no_new_privs is what keeps root's exec from refilling
        // the permitted set from it.
        for field in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            XCTAssertEqual(root[field], "0000000000000000", "as root without --user: \(field)")
        }
        XCTAssertEqual(root["CapBnd"], shell["CapBnd"], "the bounding set is left as it is (README)")
        XCTAssertEqual(root["NoNewPrivs"], "1")

        XCTAssertEqual(try line(guest, "keep.rc"), "0", guest.peek("keep.err"))
        let kept = Status(try guest.text("keep.out"))
        for field in ["CapPrm", "CapEff", "CapBnd"] {
            XCTAssertEqual(kept[field], shell[field], "--keep-caps: \(field) as the parent's")
        }
        XCTAssertNotEqual(kept["CapEff"], "0000000000000000")
        XCTAssertEqual(kept["NoNewPrivs"], "0")

        // The guest has no nsswitch.conf: glibc's default is `files`, and numaguard says so.
        try assertRefused(guest, "nouser", "--user no-such-user: no such user \"no-such-user\": not in /etc/passwd "
                          + "(nsswitch passwd: files (default: no line in nsswitch.conf))")

        XCTAssertEqual(try guest.text("signals-parent"), "SigBlk:\t0000000000000000\nSigIgn:\t0000000000004007\n",
                       "the parent ignores HUP, INT, QUIT and TERM")
        XCTAssertEqual(try guest.text("signals-child"), "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
                       "numaguard run resets every disposition before exec")
    }

    func assertExecInPlace(_ guest: Guest) throws {
        let shell = try line(guest, "shell-pid")
        XCTAssertEqual(try line(guest, "samepid.rc"), "0", guest.peek("samepid.err"))
        XCTAssertEqual(try line(guest, "samepid.out"), "\(try line(guest, "samepid.started")) \(shell)",
                       "the program's pid is the pid numaguard was started with, and its parent is the shell")
        XCTAssertEqual(try line(guest, "samepid-numactl.out"), "\(try line(guest, "samepid-numactl.started")) \(shell)",
                       "the same measurement with numactl (the reference)")

        XCTAssertEqual(try line(guest, "exit7.rc"), "7")
        XCTAssertEqual(try guest.text("exit7.err"), "")
        XCTAssertEqual(try line(guest, "term.rc"), "143", "killed by SIGTERM, as the shell reports it")
        XCTAssertEqual(try line(guest, "missing.rc"), "127")
        XCTAssertEqual(try guest.text("missing.err"), "numaguard run: /no/such/program: no such file or directory\n")
        XCTAssertEqual(try line(guest, "missing-path.rc"), "127")
        XCTAssertEqual(try guest.text("missing-path.err"), "numaguard run: no-such-program: not found in PATH (/bin:/sbin:/usr/bin:/usr/sbin)\n")
        XCTAssertEqual(try line(guest, "noexec.rc"), "126")
        XCTAssertEqual(try guest.text("noexec.err"), "numaguard run: /tmp/noexec: permission denied (not executable)\n")
        XCTAssertEqual(try line(guest, "dir.rc"), "126")
        XCTAssertEqual(try guest.text("dir.err"), "numaguard run: /tmp: is a directory\n")
        XCTAssertEqual(try line(guest, "usage-option.rc"), "125")
        XCTAssertEqual(try guest.text("usage-option.err"), "numaguard run: usage: unknown option --bogus\nsee: numaguard run --help\n")
        XCTAssertEqual(try line(guest, "usage-noprog.rc"), "125")
        XCTAssertEqual(try guest.text("usage-noprog.err"),
                       "numaguard run: usage: no program given: numaguard run [options] -- PROGRAM [ARGS...]\nsee: numaguard run --help\n")
    }

    func assertRefusals(_ guest: Guest) throws {
        try assertRefused(guest, "nonode", "-m 5: node 5 does not exist or is offline (online nodes: 0-1)")
        try assertRefused(guest, "nonode-N", "-N 5: node 5 does not exist or is offline (online nodes: 0-1)")
        try assertRefused(guest, "nocpu", "--physcpubind 9: CPU 9 does not exist or is offline (online CPUs: 0-3)")
        try assertRefused(guest, "interleave", "-i all: interleave spreads every page over several nodes and is inherited by every "
                          + "child process; pass --allow-interleave (or allow_interleave in the policy) if that is intended")
        try assertRefused(guest, "preferred2", "-p 0,1: preferred takes one node (0-1 given); use --preferred-many for several")
        // The release is the booted guest's own (Debian replaces its kernel packages), and it is
        // the one fetch-kernels.sh recorded for the package it fetched.
        let release = try guest.kernelRelease
        XCTAssertTrue(release.hasPrefix("6.1."), "the 6.1 flavour booted \(release)")
        if let fetched = guest.package.release { XCTAssertEqual(release, fetched, "\(guest.package)") }
        try assertRefused(guest, "weighted", "weighted-interleave needs Linux 6.9 or later; this kernel is \(release)")

        try assertMinFreeRefused(guest, "minfree", node: 1, meminfo: "node1-meminfo-minfree", before: "node1-meminfo-before-minfree",
                                 rule: "--min-free 10 GiB", requires: "10 GiB")
        try assertMinFreeRefused(guest, "minfree-any", node: 0, meminfo: "node0-meminfo-minfree", before: "node0-meminfo-before-minfree",
                                 rule: "--min-free 10 GiB", requires: "10 GiB")
        let total0 = try meminfoKiB(guest, "node0-meminfo-minfree", "MemTotal") * 1024
        try assertMinFreeRefused(guest, "minfree-pct", node: 0, meminfo: "node0-meminfo-minfree", before: "node0-meminfo-before-minfree",
                                 rule: "--min-free 99.0%",
                                 requires: Self.bytes(Int(Double(total0) * 0.99)))
        XCTAssertEqual(try line(guest, "minfree-ok.rc"), "0", guest.peek("minfree-ok.err"))

        let advice = "run numaguard in a cgroup whose cpuset includes them"
        try assertRefused(guest, "cg-m1", "-m 1: node 1 is not allowed: this process's cgroup /pinned allows nodes 0 (cpuset.mems.effective); \(advice)")
        try assertRefused(guest, "cg-C2", "-C 2: CPU 2 is not allowed: this process's cgroup /pinned allows CPUs 0-1 (cpuset.cpus.effective); \(advice)")
        try assertRefused(guest, "cg-N1", "--cpunodebind 1: none of the CPUs of node 1 (2-3) is allowed: this process's cgroup /pinned "
                          + "allows CPUs 0-1 (cpuset.cpus.effective); \(advice)")
        XCTAssertEqual(try line(guest, "cg-ok.rc"), "0", guest.peek("cg-ok.err"))
        let inside = Placement(try guest.text("cg-ok.out"))
        XCTAssertEqual([inside.cpus, inside.mems], ["1", "0"])
        XCTAssertEqual(inside.policies, ["bind:0"])
    }

    func assertBalancing(_ guest: Guest) throws {
        let reason = "the kernel takes NUMA hinting faults on this process and may migrate its default-policy pages; "
            + "set it to 0 for pinned latency work"
        XCTAssertEqual(try line(guest, "bal-warn.rc"), "0")
        XCTAssertEqual(try guest.text("bal-warn.err"), "numaguard run: warning: kernel.numa_balancing is 1: \(reason)\n")
        XCTAssertEqual(try line(guest, "bal-none.rc"), "0")
        XCTAssertEqual(try guest.text("bal-none.err"), "", "no placement asked, nothing to warn about")
        try assertRefused(guest, "bal-require", "kernel.numa_balancing is 1: \(reason)")
        try assertRefused(guest, "bal-policy", "kernel.numa_balancing is 1: \(reason)")
        try assertRefused(guest, "bal-tiering", "kernel.numa_balancing is 2: \(reason)")
        XCTAssertEqual(try line(guest, "bal-off.rc"), "0")
        XCTAssertEqual(try guest.text("bal-off.err"), "")

        XCTAssertEqual(try line(guest, "policy-engine.rc"), "0", guest.peek("policy-engine.err"))
        XCTAssertEqual(try guest.text("policy-engine.err"), "")
        let engine = Placement(try guest.text("policy-engine.out"))
        XCTAssertEqual(engine.cpus, "2-3")
        XCTAssertEqual(engine.policies, ["bind:1"])
        XCTAssertEqual(try line(guest, "policy-helper.rc"), "0", guest.peek("policy-helper.err"))
        let helper = Placement(try guest.text("policy-helper.out"))
        XCTAssertEqual(helper.cpus, "0-1")
        XCTAssertEqual(helper.policies, ["bind:0"], "no memory declared: bound to the CPUs' node")
        XCTAssertEqual(try line(guest, "policy-missing.rc"), "125")
        XCTAssertEqual(try guest.text("policy-missing.err"), "numaguard run: usage: --workload nope: /tmp/engine.yaml declares no such "
                       + "workload (it declares: engine, helper)\nsee: numaguard run --help\n")
    }

    func assertRecords(_ guest: Guest) throws {
        XCTAssertEqual(try line(guest, "record.rc"), "0", guest.peek("record.err"))
        let seen = try line(guest, "record.out").split(separator: " ").map(String.init)
        XCTAssertEqual(seen.count, 2)
        let pid = try XCTUnwrap(Int(seen.first ?? "")), start = try XCTUnwrap(Int(seen.last ?? ""))
        XCTAssertEqual(try guest.text("record.ls"), "\(pid)-\(start).json\n", "one record named <pid>-<starttime>.json of the program")
        XCTAssertEqual(try guest.text("record.mode"), "644 0\n", "readable by all, written by root")
        let record = try guest.json("record.json")
        XCTAssertEqual(record["format_version"] as? Int, 1)
        XCTAssertEqual(record["pid"] as? Int, pid)
        XCTAssertEqual(record["start_time"] as? Int, start)
        XCTAssertEqual(record["boot_id"] as? String, try line(guest, "boot_id"))
        XCTAssertEqual(record["program"] as? String, "/bin/sh")
        XCTAssertEqual(record["arguments"] as? [String], ["sh", "-c", "echo $$ $(cut -d\" \" -f22 /proc/$$/stat)"])
        XCTAssertEqual(record["cpus"] as? String, "0-1")
        XCTAssertEqual(record["memory_policy"] as? String, "bind:0")
        XCTAssertEqual(record["source"] as? String, "-N 0 -m 0", "the options as typed")
        XCTAssertTrue(record["user"] is NSNull)
        XCTAssertTrue((record["tool"] as? String ?? "").hasPrefix("numaguard "), "\(record["tool"] ?? "")")
        XCTAssertNotNil((record["launched_at"] as? String ?? "").range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression))

        // With --user the record is written before the switch (the directory is root's).
        let userPid = try line(guest, "record-user.out")
        let userFile = try line(guest, "record-user.ls")
        XCTAssertTrue(userFile.hasPrefix("\(userPid)-") && userFile.hasSuffix(".json"), userFile)
        let userRecord = try guest.json("record-user.json")
        XCTAssertEqual(userRecord["pid"] as? Int, Int(userPid))
        XCTAssertEqual(userRecord["user"] as? String, "nobody")
        XCTAssertEqual(userRecord["memory_policy"] as? String, "default")
        XCTAssertTrue(userRecord["cpus"] is NSNull)

        XCTAssertEqual(try line(guest, "record-missing.rc"), "125")
        XCTAssertTrue(try guest.text("record-missing.err").hasPrefix("numaguard run: failed: --record /no/such/dir: "),
                      guest.peek("record-missing.err"))
    }

    // MARK: 6.12: weighted interleave, prefer (many)

    static let linux612Matrix: [Case] = [
        Case(name: "P01", flags: "-P 0,1", cpus: "0-3", mems: "0-1", policy: "prefer (many):0-1"),
        Case(name: "iall", flags: "-i all", extra: "--allow-interleave", cpus: "0-3", mems: "0-1", policy: "interleave:0-1"),
        Case(name: "m1N0", flags: "-m 1 -N 0", cpus: "0-1", mems: "0-1", policy: "bind:1"),
    ]

    func testLinux612WeightedInterleave() throws {
        let guest = try Guest.boot(.linux612, .twoNode, script: Self.library + Self.matrixScript(Self.linux612Matrix) + #"""
            ng w numaguard run -w 0,1 --allow-interleave -- sh -c "$probe_cmd"
            ng wlong numaguard run --weighted-interleave=1 --allow-interleave -- sh -c "$probe_cmd"
            ng wrefused numaguard run -w 0,1 -- touch /tmp/ran-w
            ng wshow numaguard run -w 0,1 --allow-interleave -- numaguard run --show
            ng wshow-nc numaguard run -w 0,1 --allow-interleave -- numactl --show
            show P01 "-P 0,1"
            ls /tmp | grep '^ran-' >$OUT/ran
            true
            """#)
        try assertMatrix(guest, Self.linux612Matrix)
        for name in ["w", "wlong", "wshow", "wshow-nc"] {
            XCTAssertEqual(try line(guest, "\(name).rc"), "0", "\(name): \(guest.peek("\(name).err"))")
            XCTAssertEqual(try guest.text("\(name).err"), "", name)
        }
        let weighted = Placement(try guest.text("w.out"))
        XCTAssertEqual(weighted.policies, ["weighted interleave:0-1"])
        XCTAssertEqual([weighted.cpus, weighted.mems], ["0-3", "0-1"])
        XCTAssertEqual(Placement(try guest.text("wlong.out")).policies, ["weighted interleave:1"])
        try assertRefused(guest, "wrefused", "-w 0,1: interleave spreads every page over several nodes and is inherited by every "
                          + "child process; pass --allow-interleave (or allow_interleave in the policy) if that is intended")
        XCTAssertEqual(try guest.text("ran"), "")

        // run --show spells weighted interleave out where numactl 2.0.16 prints "[6]".
        let show = try guest.text("wshow.out")
        let next = show.split(separator: "\n").first { $0.hasPrefix("interleavenode: ") }.map { String($0.dropFirst("interleavenode: ".count)) } ?? "?"
        XCTAssertTrue(["0", "1"].contains(next), show)
        XCTAssertEqual(show, """
            policy: weighted-interleave
            preferred node: \(next) (interleave next)
            interleavemask: 0 1 \("")
            interleavenode: \(next)
            physcpubind: 0 1 2 3 \("")
            cpubind: 0 1 \("")
            nodebind: 0 1 \("")
            membind: 0 1 \("")
            preferred: 0 1 \("")

            """)
        let numactlShow = try guest.text("wshow-nc.out")
        XCTAssertTrue(numactlShow.hasPrefix("policy: [6]\n"), numactlShow)
        XCTAssertEqual(numactlShow.split(separator: "\n").suffix(4), show.split(separator: "\n").suffix(4), "cpubind, nodebind, membind, preferred")

        XCTAssertEqual(try line(guest, "show-P01.ng-rc"), "0", guest.peek("show-P01.ng-err"))
        XCTAssertEqual(try guest.text("show-P01.ng"), try guest.text("show-P01.nc"))
        XCTAssertTrue(try guest.text("show-P01.ng").hasPrefix("policy: preferred-many\n"))
    }

    // MARK: A memory-only node, isolated CPUs

    /// Nodes 0 (CPUs 0-1), 1 (CPUs 2-3) and 2 (memory only), booted with isolcpus=2-3: every
    /// process inherits CPUs 0-1, while the root cpuset still holds 0-3.
    static let isolatedMixed = "numaguard run: warning: CPUs 2-3 are isolated (isolcpus) and CPUs 0-1 are not: "
        + "the scheduler does not balance threads onto the isolated ones\n"
    static let isolatedAll = "numaguard run: warning: CPUs 2-3 are all isolated (isolcpus): the scheduler does not balance "
        + "threads across them, so each thread stays where it starts; pin threads individually\n"

    static let cpulessMatrix: [Case] = [
        Case(name: "m2", flags: "-m 2", cpus: "0-1", mems: "0-2", policy: "bind:2"),
        Case(name: "mall", flags: "-m all", cpus: "0-1", mems: "0-2", policy: "bind:0-2"),
        Case(name: "p2", flags: "-p 2", cpus: "0-1", mems: "0-2", policy: "prefer:2"),
        Case(name: "N0m2", flags: "-N 0 -m 2", cpus: "0-1", mems: "0-2", policy: "bind:2"),
        Case(name: "Nall", flags: "-N all", cpus: "0-3", mems: "0-2", policy: "default", stderr: isolatedMixed),
        Case(name: "N1m2", flags: "-N 1 -m 2", cpus: "2-3", mems: "0-2", policy: "bind:2", stderr: isolatedAll),
    ]

    func testMemoryOnlyNodeAndIsolatedCPUs() throws {
        let guest = try Guest.boot(.linux61, .cpuless, append: "isolcpus=2-3", script: Self.library + Self.matrixScript(Self.cpulessMatrix) + #"""
            cat /sys/devices/system/cpu/isolated >$OUT/isolated
            ng N2 numaguard run -N 2 -- touch /tmp/ran-N2
            ng N12 numaguard run -N 1,2 -- touch /tmp/ran-N12
            ng C12 numaguard run -C 1-2 -- sh -c "$probe_cmd"
            ng C3 numaguard run -C 3 -- sh -c "$probe_cmd"
            ng nc-C3 numactl -C 3 true
            ng C01 numaguard run -C 0-1 -- sh -c "$probe_cmd"
            ng show-ng numaguard run --show
            ng show-nc numactl --show
            cat /sys/devices/system/node/node2/meminfo >$OUT/node2-meminfo
            ng minfree2 numaguard run --min-free 10GiB -m 2 -- touch /tmp/ran-minfree2
            ls /tmp | grep '^ran-' >$OUT/ran
            true
            """#)
        XCTAssertEqual(try line(guest, "isolated"), "2-3")
        XCTAssertEqual(Status(try guest.text("shell-status"))["Cpus_allowed_list"], "0-1", "isolcpus narrows the inherited affinity")
        try assertMatrix(guest, Self.cpulessMatrix)

        try assertRefused(guest, "N2", "-N 2: node 2 has no CPUs (a memory-only node); nodes with CPUs: 0-1")
        try assertRefused(guest, "N12", "-N 1,2: node 2 has no CPUs (a memory-only node); nodes with CPUs: 0-1")
        try assertMinFreeRefused(guest, "minfree2", node: 2, meminfo: "node2-meminfo", rule: "--min-free 10 GiB", requires: "10 GiB")
        XCTAssertEqual(try guest.text("ran"), "")

        XCTAssertEqual(try line(guest, "C12.rc"), "0")
        XCTAssertEqual(try guest.text("C12.err"), "numaguard run: warning: CPU 2 is isolated (isolcpus) and CPU 1 is not: "
                       + "the scheduler does not balance threads onto the isolated ones\n")
        XCTAssertEqual(Placement(try guest.text("C12.out")).cpus, "1-2")
        // One isolated CPU is the usual way to pin a thread: no warning. numaguard checks CPUs
        // against the cpuset (0-3), so it may pin there although the inherited affinity (0-1)
        // excludes it; numactl 2.0.16 checks against the inherited affinity and refuses.
        XCTAssertEqual(try line(guest, "C3.rc"), "0")
        XCTAssertEqual(try guest.text("C3.err"), "")
        XCTAssertEqual(Placement(try guest.text("C3.out")).cpus, "3")
        XCTAssertNotEqual(try line(guest, "nc-C3.rc"), "0", "numactl -C 3 outside the inherited affinity")
        XCTAssertEqual(try line(guest, "C01.rc"), "0")
        XCTAssertEqual(try guest.text("C01.err"), "")
        XCTAssertEqual(Placement(try guest.text("C01.out")).cpus, "0-1")

        XCTAssertEqual(try line(guest, "show-ng.rc"), "0")
        XCTAssertEqual(try guest.text("show-ng.out"), try guest.text("show-nc.out"))
        XCTAssertTrue(try guest.text("show-ng.out").contains("\nphyscpubind: 0 1 \ncpubind: 0 \nnodebind: 0 \nmembind: 0 1 2 \n"),
                      guest.peek("show-ng.out"))
    }

    // MARK: PREEMPT_RT: no numa_balancing sysctl

    func testLinuxRTWithoutBalancingSysctl() throws {
        let guest = try Guest.boot(.rt, .twoNode, script: Self.library + #"""
            ng require numaguard run --require-balancing-off -m 1 -N 0 -- sh -c "$probe_cmd"
            show m1 "-m 1"
            true
            """#)
        XCTAssertEqual(try line(guest, "balancing-default"), "absent")
        XCTAssertEqual(try line(guest, "require.rc"), "0", guest.peek("require.err"))
        XCTAssertEqual(try guest.text("require.err"), "", "a kernel without NUMA balancing satisfies --require-balancing-off")
        let placement = Placement(try guest.text("require.out"))
        XCTAssertEqual([placement.cpus, placement.mems], ["0-1", "0-1"])
        XCTAssertEqual(placement.policies, ["bind:1"])
        XCTAssertEqual(try line(guest, "show-m1.ng-rc"), "0")
        XCTAssertEqual(try guest.text("show-m1.ng"), try guest.text("show-m1.nc"))
        XCTAssertTrue(try guest.text("show-m1.ng").hasPrefix("policy: bind\npreferred node: 1\n"))
    }

    // MARK: Helpers

    func line(_ guest: Guest, _ name: String) throws -> String {
        try guest.text(name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Exit 125, exactly one line on stderr, nothing on stdout, and the program never ran.
    func assertRefused(_ guest: Guest, _ name: String, _ reason: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try self.line(guest, "\(name).rc"), "125", "\(name): \(guest.peek("\(name).err"))", file: file, line: line)
        XCTAssertEqual(try guest.text("\(name).err"), "numaguard run: refused: \(reason)\n", name, file: file, line: line)
        XCTAssertEqual(try guest.text("\(name).out"), "", name, file: file, line: line)
        XCTAssertFalse(try guest.text("ran").split(separator: "\n").contains("ran-\(name)"[...]), "\(name): the program ran", file: file, line: line)
    }

    /// "node N has F free of T; RULE requires R", with T exact and F within a few MiB of
    /// the node's MemFree read next to it.
    /// `meminfo` sampled after the run, `before` (when given) before it: the free memory the
    /// refusal names must lie between the two samples, give or take 8 MiB. (One sample after
    /// four runs was 11 MiB off in one CI run: the guest's free memory had moved.)
    func assertMinFreeRefused(_ guest: Guest, _ name: String, node: Int, meminfo: String, before: String? = nil, rule: String, requires: String,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try self.line(guest, "\(name).rc"), "125", guest.peek("\(name).err"), file: file, line: line)
        let total = Self.bytes(try meminfoKiB(guest, meminfo, "MemTotal") * 1024)
        let message = try guest.text("\(name).err")
        let prefix = "numaguard run: refused: node \(node) has "
        let suffix = " free of \(total); \(rule) requires \(requires)\n"
        XCTAssertTrue(message.hasPrefix(prefix) && message.hasSuffix(suffix), "\(message) vs \(prefix)…\(suffix)", file: file, line: line)
        let free = message.dropFirst(prefix.count).split(separator: " ")
        let freeMiB = try XCTUnwrap(Double(free.first ?? ""), message, file: file, line: line)
        XCTAssertEqual(free.dropFirst().first, "MiB", message, file: file, line: line)
        let samples = try [meminfo, before ?? meminfo].map { Double(try meminfoKiB(guest, $0, "MemFree")) / 1024 }
        let low = (samples.min() ?? 0) - 8, high = (samples.max() ?? 0) + 8
        XCTAssertTrue(freeMiB >= low && freeMiB <= high, "\(message) vs MemFree \(samples) MiB ± 8", file: file, line: line)
        XCTAssertFalse(try guest.text("ran").contains("ran-\(name)\n"), "\(name): the program ran", file: file, line: line)
    }

    func meminfoKiB(_ guest: Guest, _ name: String, _ field: String) throws -> Int {
        // "Node 0 MemTotal:         469116 kB"
        let row = try XCTUnwrap(try guest.text(name).split(separator: "\n").first { $0.contains(" \(field):") }, "\(field) in \(name)")
        return try XCTUnwrap(row.split(separator: " ").dropLast().last.flatMap { Int($0) }, String(row))
    }

    /// The binary units numaguard's messages use (NumaguardCore.Bytes): one decimal, ".0" dropped.
    static func bytes(_ count: Int) -> String {
        for (unit, size) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where count >= size {
            let tenths = (count * 10 + size / 2) / size
            return tenths % 10 == 0 ? "\(tenths / 10) \(unit)" : "\(tenths / 10).\(tenths % 10) \(unit)"
        }
        return "\(count) B"
    }
}

extension Guest {
    /// A result file for a failure message: its text, or "(missing NAME)".
    func peek(_ name: String) -> String { (try? text(name)) ?? "(missing \(name))" }
}

/// `/proc/self/status` fields by name (value after the tab, trailing blanks trimmed).
struct Status {
    let fields: [String: String]

    init(_ text: String) {
        var fields: [String: String] = [:]
        for row in text.split(separator: "\n") {
            guard let colon = row.firstIndex(of: ":") else { continue }
            let key = String(row[..<colon])
            guard !key.contains(" ") else { continue }
            fields[key] = row[row.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.fields = fields
    }

    subscript(_ key: String) -> String? { fields[key] }
}

/// What one process reported about itself: `cat /proc/self/status /proc/self/numa_maps`.
struct Placement: Equatable {
    var cpus: String?
    var mems: String?
    var heap: String?
    var stack: String?
    /// The policy of every mapping.
    var policies: Set<String> = []

    init(_ text: String) {
        let status = Status(text)
        cpus = status["Cpus_allowed_list"]
        mems = status["Mems_allowed_list"]
        for row in text.split(separator: "\n") where NumaMapsLine.isMapping(row) {
            guard let policy = NumaMapsLine.policy(row) else { continue }
            policies.insert(policy)
            let words = row.split(separator: " ")
            if words.contains("heap") { heap = policy }
            if words.contains("stack") { stack = policy }
        }
    }
}

/// One numa_maps line: `7f..000 bind:0 anon=12 dirty=12 N0=12 kernelpagesize_kB=4`.
enum NumaMapsLine {
    static func isMapping(_ row: Substring) -> Bool {
        guard let address = row.split(separator: " ").first, address.count >= 8 else { return false }
        return address.allSatisfy(\.isHexDigit)
    }

    /// The policy column, with the kernel's two-word modes kept whole.
    static func policy(_ row: Substring) -> String? {
        guard let space = row.firstIndex(of: " ") else { return nil }
        let rest = row[row.index(after: space)...]
        let words = rest.split(separator: " ", maxSplits: 2)
        if rest.hasPrefix("prefer (many)") || rest.hasPrefix("weighted interleave") {
            return words.prefix(2).joined(separator: " ")
        }
        return words.first.map(String.init)
    }

    /// The page count on `node` (`N1=123`), nil when the mapping has none there.
    static func pages(_ row: Substring, node: Int) -> Int? {
        row.split(separator: " ").first { $0.hasPrefix("N\(node)=") }.flatMap { Int($0.dropFirst("N\(node)=".count)) }
    }
}
