#!/usr/bin/env bash
# bench/stall: does watching a protected process stall it? (issue 13's proof)
#
#   bench/stall/run.sh [--no-build] [--numaguard PATH]
#   env: DURATION=300 ROUNDS=1 MAPS=32768 PERIOD_US=200 VCPU=0 VICTIM_PRIO=50
#        AUDIT_INTERVAL=1 OUT=bench/results/stall/<time> NUMAGUARD=PATH
#
# The victim (bench/mmaplock/victim.c, built here as `stall-victim`) holds MAPS one-page
# mappings and every PERIOD_US does mmap + write + munmap, timing each iteration itself. It
# is run three ways, each a fresh victim measured for DURATION seconds:
#   alone  nothing else;
#   watch  `numaguard watch --policy bench/stall/policy.yaml --interval 1s`, which protects it;
#   audit  `numaguard audit --policy bench/stall/policy.yaml` started every AUDIT_INTERVAL
#          seconds (0: back to back); the policy's memory section makes it read numa_maps.
# Every round runs the three in a new random order, so background load falls on all alike.
# The victim runs in a dedicated memory cgroup (created here, removed at exit: that is how
# watch gets its per-node memory without numa_maps), started with `numaguard run -m 0 -C VCPU`
# under SCHED_FIFO VICTIM_PRIO (so other load on a shared machine does not preempt it);
# numaguard runs SCHED_OTHER on any CPU, as a monitor would.
#
# With perf and tracefs, the kernel's mmap_lock:mmap_lock_acquire_returned tracepoint,
# filtered on the victim's memory cgroup id, is counted in the monitor's processes (how many
# times watch, or the audits, took the victim's mmap lock) and recorded for every other task
# during the measurement (with times: anything on a shared machine that reads the victim's
# numa_maps or cmdline, other people's tools included). Each iteration over 1 ms is then
# classed by the victim (blocked, preempted, stolen, running: see victim.c) and matched with
# those takes. tracefs, when not mounted, is mounted in a private mount namespace
# (unshare -m) that the rest of the machine never sees.
#
# Prints and writes OUT/table.md: p50, p99, p99.9, max (µs), iterations over 1 ms per
# configuration, and the verdict against the target (under watch: no iteration over 1 ms
# and p99.9 at most 1.1× alone's); OUT/runs.tsv has every run, OUT/roundN-CONFIG/ its files
# (victim.out, slow.txt: iterations over 100 µs; anyone.txt: other tasks' takes; watch's
# events and textfile; audits.log). Exits 0 whatever the verdict; non-zero when it cannot run.
# Changes nothing on the host but the temporary cgroup (and vm.max_map_count, restored at
# exit, only if it is below MAPS + 1000).
set -euo pipefail

# perf counts tracepoints through tracefs: mount it where only this script sees it.
if [ "$(id -u)" = 0 ] && command -v perf >/dev/null 2>&1 && [ ! -d /sys/kernel/tracing/events/mmap_lock ] && [ -z "${STALL_NS:-}" ]; then
    if unshare -m true 2>/dev/null; then
        exec env STALL_NS=1 unshare -m bash -c 'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec "$0" "$@"' "$0" "$@"
    fi
fi

build=1
NUMAGUARD=${NUMAGUARD:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0; shift ;;
        --numaguard) NUMAGUARD=${2:?}; build=0; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "bench/stall/run.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ "$(id -u)" = 0 ] || { echo "bench/stall/run.sh: needs root (cgroup, SCHED_FIFO)" >&2; exit 77; }

DURATION=${DURATION:-300}
ROUNDS=${ROUNDS:-1}
MAPS=${MAPS:-32768}
PERIOD_US=${PERIOD_US:-200}
VCPU=${VCPU:-0}
VICTIM_PRIO=${VICTIM_PRIO:-50}
AUDIT_INTERVAL=${AUDIT_INTERVAL:-1}
OUT=${OUT:-bench/results/stall/$(date -u +%Y%m%dT%H%M%SZ)}
POLICY="$root/bench/stall/policy.yaml"
CG_NAME=numaguard-stall

log() { printf 'stall: %s\n' "$*" >&2; }

if [ "$build" = 1 ]; then
    log "scripts/build-release"
    NUMAGUARD=$(scripts/build-release)
