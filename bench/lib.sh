# Shared helpers for bench/*.sh (sourced, not run). Speed is reported as ratios against an
# anchor measured in the same run, never as absolute timed assertions (DESIGN.md).
#
# A bench script calls:
#   measure_set SET ROUNDS RUNS name1 'command 1' name2 'command 2' ...
#       times every command RUNS times per round, alternating the commands round by round,
#       and appends "name seconds" samples to $BENCH_WORK/SET.samples;
#   median SET name         -> median seconds of name (printed);
#   report_row SET name     -> a markdown table row for name;
#   target LABEL NUMERATOR DENOMINATOR LIMIT STRICT
#       prints and records "MET"/"MISSED" for NUMERATOR/DENOMINATOR <= LIMIT (< when STRICT=1).
# Results go into $BENCH_MD (markdown) and $BENCH_SUMMARY (plain summary lines).

BENCH_WORK=${BENCH_WORK:-$(mktemp -d)}
BENCH_MD=${BENCH_MD:-$BENCH_WORK/report.md}
BENCH_SUMMARY=${BENCH_SUMMARY:-$BENCH_WORK/summary.txt}
BENCH_TOOL=${BENCH_TOOL:-}

bench_log() { printf 'bench: %s\n' "$*" >&2; }

# hyperfine when available (installing it from apt if we may), else a bash loop on $EPOCHREALTIME.
bench_pick_tool() {
    [ -n "$BENCH_TOOL" ] && return
    if ! command -v hyperfine >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        bench_log "installing hyperfine (apt-get install -y hyperfine)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
    fi
    if command -v hyperfine >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; then
        BENCH_TOOL=hyperfine
    else
        BENCH_TOOL=loop
        bench_log "hyperfine or jq missing: timing with a bash loop (includes fork+exec of each command)"
    fi
}

measure_set() {
    local set=$1 rounds=$2 runs=$3; shift 3
    local samples="$BENCH_WORK/$set.samples"
    : > "$samples"
    bench_pick_tool
    local round
    for ((round = 1; round <= rounds; round++)); do
        if [ "$BENCH_TOOL" = hyperfine ]; then
            local args=() i
            for ((i = 1; i <= $#; i += 2)); do
                local name=${!i} j=$((i + 1))
                args+=(-n "$name" "${!j}")
            done
            # -N: no intermediate shell, so nothing to correct for; stdout goes to /dev/null.
            # -i: an audit that finds violations exits 1 by design; the command was checked to work first.
            hyperfine -N -i --style none --output null --warmup 2 --runs "$runs" \
                --export-json "$BENCH_WORK/$set.$round.json" "${args[@]}" >/dev/null 2>>"$BENCH_WORK/hyperfine.log"
            jq -r '.results[] | .command as $c | .times[] | "\($c) \(.)"' \
                "$BENCH_WORK/$set.$round.json" >> "$samples"
        else
            local n i
            for ((n = 1; n <= runs; n++)); do
                for ((i = 1; i <= $#; i += 2)); do
                    local name=${!i} j=$((i + 1)) start end
                    # shellcheck disable=SC2086  # commands are word-split on purpose, as for hyperfine -N
                    start=$EPOCHREALTIME; ${!j} >/dev/null; end=$EPOCHREALTIME
                    echo "$name $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }')" >> "$samples"
                done
            done
        fi
        bench_log "$set: round $round/$rounds done"
    done
}

# Quantiles of one name's samples: "median min p90 count" in seconds.
bench_stats() {
    awk -v want="$2" '$1 == want { print $2 }' "$BENCH_WORK/$1.samples" | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "nan nan nan 0"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            p = v[int(0.9 * (NR - 1)) + 1]
            printf "%.6f %.6f %.6f %d\n", m, v[1], p, NR
        }'
}

median() { bench_stats "$1" "$2" | cut -d' ' -f1; }

report_row() {
    local set=$1 name=$2 command=$3 m lo p n
    read -r m lo p n < <(bench_stats "$set" "$name")
    awk -v name="$name" -v cmd="$command" -v m="$m" -v lo="$lo" -v p="$p" -v n="$n" \
        'BEGIN { printf "| %s | `%s` | %.2f | %.2f | %.2f | %d |\n", name, cmd, m * 1000, lo * 1000, p * 1000, n }' >> "$BENCH_MD"
}

target() {
    local label=$1 num=$2 den=$3 limit=$4 strict=${5:-0} ratio verdict
    ratio=$(awk -v a="$num" -v b="$den" 'BEGIN { printf "%.3f", a / b }')
    if awk -v r="$ratio" -v l="$limit" -v s="$strict" 'BEGIN { exit !((s == 1) ? (r < l) : (r <= l)) }'; then
        verdict=MET
    else
        verdict=MISSED
    fi
    local op="≤"; [ "$strict" = 1 ] && op="<"
    printf '| %s | %s× | %s %s× | **%s** |\n' "$label" "$ratio" "$op" "$limit" "$verdict" >> "$BENCH_MD"
    printf '%-6s %-52s %6s×  (target %s %s×, %s)\n' "$verdict" "$label" "$ratio" "$op" "$limit" "${BENCH_LOAD:-idle}" >> "$BENCH_SUMMARY"
}
