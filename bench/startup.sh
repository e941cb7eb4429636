# Bench "startup" (sourced by bench/run.sh; uses bench/lib.sh).
# Issue 17 targets: `numaguard topology` ≤ 2× `numactl --hardware`, and `numaguard policy check`
# of each shipped policy ≤ 2× the same anchor, medians in the same run. The front serves
# topology and policy check itself (no Foundation; the policy loader is libyaml's events); the
# tool's own start (`numaguard-tool --version`, every other command) is shown beside them, with
# the binaries' sizes.
#
# Needs: $NUMAGUARD (release binary), $ROUNDS, $RUNS.

bench_startup() {
    command -v numactl >/dev/null || { bench_log "startup: numactl missing (apt-get install numactl)"; return 1; }
    local tool="${NUMAGUARD%/*}/numaguard-tool" policy
    # A broken command would time an error path: check each works before timing it.
    "$NUMAGUARD" topology > /dev/null || { bench_log "startup: numaguard topology failed"; return 1; }
    local args=(hardware "numactl --hardware" topology "$NUMAGUARD topology" topology-json "$NUMAGUARD topology --format json"
                tool-version "$tool --version")
    local checks=()
    for policy in policies/*.yaml; do
        "$NUMAGUARD" policy check "$policy" > /dev/null || { bench_log "startup: policy check $policy failed"; return 1; }
        checks+=("check-$(basename "$policy" .yaml)")
        args+=("check-$(basename "$policy" .yaml)" "$NUMAGUARD policy check $policy")
    done
    measure_set startup "$ROUNDS" $((RUNS * 10)) "${args[@]}"

    {
        echo "## startup: topology and policy check vs numactl --hardware ($BENCH_LOAD)"
        echo
        echo "Commands alternate round by round ($ROUNDS rounds × $((RUNS * 10)) runs each, timer: $BENCH_TOOL); stdout to /dev/null."
        echo "Binaries: numaguard $(stat -c %s "$NUMAGUARD") bytes, numaguard-tool $(stat -c %s "$tool") bytes (static)."
        echo
        echo "| name | command | median ms | min ms | p90 ms | samples |"
        echo "|---|---|---|---|---|---|"
    } >> "$BENCH_MD"
    report_row startup hardware "numactl --hardware"
    report_row startup topology "numaguard topology"
    report_row startup topology-json "numaguard topology --format json"
    report_row startup tool-version "numaguard-tool --version"
    for policy in "${checks[@]}"; do report_row startup "$policy" "numaguard policy check policies/${policy#check-}.yaml"; done
    {
        echo
        echo "| target | ratio (paired rounds; of medians) | target | verdict |"
        echo "|---|---|---|---|"
    } >> "$BENCH_MD"
    target_paired "topology / numactl --hardware" startup topology hardware 2
    for policy in "${checks[@]}"; do
        target_paired "policy check ${policy#check-} / numactl --hardware" startup "$policy" hardware 2
    done
    echo >> "$BENCH_MD"
}
