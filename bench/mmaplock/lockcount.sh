#!/bin/sh
# lockcount: how many times does one read of /proc/PID/FILE take an mmap lock?
# Counts the kernel's mmap_lock tracepoints (mmap_lock:mmap_lock_acquire_returned, which
# every mmap_read_lock / mmap_read_lock_killable / mmap_read_trylock / mmap_write_lock fires)
# in the reader process only, with `perf stat`, for N reads of each file of an idle victim,
# minus a run of the same reader that makes no read (its own exec and startup).
#
#   ./lockcount.sh            env: MAPS=32768 N=200 (N/20 for numa_maps, smaps, maps)
#
# Needs perf and root. perf resolves tracepoints through tracefs; when tracefs is not
# mounted, this mounts it inside a private mount namespace (unshare -m), which the rest of
# the machine never sees. Per-task counting: nothing is changed for other processes and no
# kernel setting is written. The per-VMA lock (lock_vma_under_rcu, lock_next_vma) has no
# tracepoint; a file read only under it counts 0 here.
set -eu
cd "$(dirname "$0")"
MAPS=${MAPS:-32768}
N=${N:-200}
cc -O2 -o victim victim.c
cc -O2 -o reader reader.c
FILES="numa_maps smaps smaps_rollup maps cmdline environ status stat statm task/TID/stat task/TID/status exe cgroup cpuset io wchan sched"

if [ ! -d /sys/kernel/tracing/events/mmap_lock ] && [ -z "${LOCKCOUNT_NS:-}" ]; then
    exec env LOCKCOUNT_NS=1 unshare -m sh -c 'mount -t tracefs nodev /sys/kernel/tracing && exec "$0" "$@"' "$0" "$@"
fi

out=$(mktemp)
./victim "$MAPS" 3600 > "$out" &
vpid=$!
until grep -q ready "$out"; do sleep 0.05; done
trap 'kill "$vpid" 2>/dev/null; rm -f "$out"' EXIT

count() { # count FILE READS -> "all read-only" acquire_returned events in the reader
    perf stat -x, -e mmap_lock:mmap_lock_acquire_returned \
        -e mmap_lock:mmap_lock_acquire_returned --filter 'write == 0' \
        -- ./reader "$vpid" "$1" 0 131072 "$2" 2>&1 >/dev/null |
        awk -F, '/mmap_lock_acquire_returned/ { v[n++] = $1 } END { print v[0], v[1] }'
}

set -- $(count stat -1)
base_all=$1 base_read=$2
echo "kernel $(uname -r); victim with $MAPS mappings; startup of the reader alone: $base_all mmap-lock acquisitions ($base_read for reading)"
printf '| file | reads | mmap-lock acquisitions per read | of them for reading | bytes per read |\n|---|---|---|---|---|\n'
for f in $FILES; do
    case $f in numa_maps|smaps|maps) n=$((N / 20)) ;; *) n=$N ;; esac
    [ "$n" -ge 1 ] || n=1
    path=$(printf '%s' "$f" | sed "s/TID/$vpid/")
    set -- $(count "$path" "$n")
    bytes=$(./reader "$vpid" "$path" 0 131072 1 | sed -n 's/.*bytes=//p')
    awk -v f="$f" -v n="$n" -v a="$1" -v r="$2" -v ba="$base_all" -v br="$base_read" -v b="$bytes" \
        'BEGIN { printf "| %s | %d | %.2f | %.2f | %s |\n", f, n, (a - ba) / n, (r - br) / n, b }'
done