fi
NUMAGUARD=${NUMAGUARD:-$root/.build/release/numaguard}
[ -x "$NUMAGUARD" ] || { echo "bench/stall/run.sh: $NUMAGUARD missing (drop --no-build, or --numaguard PATH)" >&2; exit 1; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
cc -O2 -o "$WORK/stall-victim" bench/mmaplock/victim.c
VICTIM="$WORK/stall-victim"

# --- state the cleanup undoes --------------------------------------------------------------
CG=
MAXMAP_BEFORE=
SUBTREE_ENABLED=
VPID= MPID= STOPFILE= ANYONE=
cleanup() {
    set +e
    [ -n "$STOPFILE" ] && touch "$STOPFILE"
    [ -n "$ANYONE" ] && kill -TERM $(pgrep -P "$ANYONE") "$ANYONE" 2>/dev/null
    [ -n "$VPID" ] && kill -KILL "$VPID" 2>/dev/null
    [ -n "$MPID" ] && kill -TERM "$MPID" 2>/dev/null
    wait 2>/dev/null
    if [ -n "$CG" ] && [ -d "$CG" ]; then
        local i
        for i in 1 2 3 4 5 6 7 8 9 10; do rmdir "$CG" 2>/dev/null && break; sleep 0.5; done
        [ -d "$CG" ] && log "could not remove $CG (still has: $(tr '\n' ' ' < "$CG/cgroup.procs"))"
    fi
    [ -n "$SUBTREE_ENABLED" ] && { echo "-memory" > "$SUBTREE_ENABLED" 2>/dev/null || log "could not disable memory in $SUBTREE_ENABLED again"; }
    [ -n "$MAXMAP_BEFORE" ] && sysctl -q -w vm.max_map_count="$MAXMAP_BEFORE"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- vm.max_map_count ------------------------------------------------------------------------
maxmap=$(cat /proc/sys/vm/max_map_count)
if [ "$maxmap" -lt $((MAPS + 1000)) ]; then
    log "vm.max_map_count $maxmap < $((MAPS + 1000)): raising it for the run (restored at exit)"
    MAXMAP_BEFORE=$maxmap
    sysctl -q -w vm.max_map_count=$((MAPS + 1000))
fi

# --- the memory cgroup: v1 memory controller (v1 or hybrid), else v2 ------------------------
v1=$(awk '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == "memory") { print $2; exit } }' /proc/self/mounts)
if [ -n "$v1" ]; then
    CG_LAYOUT="cgroup v1 memory controller at $v1"
    cg_parent=$v1
else
    v2=
    for m in $(awk '$3 == "cgroup2" { print $2 }' /proc/self/mounts); do
        if grep -qw memory "$m/cgroup.controllers" 2>/dev/null; then v2=$m; break; fi
    done
    [ -n "$v2" ] || { echo "bench/stall/run.sh: no memory cgroup controller is mounted (v1 or v2)" >&2; exit 69; }
    CG_LAYOUT="cgroup v2 at $v2"
    if ! grep -qw memory "$v2/cgroup.subtree_control"; then
        echo "+memory" > "$v2/cgroup.subtree_control" || { echo "bench/stall/run.sh: cannot enable memory in $v2/cgroup.subtree_control" >&2; exit 69; }
        SUBTREE_ENABLED="$v2/cgroup.subtree_control"
        CG_LAYOUT="$CG_LAYOUT (memory enabled in its subtree_control for the run)"
    fi
    cg_parent=$v2
fi
# Set only once made here: the cleanup must never remove a cgroup another run made.
mkdir "$cg_parent/$CG_NAME" || { echo "bench/stall/run.sh: cannot create $cg_parent/$CG_NAME (another run of this bench? an empty one left over can be removed with rmdir)" >&2; exit 69; }
CG="$cg_parent/$CG_NAME"
[ -f "$CG/memory.numa_stat" ] || { echo "bench/stall/run.sh: $CG has no memory.numa_stat" >&2; exit 69; }
CG_ID=$(stat -c %i "$CG")

LOCKS=0
if command -v perf >/dev/null 2>&1 && [ -d /sys/kernel/tracing/events/mmap_lock ]; then LOCKS=1; fi

# --- one run -------------------------------------------------------------------------------
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# Time the hypervisor ran something else on the victim's CPU (ticks): a stall no process made.
cpu_steal() { awk -v c="cpu$VCPU" '$1 == c { print $9 }' /proc/stat; }

# Runs CMD under perf stat counting takes of the victim's mmap lock (when it can) in the
# background; MPID is CMD's (or perf's) PID, and `monitor_pid` finds CMD under perf.
start_monitor() { # start_monitor DIR NAME CMD...
    local dir=$1 name=$2; shift 2
    if [ "$LOCKS" = 1 ]; then
        perf stat -x, -o "$dir/$name.perf" -e mmap_lock:mmap_lock_acquire_returned --filter "memcg_id == $CG_ID" \
            -- "$@" > "$dir/$name.stdout" 2> "$dir/$name.stderr" &
    else
        "$@" > "$dir/$name.stdout" 2> "$dir/$name.stderr" &
    fi
    MPID=$!
}
monitor_pid() { # the monitored command's PID (perf's child, or MPID itself)
    if [ "$LOCKS" = 1 ]; then
        local i child
        for i in $(seq 1 100); do
            child=$(pgrep -P "$MPID" | head -n1 || true)
            [ -n "$child" ] && { echo "$child"; return; }
            sleep 0.05
        done
    else
        echo "$MPID"
    fi
}
# Stalls (iterations over 1 ms) explained by a take of the victim's mmap lock by another task
# within [start - 5 ms, end] (a numa_maps or cmdline read in progress): "MON OTHER", the
# takes by numaguard's own processes (DIR/monitor.pids) and by anyone else; "- -" if not known.
attribute() { # attribute DIR
    local dir=$1
    [ -f "$dir/anyone.txt" ] && [ -f "$dir/slow.txt" ] || { echo "- -"; return; }
    touch "$dir/monitor.pids"
    awk 'FILENAME == ARGV[1] { mon[$1] = 1; next }
         FILENAME == ARGV[2] { t[++n] = $NF * 1e9; who[n] = ($(NF - 1) in mon) ? "m" : "o"; next }
         $2 > 1000000 {
             a = $1 - 5e6; b = $1 + $2; m = 0; o = 0
             while (i < n && t[i + 1] < a) i++
             for (j = i + 1; j <= n && t[j] <= b; j++) { if (who[j] == "m") m = 1; else o = 1 }
             if (m) nm++; else if (o) no++
         }
         END { printf "%d %d\n", nm, no }' "$dir/monitor.pids" "$dir/anyone.txt" "$dir/slow.txt"
}
lock_count() { # takes of the victim's mmap lock counted in DIR/NAME.perf (or .txt), or "-"
    if [ -f "$1/$2.txt" ]; then wc -l < "$1/$2.txt" | tr -d ' '; return; fi
    [ -f "$1/$2.perf" ] || { echo -; return; }
    awk -F, '/mmap_lock_acquire_returned/ { print $1; found = 1 } END { if (!found) print "-" }' "$1/$2.perf"
}

# Audits started every AUDIT_INTERVAL seconds until STOPFILE exists; one line per audit
# (elapsed seconds, exit status, PID) in LOG. An audit that finds a violation exits 1 by design.
audit_loop() { # audit_loop STOPFILE LOG
    local stop=$1 out=$2 start end rc next pid
    while [ ! -e "$stop" ]; do
        start=$EPOCHREALTIME
        "$NUMAGUARD" audit --policy "$POLICY" --format json > "$out.last.json" 2>> "$out.stderr" &
        pid=$!
        rc=0; wait "$pid" || rc=$?
        end=$EPOCHREALTIME
        awk -v a="$start" -v b="$end" -v rc="$rc" -v pid="$pid" 'BEGIN { printf "%.6f %d %d\n", b - a, rc, pid }' >> "$out"
        next=$(awk -v a="$start" -v b="$EPOCHREALTIME" -v i="$AUDIT_INTERVAL" 'BEGIN { w = a + i - b; printf "%.3f", (w > 0) ? w : 0 }')
        [ "$next" != 0.000 ] && sleep "$next"
    done
}
export -f audit_loop
export NUMAGUARD POLICY AUDIT_INTERVAL

one_run() { # one_run ROUND CONFIG
    local round=$1 config=$2 dir="$OUT/round$1-$2"
    mkdir -p "$dir"
    # Into the cgroup before exec, so everything the victim maps is charged there.
    ( echo "$BASHPID" > "$CG/cgroup.procs"
      SLOW="$dir/slow.txt" exec chrt -f "$VICTIM_PRIO" "$NUMAGUARD" run -m 0 -C "$VCPU" -- "$VICTIM" "$MAPS" "$DURATION" "$PERIOD_US"
    ) > "$dir/victim.out" 2> "$dir/victim.stderr" &
    VPID=$!
    local i=0
    until grep -q ready "$dir/victim.out" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 1200 ] || { echo "bench/stall/run.sh: victim did not start: $(cat "$dir/victim.stderr")" >&2; exit 1; }
        kill -0 "$VPID" 2>/dev/null || { echo "bench/stall/run.sh: victim exited: $(cat "$dir/victim.stderr")" >&2; exit 1; }
        sleep 0.05
    done
    grep -q ":/$CG_NAME\$" "/proc/$VPID/cgroup" || { echo "bench/stall/run.sh: victim $VPID is not in $CG" >&2; exit 1; }
    local note=- monitor=-
    case $config in
        alone) ;;
        watch)
            start_monitor "$dir" watch "$NUMAGUARD" watch --policy "$POLICY" --interval 1s \
                --events "$dir/watch.events.jsonl" --textfile "$dir/watch.prom"
            # Measure once watch has found the victim and its cgroup (its first sample).
            i=0
            until grep -q "per-node memory from its memory.numa_stat" "$dir/watch.events.jsonl" 2>/dev/null; do
                i=$((i + 1)); [ $i -lt 600 ] || { log "watch did not report the victim's cgroup within 30 s (see $dir/watch.stderr)"; break; }
                sleep 0.05
            done
            ;;
        audit)
            STOPFILE="$dir/.stop"
            start_monitor "$dir" audit bash -c 'audit_loop "$1" "$2"' audit_loop "$STOPFILE" "$dir/audits.log"
            ;;
    esac
    # Every take of the victim's mmap lock by any other task on the machine in the window,
    # with its time (CLOCK_MONOTONIC, as the victim's SLOW file) and PID.
    ANYONE=
    if [ "$LOCKS" = 1 ]; then
        perf record -q -a -k CLOCK_MONOTONIC -o "$dir/anyone.data" -e mmap_lock:mmap_lock_acquire_returned \
            --filter "memcg_id == $CG_ID && common_pid != $VPID" -- sleep $((DURATION + 60)) > "$dir/anyone.stderr" 2>&1 &
        ANYONE=$!
        sleep 0.5
    fi
    local load_start steal_start
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    steal_start=$(cpu_steal)
    kill -USR1 "$VPID"
    wait "$VPID" || { echo "bench/stall/run.sh: victim failed: $(cat "$dir/victim.stderr")" >&2; exit 1; }
    VPID=
    if [ -n "$ANYONE" ]; then
        # perf stat ends (and writes its count) when its workload, the sleep, does; a
        # background job ignores SIGINT.
        kill -TERM $(pgrep -P "$ANYONE") 2>/dev/null || kill -TERM "$ANYONE" 2>/dev/null || true
        wait "$ANYONE" || true
        ANYONE=
        perf script -i "$dir/anyone.data" -F comm,pid,time 2>/dev/null | sed 's/:[[:space:]]*$//' > "$dir/anyone.txt" || true
        rm -f "$dir/anyone.data"
    fi
    local load_end steal_ms
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    steal_ms=$(( ($(cpu_steal) - steal_start) * 1000 / $(getconf CLK_TCK) ))
    case $config in
        watch)
            monitor_pid > "$dir/monitor.pids"
            kill -TERM "$(cat "$dir/monitor.pids")" 2>/dev/null || true
            wait "$MPID" || true
            MPID=
            monitor="$(awk '/^numaguard_watch_samples_total/ { print $2 }' "$dir/watch.prom") samples"
            if grep -q "per-node memory from its memory.numa_stat" "$dir/watch.events.jsonl"; then note=numa_stat; else note=no-numa_stat; fi
            if grep -q '"numa_maps":"on"' "$dir/watch.events.jsonl"; then note="$note,numa_maps-on"; fi
            ;;
        audit)
            touch "$STOPFILE"
            wait "$MPID" || true
            awk '{ print $3 }' "$dir/audits.log" > "$dir/monitor.pids"
            MPID= STOPFILE=
            monitor=$(awk '{ n++; s += $1; if ($1 > m) m = $1; if ($2 > 1) bad++ } END { printf "%d audits, mean %.0f ms, max %.0f ms", n, s / n * 1000, m * 1000; if (bad) printf ", %d exited >1", bad }' "$dir/audits.log")
            ;;
    esac
    local locks attribution
    locks=$(lock_count "$dir" "$config")
    attribution=$(attribute "$dir")
    local vline
    vline=$(grep iters= "$dir/victim.out")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$config" \
        "$(kv iters "$vline")" "$(kv p50_us "$vline")" "$(kv p99_us "$vline")" "$(kv p999_us "$vline")" "$(kv max_us "$vline")" \
        "$(kv over1ms "$vline")" "$(kv over100us "$vline")" "$(kv late "$vline")" \
        "$locks" "$monitor" "$note" "$load_start" "$load_end" "$(kv nivcsw "$vline")" "$steal_ms" \
        "$(kv over1ms_blocked "$vline")" "$(kv over1ms_preempted "$vline")" "$(kv over1ms_stolen "$vline")" "$(kv over1ms_running "$vline")" \
        "$(lock_count "$dir" anyone)" "${attribution% *}" "${attribution#* }" >> "$OUT/runs.tsv"
    log "round $round $config: $vline steal_ms=$steal_ms | stalls during a lock take by numaguard, by another task: $attribution | victim mmap-lock takes by any task but the victim: $(lock_count "$dir" anyone), by numaguard: $locks | $monitor | load $load_start -> $load_end"
}

