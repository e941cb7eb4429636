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
#       prints and records "MET"/"MISSED" for NUMERATOR/DENOMINATOR <= LIMIT (< when STRICT=1);
#   target_paired LABEL SET NUM DEN LIMIT STRICT
#       the same for the paired ratio of two commands of SET (`paired_ratio`), the ratio of
#       their medians shown beside it.
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
            # Warm-up runs in the first round only: later rounds find the page cache warm, and
            # a round can then be one run of each command, alternating run by run.
            hyperfine -N -i --style none --output null --warmup "$((round == 1 ? 2 : 0))" --runs "$runs" \
                --export-json "$BENCH_WORK/$set.$round.json" "${args[@]}" >/dev/null 2>>"$BENCH_WORK/hyperfine.log"
            jq -r --arg round "$round" '.results[] | .command as $c | .times[] | "\($c) \(.) \($round)"' \
                "$BENCH_WORK/$set.$round.json" >> "$samples"
        else
            local n i
            for ((n = 1; n <= runs; n++)); do
                for ((i = 1; i <= $#; i += 2)); do
                    local name=${!i} j=$((i + 1)) start end
                    # shellcheck disable=SC2086  # commands are word-split on purpose, as for hyperfine -N
                    start=$EPOCHREALTIME; ${!j} >/dev/null; end=$EPOCHREALTIME
                    echo "$name $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }') $round" >> "$samples"
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

# The median over rounds of NUM's median in the round over DEN's median in the same round.
# Each round times the two side by side, so a drift of the machine from round to round
# cancels: this VM's runs switch between modes up to 1.5x apart for seconds at a time (the
# medians of a whole set then land in either mode, one command's in one and the other's in
# the other). Printed with three decimals; "nan" without rounds holding both.
paired_ratio() {
    awk -v a="$2" -v b="$3" '
        # The median of x[1..k], sorting x in place (mawk has no asort).
        function median(x, k,   i, j, t) {
            for (i = 2; i <= k; i++) { t = x[i]; for (j = i - 1; j >= 1 && x[j] > t; j--) x[j + 1] = x[j]; x[j + 1] = t }
            return (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
        }
        function in_round(name, round,   k, x) {
            for (k = 1; k <= count[name, round]; k++) x[k] = value[name, round, k]
            return median(x, count[name, round])
        }
        NF >= 3 && ($1 == a || $1 == b) {
            count[$1, $3]++; value[$1, $3, count[$1, $3]] = $2
            if (!($3 in seen)) { seen[$3] = 1; order[++rounds] = $3 }
        }
        END {
            n = 0
            for (r = 1; r <= rounds; r++) {
                round = order[r]
                if (count[a, round] > 0 && count[b, round] > 0 && in_round(b, round) > 0) ratios[++n] = in_round(a, round) / in_round(b, round)
            }
            if (n == 0) { print "nan"; exit }
            printf "%.3f\n", median(ratios, n)
        }' "$BENCH_WORK/$1.samples"
}

report_row() {
    local set=$1 name=$2 command=$3 m lo p n
    read -r m lo p n < <(bench_stats "$set" "$name")
    awk -v name="$name" -v cmd="$command" -v m="$m" -v lo="$lo" -v p="$p" -v n="$n" \
        'BEGIN { printf "| %s | `%s` | %.2f | %.2f | %.2f | %d |\n", name, cmd, m * 1000, lo * 1000, p * 1000, n }' >> "$BENCH_MD"
}

target() {
    local label=$1 num=$2 den=$3 limit=$4 strict=${5:-0} ratio
    ratio=$(awk -v a="$num" -v b="$den" 'BEGIN { printf "%.3f", a / b }')
    verdict "$label" "$ratio" "$limit" "$strict" "$ratio×"
}

target_paired() {
    local label=$1 set=$2 num=$3 den=$4 limit=$5 strict=${6:-0} paired medians
    paired=$(paired_ratio "$set" "$num" "$den")
    medians=$(awk -v a="$(median "$set" "$num")" -v b="$(median "$set" "$den")" 'BEGIN { printf "%.3f", a / b }')
    verdict "$label" "$paired" "$limit" "$strict" "$paired× paired ($medians× of medians)"
}

# Records RATIO against LIMIT; SHOWN is what the markdown and the summary print for it.
verdict() {
    local label=$1 ratio=$2 limit=$3 strict=$4 shown=$5 verdict
    # A ratio that is not a number (no round held both commands) is no evidence: missed.
    if [[ $ratio =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v r="$ratio" -v l="$limit" -v s="$strict" 'BEGIN { exit !((s == 1) ? (r < l) : (r <= l)) }'; then
        verdict=MET
    else
        verdict=MISSED
    fi
    local op="≤"; [ "$strict" = 1 ] && op="<"
    printf '| %s | %s | %s %s× | **%s** |\n' "$label" "$shown" "$op" "$limit" "$verdict" >> "$BENCH_MD"
    printf '%-6s %-52s %s  (target %s %s×, %s)\n' "$verdict" "$label" "$shown" "$op" "$limit" "${BENCH_LOAD:-idle}" >> "$BENCH_SUMMARY"
}
