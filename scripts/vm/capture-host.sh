#!/bin/sh
# Capture a "host root" fixture tree (busybox sh; runs inside the QEMU guest).
#
#   capture-host.sh [--cgroups] [--devices] [--identity] [--all-processes] DESTDIR [PID...]
#   (or: . capture-host.sh; capture_host DESTDIR PID...)
#
# --cgroups also captures the cgroup tree (capture_cgroups below).
# --devices also captures devices, interrupts and CPU isolation (capture_devices below).
# --identity also captures hostname, boot_id and machine-id (capture_identity below).
# --all-processes captures every process in /proc (at most 4096), kernel threads included,
#   instead of only the PIDs given.
#
# Copies, with the same relative paths as on the host (DESTDIR/proc/..., DESTDIR/sys/...),
# the NUMA topology, kernel knobs and per-process files numaguard reads. Files are read
# with cat (sysfs/proc sizes are bogus for cp) so contents are exactly what the kernel
# printed. Files the kernel does not provide (e.g. numa_balancing on PREEMPT_RT) are
# simply absent from the tree. /proc/PID/exe is recorded as a symlink to what
# `readlink /proc/PID/exe` prints; /proc/PID/environ only for irqbalance.

_cap_file() { # _cap_file DEST SRC
    [ -e "$2" ] || return 0
    mkdir -p "$1${2%/*}"
    if ! cat "$2" >"$1$2" 2>/dev/null; then
        rm -f "$1$2"
    fi
}

# Symbolic links are recorded as links holding the same (relative) text readlink printed, so
# a reader resolving them inside the capture ends where the kernel's link ended.
_cap_link() { # _cap_link DEST SRC
    [ -L "$2" ] || return 0
    _cl=$(readlink "$2") || return 0
    mkdir -p "$1${2%/*}"
    ln -sfn "$_cl" "$1$2"
}

# _cap_entry DEST PATH: a link as a link, a regular file by cat, anything else not at all.
_cap_entry() {
    if [ -L "$2" ]; then _cap_link "$1" "$2"; elif [ -f "$2" ]; then _cap_file "$1" "$2"; fi
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
        # irqbalance's banned CPUs come from its environment (IRQBALANCE_BANNED_CPULIST/CPUS):
        # the one process whose environ is captured.
        [ "$(cat "/proc/$_p/comm" 2>/dev/null)" = irqbalance ] && _cap_file "$_d" "/proc/$_p/environ"
        for _t in /proc/"$_p"/task/*; do
            for _f in stat status comm; do
                _cap_file "$_d" "$_t/$_f"
            done
        done
        _x=$(readlink "/proc/$_p/exe" 2>/dev/null) && ln -sfn "$_x" "$_d/proc/$_p/exe"
    done
    return 0
}

# Who the host is (certificates, snapshots and JUnit class names carry it; a fleet report
# shows it beside each host): hostname, boot id, and machine-id when the guest has one.
# Only with --identity, so fixtures recorded without it keep reading as "host unnamed".
capture_identity() {
    for _f in /proc/sys/kernel/hostname /proc/sys/kernel/random/boot_id /etc/machine-id; do
        _cap_file "$1" "$_f"
    done
}

# What a device's locality chain is read from (class -> bus device -> node -> IRQ vectors ->
# CPUs), and CPU isolation:
# - every entry of /sys/class/{net,nvme,block,drm,nvme-subsystem} and /sys/bus/pci/devices as
#   a link, and for the directory it resolves to and each ancestor up to /sys/devices (at
#   most 16 levels) the files of _DEVICE_FILES that exist (`driver`, `device`, `subsystem`,
#   lower_*/upper_*, holders/slaves entries and nvme-subsystem members as links), with
#   `msi_irqs/*` (at most 2048 per device);
# - per IRQ (at most 100000) /proc/irq/N/{smp_affinity,smp_affinity_list,effective_affinity,
#   effective_affinity_list,node,affinity_hint} and /sys/kernel/irq/N/{actions,chip_name,
#   hwirq,name,type,per_cpu_count,wakeup}, /proc/irq/default_smp_affinity, /proc/interrupts;
# - /sys/devices/virtual/workqueue/cpumask and each workqueue's cpumask and per_cpu.
# (cpu/isolated, cpu/nohz_full and /proc/cmdline are in capture_host.) Each list is cut at
# its bound with a message on stderr, never silently.
_DEVICE_FILES="numa_node class vendor device subsystem_vendor subsystem_device revision irq local_cpulist
local_cpus enable driver subsystem dev partition ifindex iflink type cntlid subsysnqn iopolicy serial model"

