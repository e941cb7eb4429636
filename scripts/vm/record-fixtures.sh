#!/bin/sh
# Record the fixture trees in Tests/Fixtures/<name>/ by booting real kernels under QEMU.
#
#   record-fixtures.sh [NAME...]     (default: all fixtures below)
#
# Each fixture is a "host root" (proc/..., sys/...) captured by capture-host.sh inside the
# guest while probe processes (probe.c) with known NUMA policies are running, plus
# oracle/ (numactl --hardware, numastat -p PID, numactl --show under the same options)
# and a README.md describing kernel, topology, QEMU command line and processes.
# The device fixtures (*-devices, *-isolated: guests with --pci) also keep `qemu-cmdline`
# (the QEMU command line, paths made relative), `package` (the Debian kernel package) and
# `pci-map` (run-guest.sh's "INDEX KIND NODE ROOT-PORT" lines), which a unit test checks.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${NUMAGUARD_VM_CACHE:-$REPO/.vm}
FIX=$REPO/Tests/Fixtures
ALL="linux-6.1-2node linux-6.12-2node linux-rt-2node linux-6.1-4node-asym linux-6.1-cpuless
linux-6.1-2node-cgroup-v2 linux-6.1-2node-cgroup-v1 linux-6.1-2node-devices linux-6.1-2node-isolated
linux-6.12-2node-devices linux-rt-2node-devices fleet-a-linux-6.1-2node fleet-b-linux-6.1-2node-nobalancing
fleet-c-linux-6.1-4node-asym"
# The devices of every device fixture: a NIC on node 1, an NVMe on node 0, a NIC with no locality.
DEVICES=net@1,nvme@0,net@none
[ $# -gt 0 ] || set -- $ALL

# Guest-side helpers shared by every fixture script.
PROLOGUE='set -u
mkdir -p /tmp/ng "$OUT/root" "$OUT/oracle"
CAPTURE=
: >/tmp/procs
: >/tmp/setup
note() { echo "$*" >>/tmp/setup; }
# setup CMD: run a shell command line before the processes start, and note it for the README.
setup() {
    note "$1"
    eval "$1" || { echo "setup failed: $1"; exit 1; }
}
# start NAME CMD... : start CMD in the background, wait for "ready", record the pid.
start() {
    _name=$1; shift
    "$@" >/tmp/ng/$_name.out 2>&1 </dev/null &
    _pid=$!
    _i=0
    until grep -q "^ready\$" /tmp/ng/$_name.out 2>/dev/null; do
        sleep 0.1
        _i=$((_i + 1))
        if [ $_i -gt 1200 ] || ! kill -0 $_pid 2>/dev/null; then
            echo "process $_name ($*) did not become ready:"; cat /tmp/ng/$_name.out; exit 1
        fi
    done
    echo "$_pid|$_name|$*" >>/tmp/procs
    # numactl --show under the same numactl options
    if [ "$1" = numactl ]; then
        shift
        _opts=
        while [ $# -gt 0 ] && [ "$1" != probe ]; do _opts="$_opts $1"; shift; done
        numactl $_opts numactl --show >"$OUT/oracle/numactl-show-$_name.txt" 2>&1
    fi
}'
# Guest-side helpers of the device fixtures: the NICs found by their PCI path (eth numbering
# follows probe order: the @none NIC on bus 0 is eth0), the node-1 NIC brought up with the
# address slirp expects and pinged (its vectors fire), interrupts around a dd on the NVMe.
DEVICE_PROLOGUE='nic_under() { for n in /sys/class/net/*; do case "$(readlink "$n")" in *"/$1/"*) echo "${n##*/}"; return 0 ;; esac; done; return 1; }
N1=$(nic_under 0000:20:00.0) || { echo "no NIC under 0000:20:00.0"; exit 1; }
N0=$(nic_under 0000:00:12.0) || { echo "no NIC under 0000:00:12.0"; exit 1; }
note "NICs: $N1 behind root port 0000:20:00.0 (node 1), $N0 behind 0000:00:12.0 (pcie.0, no locality); NVMe nvme0 behind 0000:10:00.0 (node 0)"
setup "ip link set lo up && ip link set $N1 up && ip addr add 10.0.2.15/24 dev $N1 && ip link set $N0 up"
setup "ping -c1 -W5 10.0.2.2 >/dev/null"
dd_nvme() {
    cat /proc/interrupts >"$OUT/oracle/interrupts-before-dd.txt"
    setup "dd if=/dev/nvme0n1 of=/dev/null bs=4k count=2000 iflag=direct 2>/dev/null"
    cat /proc/interrupts >"$OUT/oracle/interrupts-after-dd.txt"
}
# numactl -N SPEC -m SPEC numactl --show, with its exit status, for each device specifier.
device_oracles() {
    for spec in "netdev:$N1" "netdev:$N0" pci:0000:20:00.0 pci:0000:21:00.0 pci:0000:10:00.0 pci:0000:11:00.0 \
        pci:0000:00:12.0 block:nvme0n1 block:/dev/nvme0n1 file:/dev/nvme0n1 ip:10.0.2.2; do
        f=$OUT/oracle/numactl-device-$(echo "$spec" | tr ":/" "__").txt
        echo "\$ numactl -N $spec -m $spec numactl --show" >"$f"
        numactl -N "$spec" -m "$spec" numactl --show >>"$f" 2>&1
        echo "[exit $?]" >>"$f"
    done
}'

EPILOGUE='sleep 1
pids=$(cut -d"|" -f1 /tmp/procs)
capture-host.sh $CAPTURE "$OUT/root" $pids
numactl --hardware >"$OUT/oracle/numactl-hardware.txt" 2>&1
numactl --show >"$OUT/oracle/numactl-show-default.txt" 2>&1
numastat >"$OUT/oracle/numastat.txt" 2>&1
for p in $pids; do numastat -p $p >"$OUT/oracle/numastat-p-$p.txt" 2>&1; done
cp /tmp/procs "$OUT/procs.txt"
cp /tmp/setup "$OUT/setup.txt"
uname -r >"$OUT/uname-r"
echo "captured pids: $pids"'

fixture_body() {
    case "$1" in
        linux-6.1-2node | linux-6.12-2node)
            cat <<'G'
echo 8 >/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
note 'echo 8 >/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages'
start membind numactl --membind=1 probe 64
start interleave numactl --interleave=all probe 64
start filebacked numactl --cpunodebind=1 --membind=1 probe 32 /bin/busybox
start preferred numactl --preferred=1 probe 16
start plain probe 16
start hugetlb numactl --cpunodebind=0 probe -H 8 4
start thp probe -T 8 4
start balancing numactl --balancing --membind=1 probe 8
G
            if [ "$1" = linux-6.12-2node ]; then
                cat <<'G'
start preferredmany numactl --preferred-many=0,1 probe 16
start weightedinterleave probe -P weighted-interleave:0-1 16
G
            fi
            ;;
        linux-6.1-2node-cgroup-v2)
            # The init mounted cgroup2 at /sys/fs/cgroup. The engine alone in /engine (its cpuset
            # CPUs 2-3, memory node 1); /shared holds a process of the engine's workload (the same
            # command line, interleaved over both nodes) and another process; one more in the root.
            cat <<'G'
CAPTURE=--cgroups
setup 'echo "+memory +cpuset" >/sys/fs/cgroup/cgroup.subtree_control'
setup 'mkdir /sys/fs/cgroup/engine /sys/fs/cgroup/shared'
setup 'echo 2-3 >/sys/fs/cgroup/engine/cpuset.cpus'
setup 'echo 1 >/sys/fs/cgroup/engine/cpuset.mems'
# in-cgroup.sh CGROUP CMD...: move this shell into CGROUP, then exec CMD (the same PID), so
# everything the process allocates is charged to CGROUP.
cat >/tmp/in-cgroup.sh <<'S'
echo $$ >/sys/fs/cgroup/$1/cgroup.procs || exit 99
shift
exec "$@"
S
note '/tmp/in-cgroup.sh (CGROUP CMD...):'
sed 's/^/    /' /tmp/in-cgroup.sh >>/tmp/setup
start engine sh /tmp/in-cgroup.sh engine numactl --cpunodebind=1 --membind=1 probe 32
start sharedengine sh /tmp/in-cgroup.sh shared numactl --interleave=0,1 probe 32
start sharedother sh /tmp/in-cgroup.sh shared probe 8
start plain probe 16
G
            ;;
        linux-6.1-2node-cgroup-v1)
            # The same cgroups as linux-6.1-2node-cgroup-v2, in v1 cpuset and memory hierarchies
            # (each alone, as RHEL 8 and systemd mount them) under a tmpfs at /sys/fs/cgroup.
            cat <<'G'
