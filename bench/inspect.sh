# Bench "inspect" (sourced by bench/run.sh; uses bench/lib.sh).
# Targets (DESIGN.md, tightened by issue 17): `inspect PID` of a process with 30k+ mappings is
# faster than `numastat -p PID` and costs at most 1.05x `cat /proc/PID/numa_maps` (the kernel's
# own walk), text and json, idle and with the other core busy. Three victims (bench/manymaps.c):
# `alike`, whose lines differ only in their addresses (numaguard does not parse again a line
# that repeats a recent one), `varied`, where no line repeats its neighbour but each repeats
# the line four before it (as a thread's guard page and stack alternate), and `distinct`, where
# no line repeats any of the nineteen before it, so every line is parsed in full, its memory
# policy included (the worst case).
#
# Needs: $NUMAGUARD (release binary), $BENCH_BUILD (scratch dir), $ROUNDS, $RUNS.

bench_inspect() {
    command -v numastat >/dev/null || { bench_log "inspect: numastat missing (apt-get install numactl)"; return 1; }
    cc -O2 -Wall -o "$BENCH_BUILD/manymaps" bench/manymaps.c
    local shape
    for shape in alike varied distinct; do
        bench_inspect_shape "$shape" || return 1
    done
}

bench_inspect_shape() {
    local shape=$1 mappings=${INSPECT_MAPPINGS:-32768}
    local ready="$BENCH_WORK/manymaps.out"
    rm -f "$ready"
    "$BENCH_BUILD/manymaps" "$mappings" "$shape" > "$ready" &
    MANYMAPS_PID=$!
    local waited=0
    until grep -q ready "$ready" 2>/dev/null; do
        kill -0 "$MANYMAPS_PID" 2>/dev/null || { bench_log "inspect: manymaps exited early"; return 1; }
        sleep 0.1; waited=$((waited + 1))
        [ "$waited" -lt 300 ] || { bench_log "inspect: manymaps not ready after 30 s"; return 1; }
    done
    local pid=$MANYMAPS_PID lines
    lines=$(wc -l < "/proc/$pid/numa_maps")
    bench_log "inspect: manymaps pid $pid has $lines numa_maps lines"
    if [ "$lines" -lt 30000 ]; then
        bench_log "inspect: fewer than 30000 mappings (vm.max_map_count=$(cat /proc/sys/vm/max_map_count))"
        return 1
    fi
    # A broken inspect would time an error path: check it works before timing it.
    "$NUMAGUARD" inspect "$pid" --format json > "$BENCH_WORK/inspect.json" \
        || { bench_log "inspect: numaguard inspect $pid failed"; return 1; }

    local json="$NUMAGUARD inspect $pid --format json"
    local text="$NUMAGUARD inspect $pid --format text"
    local numastat="numastat -p $pid"
    local cat="cat /proc/$pid/numa_maps"
    measure_set "inspect-$shape" "$ROUNDS" "$RUNS" \
        inspect-json "$json" inspect-text "$text" numastat "$numastat" cat "$cat"

    {
        echo "## inspect: one process with $lines mappings, $shape ($BENCH_LOAD)"
        echo
        echo "Commands alternate round by round ($ROUNDS rounds × $RUNS runs each, timer: $BENCH_TOOL); stdout to /dev/null."
        echo
        echo "| name | command | median ms | min ms | p90 ms | samples |"
        echo "|---|---|---|---|---|---|"
    } >> "$BENCH_MD"
    report_row "inspect-$shape" inspect-json "numaguard inspect PID --format json"
    report_row "inspect-$shape" inspect-text "numaguard inspect PID --format text"
    report_row "inspect-$shape" numastat "numastat -p PID"
    report_row "inspect-$shape" cat "cat /proc/PID/numa_maps"
    {
        echo
        echo "| target | ratio (paired rounds; of medians) | target | verdict |"
        echo "|---|---|---|---|"
    } >> "$BENCH_MD"
    local set="inspect-$shape"
    target_paired "inspect json / numastat -p ($shape)" "$set" inspect-json numastat 1.0 1
    target_paired "inspect text / numastat -p ($shape)" "$set" inspect-text numastat 1.0 1
    target_paired "inspect json / cat numa_maps ($shape)" "$set" inspect-json cat 1.05
    target_paired "inspect text / cat numa_maps ($shape)" "$set" inspect-text cat 1.05
    echo >> "$BENCH_MD"

    kill "$MANYMAPS_PID" 2>/dev/null; wait "$MANYMAPS_PID" 2>/dev/null || true
    MANYMAPS_PID=
}
