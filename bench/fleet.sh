#!/usr/bin/env bash
# Bench "fleet": how long `numaguard fleet report` takes over 50, 500 and 5000 hosts' certify
# output, and whether that grows linearly (issue 18: 500 hosts in under 5 s on this machine).
#
#   bench/fleet.sh [--numaguard PATH] [--runs N]
#
# The hosts are generated from recorded hosts: certify runs once over each of three fixtures
# (Tests/Fixtures linux-rt-2node under the baseline policy, which it passes; linux-6.1-2node
# and linux-6.12-2node under trading-host.yaml, which they fail: certificates of 2 and 5.5 KB),
# and every generated host is one of those certificates with its own
# certified_at (so no two are byte-identical, which the report would call a copy) and its own
# sha256, as certify would have written it. Needs python3 for the generation only.
set -euo pipefail
cd "$(dirname "$0")/.."

NUMAGUARD="$PWD/.build/release/numaguard"
RUNS=3
while [ $# -gt 0 ]; do
    case $1 in
        --numaguard) NUMAGUARD=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        *) echo "usage: bench/fleet.sh [--numaguard PATH] [--runs N]" >&2; exit 64 ;;
    esac
done
[ -x "$NUMAGUARD" ] || { echo "bench: $NUMAGUARD missing: scripts/build-release, or --numaguard PATH" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench: python3 missing (it generates the hosts)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fixtures=(linux-rt-2node linux-6.1-2node linux-6.12-2node)
mkdir -p "$work/seed"
declare -A policy=([linux-rt-2node]=latency-baseline [linux-6.1-2node]=trading-host [linux-6.12-2node]=trading-host)
for fixture in "${fixtures[@]}"; do
    status=0
    "$NUMAGUARD" certify --policy "policies/${policy[$fixture]}.yaml" --host-root "Tests/Fixtures/$fixture" \
        --out "$work/seed/$fixture" --window 10ms >/dev/null || status=$?
    case $status in 0|1|3) ;; *) echo "bench: certify of $fixture exited $status" >&2; exit 1 ;; esac
    echo "$status" > "$work/seed/$fixture/exit-status"
done

# generate COUNT DIR: COUNT hosts under DIR, host-00001 ..., certified in the last COUNT seconds.
generate() {
    python3 - "$1" "$2" "$work/seed" "${fixtures[@]}" <<'PY'
import hashlib, os, re, sys, time
count, out, seed, fixtures = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
seeds = []
for fixture in fixtures:
    with open(os.path.join(seed, fixture, "certificate.json")) as f:
        seeds.append((f.read(), open(os.path.join(seed, fixture, "exit-status")).read()))
now = int(time.time())
for i in range(count):
    text, status = seeds[i % len(seeds)]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - i))
    text = re.sub(r'"certified_at" : "[^"]*"', '"certified_at" : "%s"' % stamp, text, count=1)
    host = os.path.join(out, "host-%05d" % (i + 1))
    os.makedirs(host)
    with open(os.path.join(host, "certificate.json"), "w") as f:
        f.write(text)
    with open(os.path.join(host, "certificate.sha256"), "w") as f:
        f.write("%s  certificate.json\n" % hashlib.sha256(text.encode()).hexdigest())
    with open(os.path.join(host, "exit-status"), "w") as f:
        f.write(status)
PY
}

# seconds COUNT: the median of RUNS timed reports over COUNT hosts (the exit status is 1: two
# of three seeds fail their policy; anything else is a broken bench). Every format is
# rendered and written (--out), as the playbook asks for it.
seconds() {
    local dir="$work/fleet-$1" samples=() run start end status
    generate "$1" "$dir"
    for ((run = 0; run < RUNS; run++)); do
        start=$EPOCHREALTIME
        status=0
        "$NUMAGUARD" fleet report "$dir"/* --format junit --out "$work/out-$1" >/dev/null || status=$?
        end=$EPOCHREALTIME
        [ "$status" = 1 ] || { echo "bench: fleet report over $1 hosts exited $status, expected 1" >&2; exit 1; }
        samples+=("$(echo "$end - $start" | bc -l)")
    done
    printf '%s\n' "${samples[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
    rm -rf "$dir"
}

echo "| hosts | seconds (median of $RUNS) | ms per host |"
echo "|---|---|---|"
declare -A took
for count in 50 500 5000; do
    took[$count]=$(seconds "$count")
    printf '| %s | %.3f | %.3f |\n' "$count" "${took[$count]}" "$(echo "${took[$count]} * 1000 / $count" | bc -l)"
done
verdict() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo MET; else echo MISSED; fi; }
echo "500 hosts under 5 s: $(verdict "${took[500]} < 5") (${took[500]} s)"
# Linear: ten times the hosts costs at most twelve times the time (start-up is a fixed cost).
echo "5000/500 hosts within 12x: $(verdict "${took[5000]} / ${took[500]} <= 12") ($(printf '%.2f' "$(echo "${took[5000]} / ${took[500]}" | bc -l)")x)"
