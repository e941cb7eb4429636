#!/usr/bin/env bash
# numaguard benches: speed as ratios against an anchor timed in the same run.
#
#   bench/run.sh [--rounds N] [--runs N] [--no-build] [--load idle|busy|both] [BENCH...]
#   (BENCH: inspect, startup, audit, launch, watch, interrupts, attribute; default all. --load: run each bench
#   with the machine as it is, with one CPU kept busy by a spinning process pinned to the last CPU,
#   or both, two rows each; default both)
#
# Builds numaguard in release with a static Swift stdlib, runs each bench, prints MET/MISSED
# per DESIGN.md target and writes bench/results/latest.md (git-ignored). Exits 0 even when a
# target is missed; non-zero only when a bench could not run.
set -euo pipefail

ROUNDS=8
RUNS=5
build=1
loads=(idle busy)
benches=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --no-build) build=0; shift ;;
        --load)
            case "${2:-}" in
                idle) loads=(idle) ;; busy) loads=(busy) ;; both) loads=(idle busy) ;;
                *) echo "bench/run.sh: --load takes idle, busy or both" >&2; exit 64 ;;
            esac
            shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        -*) echo "bench/run.sh: unknown option $1" >&2; exit 64 ;;
        *) benches+=("$1"); shift ;;
    esac
done
all_benches=(inspect startup audit launch watch interrupts attribute)
[ ${#benches[@]} -gt 0 ] || benches=("${all_benches[@]}")

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
BENCH_BUILD=.build/bench
mkdir -p "$BENCH_BUILD" bench/results
BENCH_WORK=$(mktemp -d)
BENCH_MD="$BENCH_WORK/report.md"
BENCH_SUMMARY="$BENCH_WORK/summary.txt"
MANYMAPS_PID=
BURNER_PID=
cleanup() {
    [ -n "${MANYMAPS_PID:-}" ] && kill "$MANYMAPS_PID" 2>/dev/null || true
    [ -n "${BURNER_PID:-}" ] && kill "$BURNER_PID" 2>/dev/null || true
    rm -rf "$BENCH_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
. bench/lib.sh
for bench in "${benches[@]}"; do
    [ -f "bench/$bench.sh" ] || { echo "bench/run.sh: no bench/$bench.sh" >&2; exit 64; }
    # shellcheck disable=SC1090
    . "bench/$bench.sh"
done

if [ "$build" = 1 ]; then
    bench_log "scripts/build-release"
    scripts/build-release >/dev/null
fi
built="$PWD/.build/release"
[ -x "$built/numaguard" ] && [ -x "$built/numaguard-tool" ] || { echo "bench/run.sh: $built/numaguard or numaguard-tool missing (drop --no-build)" >&2; exit 1; }
# Timed as installed: both binaries copied side by side (written through write(2), as `install`
# or a package puts them, as numactl's are). The linker's own output, run in place, took 133
# page faults a launch against 124 for a copy of the same bytes on this VM's kernel (6.18,
# ext4: the page cache holds the file as it was written), 1.006x numactl against 0.98x.
mkdir -p "$BENCH_WORK/bin"
install -m 755 "$built/numaguard" "$built/numaguard-tool" "$BENCH_WORK/bin/"
NUMAGUARD="$BENCH_WORK/bin/numaguard"

bench_pick_tool
{
    echo "# numaguard bench results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- Sources 2>/dev/null || echo ' (Sources modified)')"
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), NUMA nodes online: $(cat /sys/devices/system/node/online 2>/dev/null || echo '?')"
    # What the scheduler was told at boot: where two threads run decides whether inspect's
    # walk and parse overlap (this development VM's kernel packs threads: sched_vcpu_pack).
    echo "- scheduling on the kernel command line: $(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(sched|isolcpus|nohz|rcu_nocbs|irqaffinity|hugepages|numa|mitigations)/) o = o (o == "" ? "" : " ") $i } END { print o == "" ? "(none)" : o }' /proc/cmdline)"
    echo "- $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}"), $(swift --version 2>/dev/null | head -n1), $(numastat -V 2>&1 | head -n1 || true), timer: $BENCH_TOOL $(hyperfine --version 2>/dev/null | cut -d' ' -f2 || true)"
    echo "- binary: \`scripts/build-release\` (fully static executables), timed as installed copies (\`install\` into a scratch directory)"
    echo
} > "$BENCH_MD"

for BENCH_LOAD in "${loads[@]}"; do
    if [ "$BENCH_LOAD" = busy ]; then
        # The other core busy, as on a host where the trading engine spins: numaguard must not
        # fall behind numactl/numastat/cat when it has one core to itself instead of two.
        taskset -c "$(( $(nproc) - 1 ))" sh -c 'while :; do :; done' &
        BURNER_PID=$!
        bench_log "load: busy (a spinning process on CPU $(( $(nproc) - 1 )), PID $BURNER_PID)"
    else
        bench_log "load: idle (the machine as it is)"
    fi
    echo "# load: $BENCH_LOAD" >> "$BENCH_MD"
    echo >> "$BENCH_MD"
    for bench in "${benches[@]}"; do
        bench_log "running $bench ($ROUNDS rounds × $RUNS runs, $BENCH_LOAD)"
        "bench_$bench"
    done
    if [ -n "$BURNER_PID" ]; then
        kill "$BURNER_PID" 2>/dev/null || true
        wait "$BURNER_PID" 2>/dev/null || true
        BURNER_PID=
    fi
done

cp "$BENCH_MD" bench/results/latest.md
echo
echo "== numaguard bench summary (bench/results/latest.md) =="
cat "$BENCH_SUMMARY"