# --- the runs ------------------------------------------------------------------------------
{
    echo "# bench/stall: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs, kernel $(uname -r), NUMA nodes online: $(cat /sys/devices/system/node/online 2>/dev/null || echo '?')"
    echo "- $CG_LAYOUT; victim cgroup $CG (id $CG_ID)"
    echo "- victim: $MAPS mappings, mmap+write+munmap every ${PERIOD_US} µs for ${DURATION} s, SCHED_FIFO $VICTIM_PRIO on CPU $VCPU, \`numaguard run -m 0 -C $VCPU\`; numaguard SCHED_OTHER, any CPU"
    echo "- watch: \`numaguard watch --policy bench/stall/policy.yaml --interval 1s\`; audit: \`numaguard audit --policy bench/stall/policy.yaml\` every ${AUDIT_INTERVAL} s"
    echo "- rounds: $ROUNDS (order shuffled per round); mmap-lock counting: $([ "$LOCKS" = 1 ] && echo "perf, tracepoint filtered on memcg_id == $CG_ID" || echo unavailable)"
} > "$OUT/header.md"
cat "$OUT/header.md" >&2
printf 'round\tconfig\titers\tp50_us\tp99_us\tp999_us\tmax_us\tover1ms\tover100us\tlate\tvictim_locks\tmonitor\tnote\tload_start\tload_end\tnivcsw\tsteal_ms\tover1ms_blocked\tover1ms_preempted\tover1ms_stolen\tover1ms_running\tlocks_by_anyone\tover1ms_by_numaguard_reads\tover1ms_by_other_reads\n' > "$OUT/runs.tsv"
for ((round = 1; round <= ROUNDS; round++)); do
    for config in $(printf 'alone\nwatch\naudit\n' | shuf); do
        log "round $round/$ROUNDS: $config for ${DURATION} s ($(date -u +%H:%M:%S))"
        one_run "$round" "$config"
    done