CAPTURE=--cgroups
setup 'umount /sys/fs/cgroup'
setup 'mount -t tmpfs cgroup_root /sys/fs/cgroup'
setup 'mkdir /sys/fs/cgroup/cpuset /sys/fs/cgroup/memory'
setup 'mount -t cgroup -o cpuset cpuset /sys/fs/cgroup/cpuset'
setup 'mount -t cgroup -o memory memory /sys/fs/cgroup/memory'
setup 'mkdir /sys/fs/cgroup/cpuset/engine /sys/fs/cgroup/cpuset/shared /sys/fs/cgroup/memory/engine /sys/fs/cgroup/memory/shared'
setup 'echo 2-3 >/sys/fs/cgroup/cpuset/engine/cpuset.cpus'
setup 'echo 1 >/sys/fs/cgroup/cpuset/engine/cpuset.mems'
setup 'echo 0-3 >/sys/fs/cgroup/cpuset/shared/cpuset.cpus'
setup 'echo 0-1 >/sys/fs/cgroup/cpuset/shared/cpuset.mems'
# in-cgroup.sh CGROUP CMD...: move this shell into CGROUP of both hierarchies, then exec CMD
# (the same PID): v1 charges pages to the memory cgroup they were allocated in.
cat >/tmp/in-cgroup.sh <<'S'
for h in cpuset memory; do echo $$ >/sys/fs/cgroup/$h/$1/cgroup.procs || exit 99; done
shift
exec "$@"
S
note '/tmp/in-cgroup.sh (CGROUP CMD...):'
sed 's/^/    /' /tmp/in-cgroup.sh >>/tmp/setup
start engine sh /tmp/in-cgroup.sh engine numactl --cpunodebind=1 --membind=1 probe 32
start sharedengine sh /tmp/in-cgroup.sh shared numactl --interleave=0,1 probe 32
start sharedother sh /tmp/in-cgroup.sh shared probe 8
start plain probe 16
G
            ;;
        linux-6.1-2node-devices | linux-6.12-2node-devices | linux-rt-2node-devices)
            # A probe bound like `numactl -N netdev:NIC -m netdev:NIC`, one with no binding,
            # and the NVMe's queue vectors given work (dd) so their counts are not zero.
            cat <<'G'
