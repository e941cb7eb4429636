# Bench "interrupts" (sourced by bench/run.sh; uses bench/lib.sh).
# What watch pays to read /proc/interrupts every interval for a policy with host.isolation or a
# CPU reservation. Two watches of INTERRUPTS_SAMPLES (default 200) samples 10 ms apart differ
# only in the policy: host.isolation (the file streamed, parsed and compared every sample; no
# reservation, so no thread scan) or nothing. (with - without) / samples is one interval's
# read, as a ratio to `cat /proc/interrupts` (the whole program: exec, read, write) timed in
# the same run. Target: at most 1x (one interval's read costs no more than one cat).
#
# Needs: $NUMAGUARD (release binary), $ROUNDS, $RUNS.

bench_interrupts() {
    local samples=${INTERRUPTS_SAMPLES:-200} last
    last=$(awk -F'[-,]' '{ print $NF }' /sys/devices/system/cpu/online)
    printf 'version: 1\nwatch: {interval: 10ms}\n' > "$BENCH_WORK/interrupts-plain.yaml"
    printf 'version: 1\nhost:\n  isolation: {nohz_full: "%s"}\nwatch: {interval: 10ms}\n' "$last" > "$BENCH_WORK/interrupts-isolated.yaml"
    # A watch that refused the policy would time an error path: check both run their samples.
    local policy
    for policy in plain isolated; do
        "$NUMAGUARD" watch --policy "$BENCH_WORK/interrupts-$policy.yaml" --count 2 --textfile "$BENCH_WORK/interrupts-$policy.prom" \
            >/dev/null 2>&1 || { bench_log "interrupts: watch with the $policy policy failed"; return 1; }
    done
    grep -q '^numaguard_watch_reserved_interrupts_total' "$BENCH_WORK/interrupts-isolated.prom" \
        || { bench_log "interrupts: the isolated policy did not read /proc/interrupts"; return 1; }

    measure_set interrupts "$ROUNDS" "$RUNS" \
        isolated "$NUMAGUARD watch --policy $BENCH_WORK/interrupts-isolated.yaml --count $samples" \
        plain "$NUMAGUARD watch --policy $BENCH_WORK/interrupts-plain.yaml --count $samples" \
        cat "cat /proc/interrupts"

    # CPU (user + system) besides wall time: sleeping dominates a watch's wall clock.
    local cpu_with=0 cpu_without=0 run
    cpu() {
        local TIMEFORMAT='%3U %3S' spent
        spent=$( { time "$NUMAGUARD" watch --policy "$1" --count "$samples" >/dev/null 2>&1; } 2>&1 )
        awk -v t="$spent" 'BEGIN { split(t, p, " "); printf "%.3f", p[1] + p[2] }'
    }
    for ((run = 0; run < RUNS; run++)); do
        cpu_with=$(awk -v a="$cpu_with" -v b="$(cpu "$BENCH_WORK/interrupts-isolated.yaml")" 'BEGIN { print a + b }')
        cpu_without=$(awk -v a="$cpu_without" -v b="$(cpu "$BENCH_WORK/interrupts-plain.yaml")" 'BEGIN { print a + b }')
    done
    local cpu_per
    cpu_per=$(awk -v a="$cpu_with" -v b="$cpu_without" -v n=$((samples * RUNS)) 'BEGIN { printf "%.1f", 1e6 * (a - b) / n }')
    local with without cat per
    with=$(median interrupts isolated); without=$(median interrupts plain); cat=$(median interrupts cat)
    per=$(awk -v a="$with" -v b="$without" -v n="$samples" 'BEGIN { d = (a - b) / n; printf "%.6f", (d > 0 ? d : 0) }')
    bench_log "interrupts: $samples samples with host.isolation ${with}s, without ${without}s: ${per}s per interval; cat ${cat}s"
    {
        echo "## interrupts: watch reading /proc/interrupts every interval ($BENCH_LOAD)"
        echo
        echo "Two watches of $samples samples 10 ms apart, with and without host.isolation; commands alternate round by round ($ROUNDS rounds × $RUNS runs, timer: $BENCH_TOOL). /proc/interrupts here: $(wc -l < /proc/interrupts) lines, $(wc -c < /proc/interrupts) bytes."
        echo
        echo "| name | command | median ms | min ms | p90 ms | samples |"
        echo "|---|---|---|---|---|---|"
    } >> "$BENCH_MD"
    report_row interrupts isolated "numaguard watch (host.isolation) --count $samples"
    report_row interrupts plain "numaguard watch (no isolation) --count $samples"
    report_row interrupts cat "cat /proc/interrupts"
    {
        echo
        echo "One interval's read: $(awk -v p="$per" 'BEGIN { printf "%.3f", p * 1000 }') ms wall (difference of medians / $samples; 0 when within noise); ${cpu_per} µs of CPU (user+system, $RUNS runs of each, bash time)."
        echo
        echo "| target | ratio (medians) | target | verdict |"
        echo "|---|---|---|---|"
    } >> "$BENCH_MD"
    target "watch's /proc/interrupts read per interval / cat" "$per" "$cat" 1
    echo >> "$BENCH_MD"
}
