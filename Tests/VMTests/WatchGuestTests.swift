import Foundation
import TestSupport
import XCTest

/// `numaguard watch` on a real 2-node 6.1 kernel with NUMA balancing: one boot runs the whole
/// day in a minute (knob flipped back on, a workload whose CPUs move between the nodes so
/// balancing migrates its pages, a protected workload in a cgroup v2 of its own re-pinned and
/// its pages moved (seen in the cgroup's memory.numa_stat), a broken policy on SIGHUP, a
/// scrape, SIGTERM). The events, metrics and the counters recorded beside
/// the watch come back and are judged here. A second boot runs it on PREEMPT_RT, which has
/// no NUMA balancing at all.
final class WatchGuestTests: XCTestCase {
    static let script = #"""
        mkdir -p /tmp/prom $OUT/series
        ip link set lo up                              # /metrics listens on loopback
        echo 0 >/proc/sys/kernel/numa_balancing
        cat >/tmp/watch.yaml <<'EOF'
        version: 1
        host: {kernel: {numa_balancing: off}}
        workloads:
          - name: engine
            match: {cmdline: "^probe 16$"}
            protected: true
            cpus: {nodes: [0]}
            memory: {policy: bind, nodes: [0]}
        watch:
          interval: 500ms
          numa_maps_period: 1s
          listen: 127.0.0.1:9464
          regimes: {watch: {hint_faults_per_s: 20}, shock: {pages_migrated_per_s: 500, remote_fault_ratio: 0.5}, dwell: 3s}
        EOF
        cp /tmp/watch.yaml /tmp/good.yaml
        # The protected engine in a cgroup of its own, as a systemd service would be: watch
        # reads its per-node memory from the cgroup's memory.numa_stat, never its numa_maps.
        echo +memory >/sys/fs/cgroup/cgroup.subtree_control
        mkdir -p /sys/fs/cgroup/engine
        # in-engine.sh CMD...: move into the engine's cgroup, then exec CMD (the same PID).
        printf 'echo $$ >/sys/fs/cgroup/engine/cgroup.procs || exit 99\nexec "$@"\n' >/tmp/in-engine.sh
        start engine sh /tmp/in-engine.sh numactl --cpunodebind=0 --membind=0 probe 16
        cat /proc/$(pid_of engine)/cgroup >$OUT/engine-cgroup
        cat /sys/fs/cgroup/cgroup.subtree_control >$OUT/subtree_control
        # The counters, recorded beside the watch for the pure regime tests.
        record_series() {
            i=0
            while [ $i -lt 400 ]; do
                d=$OUT/series/$(printf %03d $i)
                mkdir -p $d/proc $d/sys/devices/system/node/node0 $d/sys/devices/system/node/node1
                read up _ </proc/uptime
                grep -E '^(numa_|pgmigrate_)' /proc/vmstat >$d/proc/vmstat
                cp /sys/devices/system/node/node0/numastat $d/sys/devices/system/node/node0/
                cp /sys/devices/system/node/node1/numastat $d/sys/devices/system/node/node1/
                echo $up >$d/uptime
                i=$((i+1))
                sleep 0.5
            done
        }
        record_series &
        recorder=$!
        # Every sample's figures too (--series), at 1 s: the samples numaguard attribute reads.
        numaguard watch --policy /tmp/watch.yaml --interval 1s --events $OUT/events.jsonl --series $OUT/samples.jsonl \
            --textfile /tmp/prom/numaguard.prom 2>$OUT/watch.err &
        watcher=$!
        # wait_for COUNT PATTERN SECONDS: until PATTERN is on COUNT lines of the events.
        wait_for() {
            i=0
            while n=$(grep -c "$2" $OUT/events.jsonl 2>/dev/null); [ "${n:-0}" -lt $1 ]; do
                i=$((i+1))
                [ $i -gt $(($3*10)) ] && { echo "no $2 (x$1) within $3 s" | tee -a $OUT/timeouts; return 1; }
                sleep 0.1
            done
        }
        # settled SECONDS: until the newest regime event goes to STABLE and no other follows for 2 s
        # (at most SECONDS).
        settled() {
            i=0
            while :; do
                n=$(grep -c '"event":"regime"' $OUT/events.jsonl)
                if grep '"event":"regime"' $OUT/events.jsonl | tail -n1 | grep -q '"to":"stable"'; then
                    sleep 2
                    [ "$(grep -c '"event":"regime"' $OUT/events.jsonl)" = "$n" ] && return 0
                fi
                i=$((i+1))
                # Best effort: what the test judges does not depend on it (see the scrape loop).
                [ $i -gt $1 ] && { echo "not settled in STABLE within $1 s" >>$OUT/unsettled; return 0; }
                sleep 1
            done
        }
        wait_for 1 '"event":"start"' 30
        # A quiet baseline: ten 1 s samples of STABLE in the series before anything happens.
        sleep 11
        echo 1 >/proc/sys/kernel/numa_balancing        # another tool turns balancing back on
        wait_for 1 '"event":"knob"' 10
        # Memory on node 0 by first touch while on node 0's CPUs, then its CPUs move to node 1.
        start mover taskset -c 0-1 probe -S 128
        taskset -a -p -c 2-3 $(pid_of mover) >$OUT/taskset.out 2>&1
        wait_for 1 '"to":"watch"\|"to":"shock"' 60
        # Its CPUs back and forth between the nodes every 3 s, so balancing keeps migrating
        # its pages: more than ten 1 s samples of SHOCK or WATCH in the series.
        for cpus in 0-1 2-3 0-1 2-3; do
            sleep 3
            taskset -a -p -c $cpus $(pid_of mover) >>$OUT/taskset.out 2>&1
        done
        sleep 3
        cat /proc/$(pid_of mover)/numa_maps >$OUT/numa_maps-mover
        kill $(pid_of mover)
        # Balancing off again (a second knob event): from here on nothing but this script moves
        # pages, so what follows does not depend on how fast TCG on a busy host runs the guest.
        echo 0 >/proc/sys/kernel/numa_balancing
        wait_for 2 '"event":"knob"' 10
        settled 90
        # The protected engine re-pinned, then its pages moved off node 0.
        taskset -p -c 2-3 $(pid_of engine) >>$OUT/taskset.out 2>&1
        wait_for 1 '"to":"safe"' 20
        migratepages $(pid_of engine) 0 1 >$OUT/migratepages.out 2>&1
        wait_for 1 '"event":"pages_moved"' 20
        cat /sys/fs/cgroup/engine/memory.numa_stat >$OUT/engine-numa_stat
        wait_for 1 '"from":"safe"' 60
        settled 60
        # SIGHUP with a broken policy keeps the old one.
        printf 'version: 1\nwatch: {interval: fast}\n' >/tmp/watch.yaml
        kill -HUP $watcher
        wait_for 1 '"event":"reload"' 10
        sleep 1
        # Balancing off does not stop hint faults at once (pages the scanner marked still fault),
        # so a regime may still change: scrape until no regime event came during the scrape, and
        # judge the metrics against the events written before it.
        tries=0
        while :; do
            before=$(grep -c '"event":"regime"' $OUT/events.jsonl)
            wget -q -O $OUT/metrics.txt http://127.0.0.1:9464/metrics; echo $? >$OUT/wget.status
            after=$(grep -c '"event":"regime"' $OUT/events.jsonl)
            [ "$before" = "$after" ] && break
            tries=$((tries+1)); [ $tries -ge 20 ] && break
            sleep 0.3
        done
        echo $before >$OUT/regimes-before-scrape
        echo $after >$OUT/regimes-after-scrape
        wget -q -O $OUT/missing.txt http://127.0.0.1:9464/nothing; echo $? >$OUT/wget-missing.status
        kill -TERM $watcher
        wait $watcher; echo $? >$OUT/watch.status
        cp /tmp/prom/numaguard.prom $OUT/textfile.prom
        ls -a /tmp/prom >$OUT/prom-dir
        kill $recorder
        echo "$(pid_of engine) $(pid_of mover)" >$OUT/pids
        """#

    static let rtScript = #"""
        printf 'version: 1\nwatch: {interval: 200ms}\n' >/tmp/p.yaml
        numaguard watch --policy /tmp/p.yaml --count 5 --textfile $OUT/rt.prom >$OUT/rt-events.jsonl 2>$OUT/rt.err
        echo $? >$OUT/rt.status
        """#

    private func events(_ guest: Guest) throws -> [[String: Any]] {
        try guest.text("events.jsonl").split(separator: "\n").map { try Command.json(String($0)) }
    }

    func testWatchOnATwoNodeGuest() throws {
        let guest = try Guest.boot(.linux61, .twoNode, script: Self.script)
        XCTAssertNil(try? guest.text("timeouts"), (try? guest.text("timeouts")) ?? "")
        let all = try events(guest)
        let log = all.map { "\($0["event"] ?? "?"): \($0["message"] ?? "")" }.joined(separator: "\n")
        for event in all {
            XCTAssertEqual(event["format_version"] as? Int, 1)
            XCTAssertEqual(event["kind"] as? String, "watch_event")
            XCTAssertNotNil(event["time"] as? String)
        }
        XCTAssertEqual(all.first?["event"] as? String, "start", log)
        XCTAssertEqual(all.first?["numa_maps"] as? String, "off", "numa_maps is not read unless the policy opts in")
        XCTAssertEqual(all.last?["event"] as? String, "stop", log)
        XCTAssertEqual(all.last?["message"] as? String, "stopped by SIGTERM")
        XCTAssertEqual(try guest.text("watch.status").trimmingCharacters(in: .whitespacesAndNewlines), "0", "SIGTERM is a clean stop")

        let knob = try XCTUnwrap(all.first { $0["event"] as? String == "knob" }, log)
        XCTAssertEqual(knob["from"] as? String, "0")
        XCTAssertEqual(knob["to"] as? String, "1")
        XCTAssertTrue((knob["message"] as? String ?? "").contains("the policy requires off"), "\(knob)")

        // The mover: WATCH or SHOCK with the figures that caused it, then STABLE after the dwell.
        let regimes = all.filter { $0["event"] as? String == "regime" }
        let first = try XCTUnwrap(regimes.first, log)
        XCTAssertEqual(first["from"] as? String, "stable")
        XCTAssertTrue(["watch", "shock"].contains(first["to"] as? String ?? ""), log)
        // Whichever figure caused it is at or above its threshold in the event's own figures
        // (balancing may migrate 500 pages/s on fewer than 20 hint faults/s, or the reverse).
        let figures = try XCTUnwrap(first["figures"] as? [String: Any])
        let faults = try XCTUnwrap(figures["hint_faults_per_s"] as? Double, "\(figures)")
        let migrated = try XCTUnwrap(figures["balancing_migrated_per_s"] as? Double, "\(figures)")
        let message = first["message"] as? String ?? ""
        var causes = 0
        if message.contains("pages/s >= 500/s") { XCTAssertGreaterThanOrEqual(migrated, 500, "\(first)"); causes += 1 }
        if message.contains("% >= 50%") {
            XCTAssertGreaterThanOrEqual(figures["remote_fault_ratio"] as? Double ?? 0, 0.5, "\(first)")
            XCTAssertGreaterThanOrEqual(faults, 20, "the remote share counts only at WATCH-level fault rates: \(first)")
            causes += 1
        }
        if message.contains("hint faults") && message.contains("/s >= 20/s") { XCTAssertGreaterThanOrEqual(faults, 20, "\(first)"); causes += 1 }
        XCTAssertGreaterThan(causes, 0, "the event names what caused it: \(message)")
        let mover = try guest.text("numa_maps-mover")
        XCTAssertTrue(mover.contains("N1="), "balancing moved the mover's pages to node 1:\n\(mover.prefix(2000))")
        let back = try XCTUnwrap(regimes.dropFirst().first { $0["to"] as? String == "stable" }, log)
        let stableIndex = try XCTUnwrap(regimes.firstIndex { ($0["to"] as? String) == "stable" })
        XCTAssertTrue(regimes[..<stableIndex].allSatisfy { ["watch", "shock"].contains($0["to"] as? String ?? "") }, log)
        XCTAssertTrue((back["message"] as? String ?? "").contains("dwell 3s"), "\(back)")
        XCTAssertGreaterThanOrEqual(try seconds(back) - seconds(first), 3, "left no sooner than the dwell")

        // The protected engine: its placement change is an event and SAFE, then its pages moved.
        let pids = try guest.text("pids").split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let engine = try XCTUnwrap(pids.first)
        let placement = try XCTUnwrap(all.first { $0["event"] as? String == "placement" }, log)
        XCTAssertEqual(placement["pid"] as? String, String(engine))
        XCTAssertEqual(placement["workload"] as? String, "engine")
        XCTAssertTrue((placement["message"] as? String ?? "").contains("allowed CPUs changed from 0-1 to 2-3"), "\(placement)")
        let safe = try XCTUnwrap(regimes.first { $0["to"] as? String == "safe" }, log)
        XCTAssertTrue((safe["message"] as? String ?? "").contains("PID \(engine)"), "\(safe)")
        let moved = try XCTUnwrap(all.first { $0["event"] as? String == "pages_moved" }, log)
        XCTAssertTrue((moved["message"] as? String ?? "").contains("off node 0 grew"), "\(moved)")
        // Seen in the engine's own cgroup (memory.numa_stat), not in its numa_maps.
        XCTAssertEqual(try guest.text("engine-cgroup").trimmingCharacters(in: .whitespacesAndNewlines), "0::/engine")
        XCTAssertTrue(try guest.text("subtree_control").contains("memory"), "the memory controller is enabled for the engine's cgroup")
        XCTAssertTrue((moved["message"] as? String ?? "").hasPrefix("cgroup /engine of protected workload engine (PID \(engine))"), "\(moved)")
        XCTAssertTrue((moved["message"] as? String ?? "").contains("from memory.numa_stat"),
                      "\(moved)\n\((try? guest.text("engine-numa_stat")) ?? "")")
        XCTAssertEqual(moved["pid"] as? String, String(engine))
        XCTAssertTrue(all.contains { ($0["message"] as? String ?? "").hasPrefix("cgroup /engine of protected workload engine (PID \(engine)): per-node memory from its memory.numa_stat") }, log)
        XCTAssertFalse(all.contains { ($0["message"] as? String ?? "").contains("numa_maps") }, "numa_maps is not read by default: \(log)")
        XCTAssertFalse(all.contains { ($0["message"] as? String ?? "").contains("is shared with") }, "the engine's cgroup is its own: \(log)")
        let safeIndex = try XCTUnwrap(regimes.firstIndex { $0["to"] as? String == "safe" })
        let leave = try XCTUnwrap(regimes.dropFirst(safeIndex + 1).first, log)
        XCTAssertEqual(leave["from"] as? String, "safe")
        // Left for what the rates say then: STABLE, unless pages the scanner marked before
        // balancing was turned off are still faulting (the kernel keeps counting those).
        XCTAssertTrue(["stable", "watch", "shock"].contains(leave["to"] as? String ?? ""), "SAFE is left after the dwell: \(log)")
        XCTAssertTrue((leave["message"] as? String ?? "").contains("below SAFE for"), "\(leave)")
        XCTAssertGreaterThanOrEqual(try seconds(leave) - seconds(safe), 3, "no sooner than the dwell")
        XCTAssertTrue(all.contains { $0["event"] as? String == "process" && ($0["message"] as? String ?? "").hasPrefix("watching PID \(engine)") }, log)

        // SIGHUP with a broken policy: refused with file:line:col, the old one kept.
        let reload = try XCTUnwrap(all.first { $0["event"] as? String == "reload" }, log)
        XCTAssertEqual(reload["refused"] as? String, "true")
        XCTAssertTrue((reload["message"] as? String ?? "").contains("/tmp/watch.yaml:2:"), "\(reload)")
        let startDigest = try XCTUnwrap(all.first?["policy_digest"] as? String)
        XCTAssertEqual(reload["policy_digest"] as? String, startDigest)
        XCTAssertTrue(try guest.text("watch.err").contains("reload: policy /tmp/watch.yaml refused, keeping the previous one"))

        // The scrape (busybox wget inside the guest) and the textfile.
        XCTAssertEqual(try guest.text("wget.status").trimmingCharacters(in: .whitespacesAndNewlines), "0")
        XCTAssertNotEqual(try guest.text("wget-missing.status").trimmingCharacters(in: .whitespacesAndNewlines), "0", "404 for other paths")
        let metrics = try guest.text("metrics.txt")
        // The scrape saw exactly the regime events written before it (the script scraped again
        // until none came during a scrape): its regime is the last of them, its counters theirs.
        XCTAssertEqual(try guest.text("regimes-before-scrape"), try guest.text("regimes-after-scrape"), log)
        let seen = Int(try guest.text("regimes-before-scrape").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        XCTAssertTrue((1...regimes.count).contains(seen), "\(seen) of \(regimes.count): \(log)")
        let atScrape = Array(regimes.prefix(max(0, seen)))
        let scrapedRegime = atScrape.last?["to"] as? String ?? "stable"
        XCTAssertTrue(metrics.contains("numaguard_watch_regime{regime=\"\(scrapedRegime)\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("policy_digest=\"\(startDigest)\""), "the old policy stays in force")
        XCTAssertTrue(metrics.contains("numaguard_watch_numa_balancing 0"), "turned off again before the engine was re-pinned: \(metrics)")
        let knobs = all.filter { $0["event"] as? String == "knob" }
        XCTAssertEqual(knobs.map { "\($0["from"] ?? "?")->\($0["to"] ?? "?")" }, ["0->1", "1->0"], log)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_protected_processes{workload="engine"} 1"#), metrics)
        // Its per-node memory in the metrics, from the cgroup (the engine's anonymous memory is
        // on some node: every node the kernel's numa_stat names has a line).
        XCTAssertTrue(metrics.contains(#"numaguard_watch_protected_memory_cgroup_processes{workload="engine"} 1"#), metrics)
        let anonLines = metrics.split(separator: "\n").filter { $0.hasPrefix(#"numaguard_watch_protected_memory_bytes{workload="engine","#) && $0.contains(#"type="anon""#) }
        XCTAssertEqual(anonLines.count, 2, "one line per node of the 2-node guest: \(metrics)")
        XCTAssertGreaterThan(anonLines.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +), 0, metrics)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_vmstat_available{field="numa_hint_faults"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_numa_miss_per_second{node="1"}"#), metrics)
        // Every transition counter agrees with the events the watch wrote: the scrape's with
        // those before it, the final textfile's (written at SIGTERM) with all of them.
        let textfile = try guest.text("textfile.prom")
        for regime in ["watch", "shock", "safe", "stable"] {
            func line(_ events: [[String: Any]]) -> String {
                "numaguard_watch_regime_transitions_total{to=\"\(regime)\"} \(events.filter { $0["to"] as? String == regime }.count)"
            }
            XCTAssertTrue(metrics.split(separator: "\n").contains { $0 == line(atScrape) }, "\(line(atScrape))\n\(metrics)")
            XCTAssertTrue(textfile.split(separator: "\n").contains { $0 == line(regimes) }, "\(line(regimes))\n\(textfile)")
        }
        XCTAssertEqual(regimes.filter { $0["to"] as? String == "safe" }.count, 1, "SAFE once, for the engine: \(log)")
        let finalRegime = regimes.last?["to"] as? String ?? "stable"
        XCTAssertTrue(textfile.contains("numaguard_watch_regime{regime=\"\(finalRegime)\"} 1"), textfile)
        XCTAssertEqual(try guest.text("prom-dir").split(separator: "\n").sorted(), [".", "..", "numaguard.prom"], "no temporary file left")
        try Promtool.checkMetrics(metrics)
        try Promtool.checkMetrics(textfile)
        try checkSamples(guest, regimes: regimes, textfile: textfile)
        try keepSeries(guest)
    }

    /// `--series`: one watch_sample line per sample but the first, microsecond timestamps that
    /// increase, every figure a number or null (the remote share is null in a window without
    /// hint faults), the regimes the events went through, the engine's placement change.
    private func checkSamples(_ guest: Guest, regimes: [[String: Any]], textfile: String) throws {
        let samples = try guest.text("samples.jsonl").split(separator: "\n").map { try Command.json(String($0)) }
        let total = try XCTUnwrap(textfile.split(separator: "\n").first { $0.hasPrefix("numaguard_watch_samples_total ") }
            .flatMap { Int($0.split(separator: " ")[1]) }, textfile)
        XCTAssertEqual(samples.count, total - 1, "a line per sample but the first (no window yet)")
        let names = ["hint_faults_per_s", "remote_fault_ratio", "pages_migrated_per_s", "balancing_migrated_per_s", "migration_failures_per_s",
                     "node0_numa_miss_per_s", "node1_numa_miss_per_s", "node0_numa_foreign_per_s", "node1_numa_foreign_per_s"]
        var times: [Double] = []
        for sample in samples {
            XCTAssertEqual(sample["format_version"] as? Int, 1)
            XCTAssertEqual(sample["kind"] as? String, "watch_sample")
            let time = try XCTUnwrap(sample["time"] as? String)
            XCTAssertNotNil(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"#, options: .regularExpression), time)
            times.append(try seconds(sample))
            let interval = try XCTUnwrap(sample["interval_s"] as? Double, "\(sample)")
            XCTAssertGreaterThan(interval, 0.5, "1 s windows (one may be longer: a slow sample): \(sample)")
            let figures = try XCTUnwrap(sample["figures"] as? [String: Any], "\(sample)")
            XCTAssertEqual(figures.keys.sorted(), names.sorted())
            for name in names where name != "remote_fault_ratio" {
                XCTAssertNotNil(figures[name] as? Double, "\(name) is available on 6.1 with balancing: \(sample)")
            }
            XCTAssertTrue(figures["remote_fault_ratio"] is Double || figures["remote_fault_ratio"] is NSNull, "\(sample)")
            let engine = try XCTUnwrap((sample["workloads"] as? [String: Any])?["engine"] as? [String: Any], "\(sample)")
            XCTAssertEqual(engine["processes"] as? Int, 1, "\(sample)")
        }
        XCTAssertEqual(times, times.sorted(), "timestamps increase")
        XCTAssertEqual(Set(times).count, times.count, "timestamps increase strictly")
        let seen = Set(samples.compactMap { $0["regime"] as? String })
        XCTAssertEqual(seen, Set(["stable"] + regimes.compactMap { $0["to"] as? String }), "the regimes the events went through")
        XCTAssertTrue(seen.contains("watch") || seen.contains("shock"), "\(seen)")
        XCTAssertTrue(samples.contains { ($0["figures"] as? [String: Any])?["remote_fault_ratio"] is Double }, "some window had hint faults")
        let placements = samples.compactMap { (($0["workloads"] as? [String: Any])?["engine"] as? [String: Any])?["placement"] as? String }
        XCTAssertTrue(placements.contains("changed"), "the engine's re-pin and page move: \(placements)")
        XCTAssertTrue(placements.contains("ok"), "\(placements)")
        XCTAssertFalse(placements.contains("absent"), "the engine ran throughout: \(placements)")
        let memory = try XCTUnwrap(((samples.last?["workloads"] as? [String: Any])?["engine"] as? [String: Any])?["memory"] as? [String: Any])
        XCTAssertEqual(memory["cgroup_processes"] as? Int, 1, "\(memory)")
        XCTAssertEqual((memory["anon_bytes"] as? [String: Any])?.keys.sorted(), ["node0", "node1"], "\(memory)")
    }

    func testWatchOnTheRTKernelWithoutBalancing() throws {
        let guest = try Guest.boot(.rt, .twoNode, script: Self.rtScript)
        XCTAssertEqual(try guest.text("rt.status").trimmingCharacters(in: .whitespacesAndNewlines), "0", (try? guest.text("rt.err")) ?? "")
        let metrics = try guest.text("rt.prom")
        XCTAssertTrue(metrics.contains(#"numaguard_watch_vmstat_available{field="numa_hint_faults"} 0"#), metrics)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_vmstat_available{field="pgmigrate_success"} 1"#), metrics)
        XCTAssertFalse(metrics.contains("numaguard_watch_hint_faults_per_second"), "unavailable, not 0")
        XCTAssertFalse(metrics.contains("numaguard_watch_numa_balancing "), "no such sysctl on RT")
        XCTAssertTrue(metrics.contains("numaguard_watch_pages_migrated_per_second"), metrics)
        XCTAssertTrue(metrics.contains(#"numaguard_watch_regime{regime="stable"} 1"#), metrics)
        XCTAssertTrue(metrics.contains("numaguard_watch_samples_total 5"), metrics)
        let events = try guest.text("rt-events.jsonl")
        XCTAssertFalse(events.contains("\"event\":\"unreadable\""), "absence is not unreadable: \(events)")
        try Promtool.checkMetrics(metrics)
    }

    private func seconds(_ event: [String: Any]) throws -> Double {
        let text = try XCTUnwrap(event["time"] as? String)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return try XCTUnwrap(formatter.date(from: text)).timeIntervalSince1970
    }

    /// NUMAGUARD_RECORD_WATCH_SERIES=DIR copies the recorded counter series out (how
    /// Tests/Fixtures/watch-series-6.1-2node was made); NUMAGUARD_RECORD_WATCH_SAMPLES=FILE copies
    /// the watch's --series lines out (how Tests/Fixtures/watch-sample-series-6.1-2node.jsonl was made).
    private func keepSeries(_ guest: Guest) throws {
        if let destination = ProcessInfo.processInfo.environment["NUMAGUARD_RECORD_WATCH_SAMPLES"] {
            try? FileManager.default.removeItem(atPath: destination)
            try FileManager.default.copyItem(at: guest.directory.appendingPathComponent("samples.jsonl"), to: URL(fileURLWithPath: destination))
            // The events beside it (FILE's .jsonl becomes .events.jsonl): what happened when.
            let events = destination.hasSuffix(".jsonl") ? String(destination.dropLast(6)) + ".events.jsonl" : destination + ".events"
            try? FileManager.default.removeItem(atPath: events)
            try FileManager.default.copyItem(at: guest.directory.appendingPathComponent("events.jsonl"), to: URL(fileURLWithPath: events))
        }
        guard let destination = ProcessInfo.processInfo.environment["NUMAGUARD_RECORD_WATCH_SERIES"] else { return }
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(at: guest.directory.appendingPathComponent("series"), to: URL(fileURLWithPath: destination))
        try FileManager.default.copyItem(at: guest.directory.appendingPathComponent("events.jsonl"),
                                         to: URL(fileURLWithPath: destination).appendingPathComponent("events.jsonl"))
    }
}
