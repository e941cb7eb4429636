#!/bin/sh
# Capture a "host root" fixture tree (busybox sh; runs inside the QEMU guest).
#
#   capture-host.sh [--cgroups] DESTDIR [PID...]   (or: . capture-host.sh; capture_host DESTDIR PID...)
#
# --cgroups also captures the cgroup tree (capture_cgroups below).
#
# Copies, with the same relative paths as on the host (DESTDIR/proc/..., DESTDIR/sys/...),
# the NUMA topology, kernel knobs and per-process files numaguard reads. Files are read
# with cat (sysfs/proc sizes are bogus for cp) so contents are exactly what the kernel
# printed. Files the kernel does not provide (e.g. numa_balancing on PREEMPT_RT) are
# simply absent from the tree. /proc/PID/exe is recorded as a symlink to what
# `readlink /proc/PID/exe` prints.

_cap_file() { # _cap_file DEST SRC
    [ -e "$2" ] || return 0
    mkdir -p "$1${2%/*}"
    if ! cat "$2" >"$1$2" 2>/dev/null; then
        rm -f "$1$2"
    fi
}

capture_host() {
    _d=$1
    shift
    mkdir -p "$_d" || return 1
    _d=$(cd "$_d" && pwd)
    _n=/sys/devices/system/node
    for _f in possible online has_cpu has_memory has_normal_memory has_high_memory has_generic_initiator; do
        _cap_file "$_d" "$_n/$_f"
    done
    for _nd in "$_n"/node[0-9]*; do
        [ -d "$_nd" ] || continue
        for _f in cpulist cpumap meminfo distance numastat vmstat; do
            _cap_file "$_d" "$_nd/$_f"
        done
        for _h in "$_nd"/hugepages/hugepages-*; do
            [ -d "$_h" ] || continue
            for _f in nr_hugepages free_hugepages surplus_hugepages; do
                _cap_file "$_d" "$_h/$_f"
            done
        done
    done
    for _f in online possible present isolated nohz_full; do
        _cap_file "$_d" "/sys/devices/system/cpu/$_f"
    done
    for _f in /proc/sys/kernel/numa_balancing /proc/sys/vm/zone_reclaim_mode \
        /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag \
        /proc/cmdline /proc/sys/kernel/osrelease /proc/meminfo /proc/vmstat; do
        _cap_file "$_d" "$_f"
    done
    # Weighted interleave weights (6.9+), when present.
    for _f in /sys/kernel/mm/mempolicy/weighted_interleave/node*; do
        _cap_file "$_d" "$_f"
    done
    for _p in "$@"; do
        if [ ! -d "/proc/$_p" ]; then
            echo "capture-host: no such process $_p" >&2
            continue
        fi
        for _f in stat status cmdline comm cgroup numa_maps; do
            _cap_file "$_d" "/proc/$_p/$_f"
        done
        for _t in /proc/"$_p"/task/*; do
            for _f in stat status comm; do
                _cap_file "$_d" "$_t/$_f"
            done
        done
        _x=$(readlink "/proc/$_p/exe" 2>/dev/null) && ln -sfn "$_x" "$_d/proc/$_p/exe"
    done
    return 0
}

# The cgroup files numaguard reads, for every cgroup below /sys/fs/cgroup (v2, or each v1
# hierarchy mounted under it): membership (cgroup.procs, v1 tasks), controllers, the cpuset
# and memory.numa_stat. Plus init's mountinfo as proc/1/mountinfo: a host root has no
# `self`, and the cgroup reader falls back to init's (the guest has one mount namespace).
# Only a few dozen small files in the harness guest, where init creates no cgroups.
capture_cgroups() {
    _d=$(cd "$1" && pwd) || return 1
    _cap_file "$_d" /proc/1/mountinfo
    find /sys/fs/cgroup -maxdepth 4 -type d 2>/dev/null | while IFS= read -r _c; do
        for _f in cgroup.procs tasks cgroup.controllers cgroup.subtree_control cgroup.type \
            memory.numa_stat memory.use_hierarchy \
            cpuset.cpus cpuset.mems cpuset.cpus.effective cpuset.mems.effective cpuset.cpus.partition \
            cpuset.effective_cpus cpuset.effective_mems cpuset.cpu_exclusive cpuset.mem_exclusive \
            cpuset.sched_load_balance cpuset.memory_migrate cpuset.mem_hardwall; do
            _cap_file "$_d" "$_c/$_f"
        done
    done
    return 0
}

case "${0##*/}" in
    capture-host.sh | capture-host)
        _cgroups=
        if [ "${1:-}" = --cgroups ]; then _cgroups=1; shift; fi
        if [ $# -lt 1 ]; then
            echo "usage: capture-host.sh [--cgroups] DESTDIR [PID...]" >&2
            exit 2
        fi
        capture_host "$@" || exit 1
        if [ -n "$_cgroups" ]; then capture_cgroups "$1" || exit 1; fi
        ;;
esac
