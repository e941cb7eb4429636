#!/bin/sh
# The whole measurement behind RESULTS.md, about 28 minutes on 2 CPUs:
#   1. run.sh all: every file at 10/s (numa_maps also at 1/s and with 256 KiB reads), 4 rounds,
#      then every cheap file read back to back ("flood"), 3 rounds; baselines interleaved.
#   2. run.sh extra twice: numa_maps 1/s, cmdline and status 10/s with the reader SCHED_FIFO
#      (never preempted while it holds the lock), and with the victim SCHED_OTHER.
#   3. lockcount.sh: mmap-lock acquisitions per read of each file (perf, tracepoints).
#   4. headline.py: the one-table summary.
#   env: OUT=results/<time> (a folder for all of it), and run.sh's SECS, ROUNDS, ...
set -eu
cd "$(dirname "$0")"
OUT=${OUT:-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$OUT/main ./run.sh all
ROUNDS=${EXTRA_ROUNDS:-3} READER_PRIO=10 OUT=$OUT/extra-reader-fifo ./run.sh extra
ROUNDS=${EXTRA_ROUNDS:-3} VICTIM_PRIO=0 OUT=$OUT/extra-victim-other ./run.sh extra
./lockcount.sh | tee "$OUT/lockcount.md"
python3 headline.py "$OUT/lockcount.md" "$OUT/main/runs.tsv" | tee "$OUT/headline.md"