done

# --- the table -----------------------------------------------------------------------------
awk -F'\t' -v rounds="$ROUNDS" -v vcpu="$VCPU" '
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    NR == 1 { next }
    {
        c = $2; seen[c] = 1
        it[c] = it[c] " " $3; p50[c] = p50[c] " " $4; p99[c] = p99[c] " " $5; p999[c] = p999[c] " " $6; mx[c] = mx[c] " " $7
        over[c] += $8; o100[c] += $9; late[c] += $10; iters[c] += $3; nivcsw[c] += $16; steal[c] += $17
        ob[c] += $18; op[c] += $19; os[c] += $20; or[c] += $21
        if ($22 != "-") { others[c] += $22; hasothers[c] = 1 }
        if ($23 != "-" && $23 != "") { am[c] += $23; ao[c] += $24; hasattr[c] = 1 }
        row[NR] = sprintf("| %s | %s | %s | %s | %s | %s | %s (%s/%s/%s/%s) | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s |", $1, c, $4, $5, $6, $7, $8, $18, $19, $20, $21, $23, $24, $9, $3, $10, $16, $17, ($11 == "-" ? "–" : $11), $22, substr($14, 1, index($14 " ", " ") - 1))
        if ($11 != "-") { locks[c] += $11; haslocks[c] = 1 }
        if ($12 != "-") mon[c] = (mon[c] == "" ? "" : mon[c] "; ") $12
        if ($7 + 0 > worst[c]) worst[c] = $7 + 0
    }
    END {
        agg = (rounds > 1) ? "median of " rounds " rounds; counts summed" : "one run each"
        printf "| configuration (%s) | p50 µs | p99 µs | p99.9 µs | max µs | > 1 ms (blocked/preempted/stolen/running) | of them during a take of its lock by numaguard / by another task | > 100 µs | iterations | late wake-ups | preempted | CPU %d steal ms | victim mmap-lock takes: by numaguard | by any task but the victim (numaguard too) | numaguard |\n", agg, vcpu
        print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        split("alone watch audit", order, " ")
        for (k = 1; k <= 3; k++) {
            c = order[k]; if (!(c in seen)) continue
            printf "| %s | %.1f | %.1f | %.1f | %.1f | %d (%d/%d/%d/%d) | %s | %d | %d | %d | %d | %d | %s | %s | %s |\n", c, median(p50[c]), median(p99[c]), median(p999[c]),
                (rounds > 1 ? worst[c] : median(mx[c])), over[c], ob[c], op[c], os[c], or[c], (hasattr[c] ? am[c] " / " ao[c] : "not known"), o100[c], iters[c], late[c], nivcsw[c], steal[c], (c == "alone" ? "–" : (haslocks[c] ? locks[c] : "not counted")),
                (hasothers[c] ? others[c] : "not counted"), (mon[c] == "" ? "–" : mon[c])
        }
        print ""
        if (("alone" in seen) && ("watch" in seen)) {
            r = median(p999["watch"]) / median(p999["alone"])
            v1 = (over["watch"] == 0) ? "MET" : "MISSED"
            v2 = (r <= 1.1) ? "MET" : "MISSED"
            print "| target (under watch) | measured | verdict |"
            print "|---|---|---|"
            printf "| no iteration over 1 ms | %d (blocked %d, preempted %d, stolen %d, running %d; during a take of its mmap lock by watch %s, by another task %s) | **%s** |\n", over["watch"], ob["watch"], op["watch"], os["watch"], or["watch"], (hasattr["watch"] ? am["watch"] : "?"), (hasattr["watch"] ? ao["watch"] : "?"), v1
            printf "| p99.9 within 1.1× alone | %.2f× (%.1f / %.1f µs) | **%s** |\n", r, median(p999["watch"]), median(p999["alone"]), v2
            if ("audit" in seen) printf "| (audit, for comparison) p99.9 vs alone; over 1 ms | %.2f×; %d | reported, no target |\n", median(p999["audit"]) / median(p999["alone"]), over["audit"]
        }
        if (rounds > 1) {
            print ""
            print "Every run, in the order run:"
            print ""
            print "| round | configuration | p50 µs | p99 µs | p99.9 µs | max µs | > 1 ms (b/p/s/r) | of them in a take by numaguard / another | > 100 µs | iterations | late | preempted | steal ms | lock takes by numaguard | by any task | load (1 min) at start |"
            print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
            for (i = 2; i <= NR; i++) print row[i]
        }
    }' "$OUT/runs.tsv" > "$OUT/table.body.md"
{ cat "$OUT/header.md"; echo; cat "$OUT/table.body.md"; } > "$OUT/table.md"
rm -f "$OUT/table.body.md"
echo
cat "$OUT/table.md"
log "results in $OUT"
