#!/bin/sh
# mmaplock bench: how much does reading one /proc/PID file of a process delay that
# process's own address-space changes (mmap+write+munmap)? Issue 13.
#
#   ./run.sh [rate|flood|all|extra]      (default all)
#   env: SECS=8 ROUNDS=4 FLOOD_ROUNDS=3 MAPS=32768 PERIOD_US=200 VCPU=0 RCPU=1 VICTIM_PRIO=50
#        READER_PRIO=0 (>0: the reader SCHED_FIFO too)
#        OUT=results/<time>
#
# One run = a fresh victim (MAPS mappings, pinned to VCPU) measured for SECS while one reader
# (pinned to RCPU) reads one file of it; "baseline" runs have no reader. Every round runs every
# configuration once, in a new random order, with two baselines per round, so background load
# (a shared machine) falls on all configurations alike. Prints a table of median and
# [min-max] over the rounds, and keeps every run in $OUT/runs.tsv.
#
# rate:  each file at 10 reads/s (numa_maps also at 1/s, and with numaguard's 256 KiB chunk).
# extra: baseline, numa_maps at 1/s, cmdline and status at 10/s only: for re-running under
#        other priorities (VICTIM_PRIO=0: victim SCHED_OTHER; READER_PRIO=10: reader never
#        preempted by other load while it holds the lock). The mode column names the priorities.
# flood: each cheap file read back to back (as fast as one CPU can): a detector for files
#        whose read takes the target's mmap lock at all, however briefly.
# The victim runs SCHED_FIFO at VICTIM_PRIO (0 = SCHED_OTHER) so that other load on a shared
# machine does not preempt it: what is left is what the reader's locks cost it. The reader
# runs SCHED_OTHER, as a monitor would. Nothing here changes kernel settings; it needs vm.max_map_count > MAPS (default 65530).
set -eu
cd "$(dirname "$0")"
MODE=${1:-all}
SECS=${SECS:-8}
ROUNDS=${ROUNDS:-4}
FLOOD_ROUNDS=${FLOOD_ROUNDS:-3}
MAPS=${MAPS:-32768}
PERIOD_US=${PERIOD_US:-200}
VCPU=${VCPU:-0}
VICTIM_PRIO=${VICTIM_PRIO:-50}
READER_PRIO=${READER_PRIO:-0}
RCPU=${RCPU:-1}
OUT=${OUT:-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
cc -O2 -o victim victim.c
cc -O2 -o reader reader.c

# label file hz bufsize   (file TID = the victim's main thread)
RATE_CONFIGS='baseline - - -
baseline - - -
numa_maps@10Hz numa_maps 10 131072
numa_maps@1Hz numa_maps 1 131072
numa_maps@10Hz,256K numa_maps 10 262144
smaps@10Hz smaps 10 131072
smaps_rollup@10Hz smaps_rollup 10 131072
maps@10Hz maps 10 131072
cmdline@10Hz cmdline 10 131072
environ@10Hz environ 10 131072
status@10Hz status 10 131072
stat@10Hz stat 10 131072
statm@10Hz statm 10 131072
task/T/stat@10Hz task/TID/stat 10 131072
task/T/status@10Hz task/TID/status 10 131072
exe@10Hz exe 10 131072
cgroup@10Hz cgroup 10 131072
cpuset@10Hz cpuset 10 131072
io@10Hz io 10 131072
wchan@10Hz wchan 10 131072
sched@10Hz sched 10 131072'

EXTRA_CONFIGS='baseline - - -
baseline - - -
numa_maps@1Hz numa_maps 1 131072
cmdline@10Hz cmdline 10 131072
status@10Hz status 10 131072'

FLOOD_CONFIGS='baseline - - -
baseline - - -
maps@flood maps 0 131072
cmdline@flood cmdline 0 131072
environ@flood environ 0 131072
status@flood status 0 131072
stat@flood stat 0 131072
statm@flood statm 0 131072
task/T/stat@flood task/TID/stat 0 131072
task/T/status@flood task/TID/status 0 131072
exe@flood exe 0 131072
cgroup@flood cgroup 0 131072
cpuset@flood cpuset 0 131072
io@flood io 0 131072
wchan@flood wchan 0 131072
sched@flood sched 0 131072'

printf 'mode\tround\tlabel\titers\tp50_us\tp99_us\tp999_us\tmax_us\tover1ms\tover100us\tlate\treads\tread_mean_us\tread_max_us\tbytes\tloadavg\n' > "$OUT/runs.tsv"

kv() { # kv KEY LINE -> value of KEY=value in LINE
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

one_run() { # one_run MODE ROUND LABEL FILE HZ BUF
    mode=$1 run_round=$2 label=$3 file=$4 hz=$5 buf=$6
    vout=$OUT/.victim.out rout=$OUT/.reader.out
    : > "$vout"; : > "$rout"
    if [ "$VICTIM_PRIO" -gt 0 ]; then
        chrt -f "$VICTIM_PRIO" taskset -c "$VCPU" ./victim "$MAPS" "$SECS" "$PERIOD_US" > "$vout" &
    else
        taskset -c "$VCPU" ./victim "$MAPS" "$SECS" "$PERIOD_US" > "$vout" &
    fi
    vpid=$!
    i=0
    until grep -q ready "$vout"; do
        i=$((i + 1)); [ $i -lt 600 ] || { echo "victim did not start" >&2; exit 1; }
        sleep 0.05
    done
    rpid=
    if [ "$file" != - ]; then
        f=$(printf '%s' "$file" | sed "s/TID/$vpid/")
        if [ "$READER_PRIO" -gt 0 ]; then
            chrt -f "$READER_PRIO" taskset -c "$RCPU" ./reader "$vpid" "$f" "$hz" "$buf" > "$rout" &
        else
            taskset -c "$RCPU" ./reader "$vpid" "$f" "$hz" "$buf" > "$rout" &
        fi
        rpid=$!
        sleep 0.2
    fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    kill -USR1 "$vpid"
    wait "$vpid"
    if [ -n "$rpid" ]; then kill -TERM "$rpid" 2>/dev/null || true; wait "$rpid" || true; fi
    vline=$(grep iters= "$vout"); rline=$(cat "$rout")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$run_round" "$label" \
        "$(kv iters "$vline")" "$(kv p50_us "$vline")" "$(kv p99_us "$vline")" "$(kv p999_us "$vline")" "$(kv max_us "$vline")" \
        "$(kv over1ms "$vline")" "$(kv over100us "$vline")" "$(kv late "$vline")" \
        "$(kv reads "$rline")" "$(kv mean_us "$rline")" "$(kv max_us "$rline")" "$(kv bytes "$rline")" "$load" >> "$OUT/runs.tsv"
    printf '  %-22s %s | %s\n' "$label" "$vline" "$rline"
}

run_set() { # run_set MODE ROUNDS CONFIGS
    set_mode=$1 set_rounds=$2 set_configs=$3
    round=1
    while [ "$round" -le "$set_rounds" ]; do
        echo "== $set_mode round $round/$set_rounds ($(date -u +%H:%M:%S))"
        printf '%s\n' "$set_configs" | shuf > "$OUT/.order"
        while read -r label file hz buf; do
            one_run "$set_mode" "$round" "$label" "$file" "$hz" "$buf"
        done < "$OUT/.order"
        round=$((round + 1))
    done
}

{
    echo "kernel $(uname -r), $(nproc) CPUs, maps=$MAPS period=${PERIOD_US}us secs=$SECS victim@cpu$VCPU (fifo prio $VICTIM_PRIO) reader@cpu$RCPU (fifo prio $READER_PRIO)"
    case $MODE in
        rate) run_set rate "$ROUNDS" "$RATE_CONFIGS" ;;
        flood) run_set flood "$FLOOD_ROUNDS" "$FLOOD_CONFIGS" ;;
        all) run_set rate "$ROUNDS" "$RATE_CONFIGS"; run_set flood "$FLOOD_ROUNDS" "$FLOOD_CONFIGS" ;;
        extra) run_set "extra(victim-fifo=$VICTIM_PRIO,reader-fifo=$READER_PRIO)" "$ROUNDS" "$EXTRA_CONFIGS" ;;
        *) echo "usage: run.sh [rate|flood|all|extra]" >&2; exit 64 ;;
    esac
} | tee "$OUT/log.txt"
rm -f "$OUT/.victim.out" "$OUT/.reader.out" "$OUT/.order"
python3 summarize.py "$OUT/runs.tsv" | tee "$OUT/table.md"