_cap_device_dir() { # _cap_device_dir DEST DIR: DIR and its ancestors up to /sys/devices
    _dd=$2
    _dl=0
    while [ -n "$_dd" ] && [ "$_dd" != /sys/devices ] && [ "$_dd" != /sys ] && [ $_dl -lt 16 ]; do
        case "$_dd" in /sys/devices/*) ;; *) return 0 ;; esac
        # Already captured (a shared ancestor): its ancestors are too.
        [ -e "$1$_dd/.captured" ] && return 0
        mkdir -p "$1$_dd"
        for _f in $_DEVICE_FILES; do _cap_entry "$1" "$_dd/$_f"; done
        for _f in "$_dd"/lower_* "$_dd"/upper_* "$_dd"/holders/* "$_dd"/slaves/* "$_dd"/nvme[0-9]*; do
            [ -L "$_f" ] && _cap_link "$1" "$_f"
        done
        if [ -d "$_dd/msi_irqs" ]; then
            _dn=0
            for _f in "$_dd"/msi_irqs/*; do
                [ -f "$_f" ] || continue
                _dn=$((_dn + 1))
                if [ $_dn -gt 2048 ]; then echo "capture-host: $_dd/msi_irqs: more than 2048 entries, rest not captured" >&2; break; fi
                _cap_file "$1" "$_f"
            done
        fi
        : >"$1$_dd/.captured"
        _dd=${_dd%/*}
        _dl=$((_dl + 1))
    done
}

capture_devices() {
    _d=$(cd "$1" && pwd) || return 1
    _n=0
    for _c in /sys/class/net/* /sys/class/nvme/* /sys/class/block/* /sys/class/drm/* /sys/class/nvme-subsystem/* \
        /sys/bus/pci/devices/*; do
        [ -L "$_c" ] || continue
        _n=$((_n + 1))
        if [ $_n -gt 4096 ]; then echo "capture-host: more than 4096 class and PCI devices, rest not captured" >&2; break; fi
        _cap_link "$_d" "$_c"
        _r=$(readlink -f "$_c") || continue
        _cap_device_dir "$_d" "$_r"
    done
    find "$_d/sys" -name .captured -type f -exec rm -f {} \; 2>/dev/null
    _cap_file "$_d" /proc/irq/default_smp_affinity
    _n=0
    for _i in /proc/irq/[0-9]*; do
        [ -d "$_i" ] || continue
        _n=$((_n + 1))
        if [ $_n -gt 100000 ]; then echo "capture-host: more than 100000 IRQs, rest not captured" >&2; break; fi
        _q=${_i##*/}
        for _f in smp_affinity smp_affinity_list effective_affinity effective_affinity_list node affinity_hint; do
            _cap_file "$_d" "$_i/$_f"
        done
        for _f in actions chip_name hwirq name type per_cpu_count wakeup; do
            _cap_file "$_d" "/sys/kernel/irq/$_q/$_f"
        done
    done
    _cap_file "$_d" /proc/interrupts
    _cap_file "$_d" /sys/devices/virtual/workqueue/cpumask
    for _w in /sys/devices/virtual/workqueue/*/; do
        _cap_file "$_d" "${_w%/}/cpumask"
        _cap_file "$_d" "${_w%/}/per_cpu"
    done
    return 0
}

# Every PID in /proc (kernel threads too), at most 4096.
all_pids() {
    _n=0
    for _p in /proc/[0-9]*; do
        [ -d "$_p" ] || continue
        _n=$((_n + 1))
        if [ $_n -gt 4096 ]; then echo "capture-host: more than 4096 processes, rest not captured" >&2; break; fi
        echo "${_p#/proc/}"
    done
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
        _cgroups= _devices= _all= _identity=
        while :; do
            case "${1:-}" in
                --cgroups) _cgroups=1; shift ;;
                --identity) _identity=1; shift ;;
                --devices) _devices=1; shift ;;
                --all-processes) _all=1; shift ;;
                *) break ;;
            esac
        done
        if [ $# -lt 1 ]; then
            echo "usage: capture-host.sh [--cgroups] [--devices] [--identity] [--all-processes] DESTDIR [PID...]" >&2
            exit 2
        fi
        if [ -n "$_all" ]; then
            _dest=$1
            # shellcheck disable=SC2046
            set -- "$_dest" $(all_pids)
        fi
        capture_host "$@" || exit 1
        if [ -n "$_cgroups" ]; then capture_cgroups "$1" || exit 1; fi
        if [ -n "$_devices" ]; then capture_devices "$1" || exit 1; fi
        if [ -n "$_identity" ]; then capture_identity "$1" || exit 1; fi
        ;;
esac