CAPTURE="--devices --all-processes"
G
            echo "$DEVICE_PROLOGUE"
            cat <<'G'
dd_nvme
start netbound numactl -N netdev:$N1 -m netdev:$N1 probe 16
start plain probe 8
device_oracles
G
            ;;
        linux-6.1-2node-isolated)
            # isolcpus=managed_irq,domain,3 nohz_full=3 (run-guest --append): the node-1 NIC's
            # input vector moved onto the isolated CPU 3 (and pinged, so the chip follows), a
            # foreign probe pinned to CPU 3, a dd whose completions land wherever the managed
            # NVMe vectors were spread.
            cat <<'G'
CAPTURE="--devices --all-processes"
G
            echo "$DEVICE_PROLOGUE"
            cat <<'G'
for v in $(ls /sys/bus/pci/devices/0000:21:00.0/msi_irqs); do
    case "$(cat /sys/kernel/irq/$v/actions)" in *-input.0) MOVED=$v ;; esac
done
setup "echo 3 >/proc/irq/$MOVED/smp_affinity_list"
setup "ping -c1 -W5 10.0.2.2 >/dev/null"
note "moved IRQ $MOVED ($(cat /sys/kernel/irq/$MOVED/actions)): smp_affinity_list $(cat /proc/irq/$MOVED/smp_affinity_list), effective_affinity_list $(cat /proc/irq/$MOVED/effective_affinity_list)"
dd_nvme
start pinned taskset -c 3 probe 8
start plain probe 8
# irqbalance (when the image has one: build-initramfs takes the host's or Debian's package's) told to ban CPU 2
# only, while CPU 3 is isolated: the environment variable switches off its own detection.
# --banirq keeps it off the vector moved above (it would not have to: CPU 3 is not banned).
if command -v irqbalance >/dev/null; then
    mkdir -p /run/irqbalance
    setup "IRQBALANCE_BANNED_CPULIST=2 irqbalance --foreground --banirq=$MOVED >/tmp/irqbalance.log 2>&1 &"
    echo "$!|irqbalance|IRQBALANCE_BANNED_CPULIST=2 irqbalance --foreground --banirq=$MOVED" >>/tmp/procs
    sleep 2
    kill -0 $! || { echo "irqbalance exited:"; cat /tmp/irqbalance.log; exit 1; }
