# Bench "audit" (sourced by bench/run.sh; uses bench/lib.sh).
# Target (issue 17; DESIGN.md said 0.05): an audit of 1000 processes with 5 workloads costs at
# most 0.03x a loop of `numastat -p` over the same processes (what a script does without
# numaguard), and the ratio holds as the host grows: the curve at 100, 1,000 and 10,000
# processes (AUDIT_CURVE="100 1000 10000"; the 10,000 point runs at most 2 rounds).
# The host runs 1000 processes; each of the 5 workloads claims one of them and has CPU and
# memory checks (so its numa_maps is read), the rest are matched against every rule and
# checked for forbidden names, as on a real host.
#
# Needs: $NUMAGUARD (release binary), $BENCH_WORK, $ROUNDS, $RUNS.

bench_audit() {
    local count
    for count in ${AUDIT_CURVE:-${AUDIT_PROCESSES:-100 1000 10000}}; do
        bench_audit_at "$count" || return 1
    done
}

bench_audit_at() {
    local count=$1 group rounds=$ROUNDS
    [ "$count" -lt 10000 ] || rounds=$(( ROUNDS < 2 ? ROUNDS : 2 ))
    command -v numastat >/dev/null || { bench_log "audit: numastat missing (apt-get install numactl)"; return 1; }
    # Sleepers with distinct, self-limiting durations: the five workload processes are told
    # apart by command line, and nothing outlives the bench for long.
    : > "$BENCH_WORK/audit.pids"
    for group in 1 2 3 4 5; do
        sleep "900.$group" &
        echo $! >> "$BENCH_WORK/audit.pids"
    done
    for _ in $(seq $((count - 5))); do
        sleep 900.9 &
        echo $! >> "$BENCH_WORK/audit.pids"
    done
    local policy="$BENCH_WORK/audit.yaml"
    {
        echo "version: 1"
        echo "host: {kernel: {numa_balancing: off}, forbid_processes: [numad]}"
        echo "workloads:"
        for group in 1 2 3 4 5; do
            echo "  - name: group$group"
            echo "    match: {cmdline: \"^sleep 900[.]$group\$\"}"
            echo "    running: {min: 1, max: 1}"
            echo "    cpus: {nodes: [0]}"
            echo "    memory: {policy: default}"
        done
    } > "$policy"
    local pids
    pids=$(tr '\n' ' ' < "$BENCH_WORK/audit.pids")
    # A broken audit would time an error path: it must run and judge all five groups.
    local status=0
    "$NUMAGUARD" audit --policy "$policy" --format json > "$BENCH_WORK/audit.json" || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
        bench_log "audit: numaguard audit exited $status"; kill $pids 2>/dev/null; return 1
    fi
    local running
    running=$(grep -c '"check" : "workload.group[1-5].running"' "$BENCH_WORK/audit.json" || true)
    [ "$running" -eq 5 ] || { bench_log "audit: expected 5 running checks, found $running"; kill $pids 2>/dev/null; return 1; }
    bench_log "audit: $count processes in 5 workloads"

    local audit="$NUMAGUARD audit --policy $policy --format json"
    local loop="bash -c 'for p in $pids; do numastat -p \$p; done'"
    measure_set audit "$rounds" 1 audit "$audit" numastat-loop "$loop"

    {
        echo "## audit: $count processes, 5 workloads ($BENCH_LOAD)"
        echo
        echo "Commands alternate round by round ($rounds rounds, 1 run each, timer: $BENCH_TOOL); stdout to /dev/null."
        echo
        echo "| name | command | median ms | min ms | p90 ms | samples |"
        echo "|---|---|---|---|---|---|"
    } >> "$BENCH_MD"
    report_row audit audit "numaguard audit --policy P (5 workloads)"
    report_row audit numastat-loop "for p in PIDS; do numastat -p \$p; done"
    {
        echo
        echo "| target | ratio (medians) | target | verdict |"
        echo "|---|---|---|---|"
    } >> "$BENCH_MD"
    target "audit / numastat -p loop, $count processes" "$(median audit audit)" "$(median audit numastat-loop)" 0.03
    echo >> "$BENCH_MD"
    kill $pids 2>/dev/null
    wait $pids 2>/dev/null || true
}
