# Bench "launch" (sourced by bench/run.sh; uses bench/lib.sh).
# Target (issue 17; DESIGN.md said 1.15x): `numaguard run -m 0 -N 0 -- /bin/true` at or below
# 1.0x `numactl -m 0 -N 0 /bin/true`, medians in the same run, idle and with the other core busy. Both exec /bin/true, so the ratio is
# the whole launch: start-up, checks, set_mempolicy, sched_setaffinity, read-back, exec.
#
# Needs: $NUMAGUARD (release binary), $ROUNDS, $RUNS.

bench_launch() {
    command -v numactl >/dev/null || { bench_log "launch: numactl missing (apt-get install numactl)"; return 1; }
    # A broken run would time an error path: check it applies the placement before timing it.
    local shown
    shown=$("$NUMAGUARD" run -m 0 -N 0 -- "$NUMAGUARD" run --show) \
        || { bench_log "launch: numaguard run -m 0 -N 0 failed"; return 1; }
    printf '%s\n' "$shown" | grep -q '^policy: bind' \
        || { bench_log "launch: numaguard run -m 0 did not bind: $shown"; return 1; }

    # Each launch is about a millisecond: many more runs per round than the slower benches.
    measure_set launch "$ROUNDS" $((RUNS * 20)) \
        numaguard "$NUMAGUARD run -m 0 -N 0 -- /bin/true" \
        numactl "numactl -m 0 -N 0 /bin/true" \
        true "/bin/true"

    {
        echo "## launch: numaguard run vs numactl, both exec /bin/true ($BENCH_LOAD)"
        echo
        echo "Commands alternate round by round ($ROUNDS rounds × $((RUNS * 20)) runs each, timer: $BENCH_TOOL)."
        echo
        echo "| name | command | median ms | min ms | p90 ms | samples |"
        echo "|---|---|---|---|---|---|"
    } >> "$BENCH_MD"
    report_row launch numaguard "numaguard run -m 0 -N 0 -- /bin/true"
    report_row launch numactl "numactl -m 0 -N 0 /bin/true"
    report_row launch true "/bin/true (the exec'd program alone)"
    {
        echo
        echo "| target | ratio (paired rounds; of medians) | target | verdict |"
        echo "|---|---|---|---|"
    } >> "$BENCH_MD"
    target_paired "numaguard run / numactl" launch numaguard numactl 1.0
    echo >> "$BENCH_MD"
}