else
    note "no irqbalance in the image (the recording host had none)"
fi
G
            ;;
        fleet-a-linux-6.1-2node | fleet-b-linux-6.1-2node-nobalancing | fleet-c-linux-6.1-4node-asym)
            # The fleet of contrib/ansible/fleet.yml's test: three hosts named like the
            # inventory's (fleet-a, -b, -c) with a machine-id each. a is the reference; b boots
            # with numa_balancing=disable (run-guest --append); c has four nodes. Only the
            # host is captured: the fleet policy declares no workloads.
            host=${1%%-linux-*}
            cat <<G
CAPTURE=--identity
setup 'hostname $host'
setup 'tr -d - </proc/sys/kernel/random/boot_id >/etc/machine-id'
G
            ;;
        linux-rt-2node)
            cat <<'G'
start plain probe 16
start membind numactl --membind=1 probe 32
G
            ;;
        linux-6.1-4node-asym)
            echo 'start membind numactl --membind=3 probe 32'
            ;;
        linux-6.1-cpuless)
            echo 'start membind numactl --membind=2 probe 32'
            ;;
        *) echo "record-fixtures: unknown fixture '$1'" >&2; return 1 ;;
    esac
}

for name in "$@"; do
    case "$name" in
        linux-6.1-2node) k=6.1 t=2node ;;
        linux-6.12-2node) k=6.12 t=2node ;;
        linux-rt-2node) k=rt t=2node ;;
        linux-6.1-4node-asym) k=6.1 t=4node-asym ;;
        linux-6.1-cpuless) k=6.1 t=cpuless ;;
        linux-6.1-2node-cgroup-v2 | linux-6.1-2node-cgroup-v1) k=6.1 t=2node ;;
        linux-6.1-2node-devices) k=6.1 t=2node ;;
        linux-6.12-2node-devices) k=6.12 t=2node ;;
        linux-rt-2node-devices) k=rt t=2node ;;
        linux-6.1-2node-isolated) k=6.1 t=2node ;;
        fleet-a-linux-6.1-2node | fleet-b-linux-6.1-2node-nobalancing) k=6.1 t=2node ;;
        fleet-c-linux-6.1-4node-asym) k=6.1 t=4node-asym ;;
        *) echo "record-fixtures: unknown fixture '$name' (known: $ALL)" >&2; exit 2 ;;
    esac
    set --
    case "$name" in
        *-devices) set -- --pci "$DEVICES" ;;
        *-isolated) set -- --pci "$DEVICES" --append "isolcpus=managed_irq,domain,3 nohz_full=3" ;;
        *-nobalancing) set -- --append numa_balancing=disable ;;
    esac
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/ng-fixture.XXXXXX")
    body=$(fixture_body "$name")
    printf '%s\n%s\n%s\n' "$PROLOGUE" "$body" "$EPILOGUE" >"$tmp/guest.sh"
    echo "record-fixtures: $name (kernel $k, topology $t)" >&2
    "$HERE/run-guest.sh" --kernel "$k" --topology "$t" --script "$tmp/guest.sh" --out "$tmp/out" "$@" || {
        echo "record-fixtures: $name failed; see $tmp/out/console.log" >&2
        exit 1
    }
    dest=$FIX/$name
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -a "$tmp/out/root/." "$dest/"
    cp -a "$tmp/out/oracle" "$dest/oracle"
    release=$(cat "$tmp/out/uname-r")
    qcmd=$(sed -e "s#$REPO/#<repo>/#g" -e "s#file:[^ ]*/console.log#file:console.log#" \
        -e "s#file:[^ ]*/results.raw#file:results.raw#" -e "s#-initrd [^ ]*#-initrd initrd.cpio#" \
        -e "s#file=[^ ,]*/\(nvme[0-9]*\.img\)#file=\1#g" "$tmp/out/qemu-cmdline")
    if [ $# -gt 0 ]; then
        printf '%s\n' "$qcmd" >"$dest/qemu-cmdline"
        cp "$CACHE/kernels/$k/package" "$dest/package"
        [ ! -e "$tmp/out/pci-map" ] || cp "$tmp/out/pci-map" "$dest/pci-map"
    fi
    {
        echo "# Fixture $name"
        echo
        echo "Recorded by \`scripts/vm/record-fixtures.sh $name\` (do not edit by hand; re-record instead)."
        echo "A host root: paths below this directory are the guest's absolute paths. Files were read"
        echo "with \`cat\` by \`scripts/vm/capture-host.sh\`, so contents are exactly what the kernel printed;"
        echo "a file that is absent was not provided by this kernel. \`proc/PID/exe\` is a symlink whose"
        echo "target is what \`readlink /proc/PID/exe\` printed."
        echo
        echo "- Kernel release: \`$release\` (\`--kernel $k\`, Debian package \`$(cat "$REPO/.vm/kernels/$k/package" 2>/dev/null || echo '?')\`)"
        echo "- Topology: \`$t\` (see scripts/vm/README.md)"
        if [ -e "$dest/pci-map" ]; then
            echo "- run-guest.sh options: \`$*\` (see \`pci-map\`: INDEX KIND NODE ROOT-PORT)"
        elif [ $# -gt 0 ]; then
            echo "- run-guest.sh options: \`$*\`"
        fi
        echo "- Guest: busybox initramfs, QEMU TCG \`-cpu max\`, no KVM"
        echo "- QEMU command line:"
        echo
        echo '```'
        echo "$qcmd"
        echo '```'
        echo
        if [ -s "$tmp/out/setup.txt" ]; then
            echo "Setup before the processes were started:"
            echo
            sed 's/^/    /' "$tmp/out/setup.txt"
            echo
        fi
        echo "Processes (each started from the guest's busybox sh as \`CMD &\`, then waited on until it"
        echo "printed \`ready\`, i.e. all its memory was touched; capture 1 s later). \`probe\` is"
        echo "scripts/vm/probe.c (\`probe [-P POLICY] [-H HUGETLB_MB] [-T THP_MB] ANON_MB [FILE]\`)."
        echo
        echo "| PID | name | command |"
        echo "|---|---|---|"
        while IFS='|' read -r pid pname cmd; do
            echo "| $pid | $pname | \`$cmd\` |"
        done <"$tmp/out/procs.txt"
        echo
        if [ -e "$dest/proc/1/mountinfo" ]; then
            echo "Cgroups (\`capture-host.sh --cgroups\`): \`proc/1/mountinfo\` is init's mountinfo (the guest has one"
            echo "mount namespace; a host root has no \`self\`), and for every cgroup directory under"
            echo "/sys/fs/cgroup its membership (\`cgroup.procs\`, v1 \`tasks\`), controllers, cpuset files and"
            echo "\`memory.numa_stat\` (v2: bytes; v1: pages, with \`hierarchical_\` lines), where the kernel has them."
            echo "Each process's stdout and stderr is \`/tmp/ng/NAME.out\` on the guest's tmpfs: the page it wrote"
            echo "\`ready\` to is charged to its memory cgroup as shmem (v2's \`shmem\` line; v1's \`anon\` counts the"
            echo "anonymous LRU lists, shmem included)."
            echo
        fi
        echo "Oracles (run in the guest right after the capture): \`oracle/numactl-hardware.txt\`"
        echo "(\`numactl --hardware\`), \`oracle/numastat.txt\` (\`numastat\`), \`oracle/numastat-p-PID.txt\`"
        echo "(\`numastat -p PID\`), \`oracle/numactl-show-NAME.txt\` (\`numactl OPTS numactl --show\` with"
        echo "the same OPTS the process NAME was started with; \`-default\`: no options)."
        if [ -e "$dest/oracle/interrupts-before-dd.txt" ]; then
            echo "\`oracle/interrupts-{before,after}-dd.txt\`: /proc/interrupts around the dd on the NVMe (the tree's"
            echo "\`proc/interrupts\` was read at the capture, later)."
        fi
        if ls "$dest"/oracle/numactl-device-* >/dev/null 2>&1; then
            echo "\`oracle/numactl-device-SPEC.txt\`: \`numactl -N SPEC -m SPEC numactl --show\` and its exit status, for"
            echo "each device specifier (\`:\` and \`/\` written \`_\` in the file name)."
        fi
        if [ -e "$dest/sys/kernel/irq" ]; then
            echo
            echo "Devices (\`capture-host.sh --devices --all-processes\`): class and PCI links are links (their text is what"
            echo "readlink printed), the device directories they resolve to and their ancestors hold the files"
            echo "the locality reader takes (numa_node, class, vendor, device, driver link, irq, msi_irqs/*,"
            echo "local_cpulist, ...); per IRQ proc/irq/N/* and sys/kernel/irq/N/*; proc/interrupts; the"
            echo "workqueue cpumasks; every process and task in /proc (kernel threads too)."
        fi
        echo
        echo "## numactl --hardware"
        echo
        echo '```'
        cat "$tmp/out/oracle/numactl-hardware.txt"
        echo '```'
        if [ ! -e "$dest/proc/sys/kernel/numa_balancing" ]; then
            echo
            echo "Note: \`/proc/sys/kernel/numa_balancing\` does not exist on this kernel (CONFIG_NUMA_BALANCING unset)."
        fi
        if [ ! -e "$dest/sys/kernel/mm/transparent_hugepage/enabled" ]; then
            echo
            echo "Note: \`/sys/kernel/mm/transparent_hugepage/\` does not exist on this kernel (CONFIG_TRANSPARENT_HUGEPAGE unset)."
        fi
    } >"$dest/README.md"
    rm -rf "$tmp"
    echo "record-fixtures: wrote $dest ($(find "$dest" -type f | wc -l) files, $(du -sh "$dest" | cut -f1))" >&2
done
