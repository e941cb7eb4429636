#!/bin/sh
# Boot a Debian kernel under QEMU (TCG, no KVM) with a chosen NUMA topology and run a
# guest script in a busybox initramfs; collect the files it writes to $OUT (= /out).
#
# run-guest.sh --kernel 6.1|6.12|rt --topology 2node|4node-asym|cpuless
#              --script GUEST_SCRIPT --out DIR
#              [--binary PATH_TO_NUMAGUARD] [--append "extra kernel cmdline"]
#              [--timeout SECONDS] [--add HOSTPATH[:GUESTPATH]]... [--qemu-arg ARG]...
#              [--pci KIND@NODE[,KIND@NODE]...]
#
# --pci (e.g. net@1,nvme@0,net@none; at most 6; KIND net|nvme|gpu; NODE a node of the topology,
#          or none = behind a root port on pcie.0, with no locality): boots a q35 machine with
#          a pxb-pcie host bridge per node used and the devices behind PCIe root ports, loads
#          virtio-net/NVMe modules from the kernel's own package, and fails with 90 when the
#          modules or devices did not come up (DIR/modules.log). Without it: machine pc.
#
# Results: DIR/<files the guest wrote under /out>, DIR/exit-code (guest script status),
#          DIR/console.log (ttyS0: kernel + guest script output), DIR/guest.log (guest
#          script stdout+stderr only), DIR/results.raw (ttyS1 stream), DIR/qemu-cmdline,
#          DIR/boot-time (guest uptime when /guest.sh started, seconds); with --pci also
#          DIR/pci-map ("INDEX KIND NODE ROOT-PORT"), DIR/modules.log, DIR/modules-status.
# Exit status: 0 if the guest script exited 0; the guest script's status (1..255) if it
#          failed; 90 harness/QEMU failure (with --pci also: modules or devices did not come
#          up, see DIR/modules.log); 91 timeout; 92 result markers missing/corrupt.
# A boot that does not reach /init within NUMAGUARD_VM_BOOT_TIMEOUT (60 s) is retried, up to
# NUMAGUARD_VM_BOOT_ATTEMPTS (3) boots in all.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${NUMAGUARD_VM_CACHE:-$REPO/.vm}

KERNEL= TOPO= SCRIPT= OUTDIR= BINARY= APPEND= TIMEOUT=300 ADDS= QEXTRA= PCI=
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) KERNEL=$2; shift 2 ;;
        --topology) TOPO=$2; shift 2 ;;
        --script) SCRIPT=$2; shift 2 ;;
        --out) OUTDIR=$2; shift 2 ;;
        --binary) BINARY=$2; shift 2 ;;
        --append) APPEND=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --add) ADDS="$ADDS
$2"; shift 2 ;;
        --qemu-arg) QEXTRA="$QEXTRA
$2"; shift 2 ;;
        --pci) PCI=$2; shift 2 ;;
        -h | --help) usage ;;
        *) echo "run-guest: unknown argument '$1'" >&2; usage ;;
    esac
done
fail() { echo "run-guest: $*" >&2; exit 90; }
[ -n "$KERNEL" ] && [ -n "$TOPO" ] && [ -n "$SCRIPT" ] && [ -n "$OUTDIR" ] || usage
case "$KERNEL" in 6.1 | 6.12 | rt) ;; *) fail "--kernel must be 6.1, 6.12 or rt (got '$KERNEL')" ;; esac
[ -f "$SCRIPT" ] || fail "guest script '$SCRIPT' not found"
case "$TIMEOUT" in '' | *[!0-9]*) fail "--timeout must be a number of seconds" ;; esac
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"

# --- topology -------------------------------------------------------------------
# Each: memory (MiB), -smp, and the -object/-numa arguments.
case "$TOPO" in
    2node)
        MEM=1024 SMP=4,sockets=2,cores=2,threads=1
        NUMA="-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M
-numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1,cpus=2-3
-numa dist,src=0,dst=1,val=21" ;;
    4node-asym)
        # Distance matrix (row = from, column = to); 1->2 != 2->1 and 0->3 != 3->0:
        #      0   1   2   3
        #  0  10  16  22  28
        #  1  16  10  18  22
        #  2  22  16  10  16
        #  3  30  22  16  10
        MEM=1024 SMP=4,sockets=4,cores=1,threads=1
        NUMA="-object memory-backend-ram,id=m0,size=256M -object memory-backend-ram,id=m1,size=256M
-object memory-backend-ram,id=m2,size=256M -object memory-backend-ram,id=m3,size=256M
-numa node,nodeid=0,memdev=m0,cpus=0 -numa node,nodeid=1,memdev=m1,cpus=1
-numa node,nodeid=2,memdev=m2,cpus=2 -numa node,nodeid=3,memdev=m3,cpus=3
-numa dist,src=0,dst=1,val=16 -numa dist,src=1,dst=0,val=16
-numa dist,src=0,dst=2,val=22 -numa dist,src=2,dst=0,val=22
-numa dist,src=0,dst=3,val=28 -numa dist,src=3,dst=0,val=30
-numa dist,src=1,dst=2,val=18 -numa dist,src=2,dst=1,val=16
-numa dist,src=1,dst=3,val=22 -numa dist,src=3,dst=1,val=22
-numa dist,src=2,dst=3,val=16 -numa dist,src=3,dst=2,val=16" ;;
    cpuless)
        # Node 2 has memory but no CPUs (memory-only node).
        MEM=1280 SMP=4,sockets=2,cores=2,threads=1
        NUMA="-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M
-object memory-backend-ram,id=m2,size=256M
-numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1,cpus=2-3
-numa node,nodeid=2,memdev=m2
-numa dist,src=0,dst=1,val=21 -numa dist,src=0,dst=2,val=30 -numa dist,src=1,dst=2,val=30" ;;
    *) fail "--topology must be 2node, 4node-asym or cpuless (got '$TOPO')" ;;
esac
NODES=$(printf '%s\n' "$NUMA" | grep -o 'nodeid=[0-9]*' | wc -l)

# --- PCI devices (--pci) ----------------------------------------------------------
# Per node used: a pxb-pcie expander bridge (bus 16*(N+1): 0x10 for node 0, 0x20 for node 1)
# whose _PXM puts everything behind it on node N; per device i a pcie-root-port (on its
# node's pxb at slot k = how many devices of that node came before, or on pcie.0 at slot
# 0x10+i for @none: pcie.0 has no _PXM, so numa_node -1), the device behind it. The root
# port's address is written to the guest's /etc/numaguard-vm.pci ("INDEX KIND NODE PORT").
MACHINE=pc PCIARGS= PCIMAP=
if [ -n "$PCI" ]; then
    case "$PCI" in *[!a-z0-9@,]* | ,* | *, | *,,*) fail "--pci '$PCI': want KIND@NODE[,KIND@NODE]... (KIND net|nvme|gpu, NODE a number or none)" ;; esac
    MACHINE=q35
    i=0 pxbs=
    for item in $(printf '%s' "$PCI" | tr , ' '); do
        [ "$i" -lt 6 ] || fail "--pci '$PCI': at most 6 devices"
        kind=${item%%@*} node=${item#*@}
        case "$item" in *@*@* | *@ | @*) fail "--pci item '$item': want KIND@NODE" ;; *@*) ;; *) fail "--pci item '$item': want KIND@NODE" ;; esac
        case "$kind" in net | nvme | gpu) ;; *) fail "--pci item '$item': KIND must be net, nvme or gpu" ;; esac
        case "$node" in
            none) bus=pcie.0 slot=$((16 + i)) port=$(printf '0000:00:%02x.0' "$slot") ;;
            0 | [1-9] | [1-9][0-9])
                [ "$node" -lt "$NODES" ] || fail "--pci item '$item': topology $TOPO has nodes 0-$((NODES - 1))"
                case " $pxbs " in
                    *" $node "*) ;;
                    *) pxbs="$pxbs $node"
                        PCIARGS="$PCIARGS -device pxb-pcie,id=pxb$node,bus_nr=$((16 * (node + 1))),numa_node=$node,bus=pcie.0,addr=$(printf '0x%x' $((node + 1)))" ;;
                esac
                slot=$(printf '%s\n' "$PCIMAP" | awk -v n="$node" '$3 == n' | wc -l)
                bus=pxb$node port=$(printf '0000:%02x:%02x.0' $((16 * (node + 1))) "$slot") ;;
            *) fail "--pci item '$item': NODE must be a node number or none" ;;
        esac
        PCIARGS="$PCIARGS -device pcie-root-port,id=rp$i,bus=$bus,chassis=$((i + 1)),slot=$((i + 1)),addr=$(printf '0x%x' "$slot")"
        case "$kind" in
            net) PCIARGS="$PCIARGS -netdev user,id=n$i,restrict=on -device virtio-net-pci,bus=rp$i,netdev=n$i" ;;
            nvme) PCIARGS="$PCIARGS -drive if=none,id=d$i,file=@WORK@/nvme$i.img,format=raw -device nvme,serial=ng$i,drive=d$i,bus=rp$i" ;;
            # A display-class PCI function (class 0x0380, no VGA ports) standing for a GPU: no
            # driver is loaded for it, so it is a bare PCI function, as a GPU without its
            # driver is (numaguard's class gpu: PCI class 0x03 or 0x12).
            gpu) PCIARGS="$PCIARGS -device bochs-display,bus=rp$i" ;;
        esac
        PCIMAP="$PCIMAP
$i $kind $node $port"
        i=$((i + 1))
    done
    PCIMAP=$(printf '%s\n' "$PCIMAP" | sed '/^$/d')
fi

KDIR=$CACHE/kernels/$KERNEL
if [ ! -s "$KDIR/vmlinuz" ] || [ ! -s "$KDIR/vmlinux" ] ||
    { [ -n "$PCI" ] && { [ ! -s "$KDIR/modules.cpio" ] || [ "$(cat "$KDIR/modules.package" 2>/dev/null)" != "$(cat "$KDIR/package")" ]; }; }; then
    "$HERE/fetch-kernels.sh" "$KERNEL" >&2 || fail "could not fetch kernel $KERNEL (or its modules)"
fi
# Default: boot the decompressed ELF vmlinux via QEMU's PVH entry (about 2.5 s faster than
# the bzImage under TCG, where the in-guest xz decompression is slow).
# NUMAGUARD_VM_BOOT=bzimage boots the packaged bzImage instead.
case "${NUMAGUARD_VM_BOOT:-pvh}" in
    bzimage) VMLINUZ=$KDIR/vmlinuz ;;
    *) VMLINUZ=$KDIR/vmlinux ;;
esac

# --- initramfs --------------------------------------------------------------------
if [ -n "$BINARY" ]; then
    BASE=$("$HERE/build-initramfs.sh" --binary "$BINARY") || fail "initramfs build failed"
else
    BASE=$("$HERE/build-initramfs.sh") || fail "initramfs build failed"
fi
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
# Clear previous harness outputs (guest files are overwritten on extraction).
rm -f "$OUTDIR/exit-code" "$OUTDIR/console.log" "$OUTDIR/guest.log" "$OUTDIR/results.raw" "$OUTDIR/boot-time" \
    "$OUTDIR/modules-status" "$OUTDIR/pci-map"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/numaguard-vm.XXXXXX")
QPID=
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/run/etc" "$WORK/run/bin"
cp "$SCRIPT" "$WORK/run/guest.sh"
{
    printf 'NUMAGUARD_VM_KERNEL=%s\nNUMAGUARD_VM_TOPOLOGY=%s\n' "$KERNEL" "$TOPO"
    printf 'export NUMAGUARD_VM_KERNEL NUMAGUARD_VM_TOPOLOGY\n'
    if [ -n "$PCI" ]; then
        printf 'NUMAGUARD_VM_PCI=%s\nexport NUMAGUARD_VM_PCI\n' "$PCI"
    fi
} >"$WORK/run/etc/numaguard-vm.env"
if [ -n "$PCI" ]; then
    printf '%s\n' "$PCIMAP" >"$WORK/run/etc/numaguard-vm.pci"
    printf '%s\n' "$PCIMAP" >"$OUTDIR/pci-map"
    for n in $(printf '%s\n' "$PCIMAP" | awk '$2 == "nvme" { print $1 }'); do
        truncate -s 64M "$WORK/nvme$n.img" || fail "cannot create the NVMe image in $WORK"
    done
    PCIARGS=$(printf '%s' "$PCIARGS" | sed "s#@WORK@#$WORK#g")
fi
if [ -n "$ADDS" ]; then
    printf '%s\n' "$ADDS" | while IFS= read -r spec; do
        [ -n "$spec" ] || continue
        src=${spec%%:*}
        case "$spec" in *:*) dst=${spec#*:} ;; *) dst=/${src##*/} ;; esac
        [ -e "$src" ] || fail "--add source '$src' not found"
        mkdir -p "$WORK/run$(dirname "$dst")"
        cp -a "$src" "$WORK/run$dst"
    done
fi
(cd "$WORK/run" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$WORK/run.cpio"
if [ -n "$PCI" ]; then
    # The modules (and their insmod order) between the base image and the per-run archive.
    cat "$BASE" "$KDIR/modules.cpio" "$WORK/run.cpio" >"$WORK/initrd.cpio"
else
    cat "$BASE" "$WORK/run.cpio" >"$WORK/initrd.cpio"
fi

CONSOLE=$OUTDIR/console.log
RESULTS=$OUTDIR/results.raw
: >"$CONSOLE"
: >"$RESULTS"
# no_timer_check: the kernel's early IO-APIC timer check counts timer ticks over a short busy
# wait; when the host is busy (guests side by side, or other builds) QEMU's single thread is
# descheduled through it and the guest panics "IO-APIC + timer doesn't work!" (seen under
# load). Every VM skips this check; nothing a test reads depends on it.
# shellcheck disable=SC2086
# Single-threaded TCG by default: with more vCPUs than host cores, multi-threaded TCG
# occasionally hung at boot (soft lockups) while the host was busy; thread=single boots
# just as fast. NUMAGUARD_VM_TCG_THREAD=multi selects MTTCG.
set -- qemu-system-x86_64 -accel "tcg,thread=${NUMAGUARD_VM_TCG_THREAD:-single}" -cpu max -machine "$MACHINE" -m "$MEM" -smp "$SMP" \
    $(printf '%s\n' "$NUMA") $PCIARGS \
    -nographic -nodefaults -no-user-config -monitor none -no-reboot \
    -serial "file:$CONSOLE" -serial "file:$RESULTS" \
    -kernel "$VMLINUZ" -initrd "$WORK/initrd.cpio" \
    -append "console=ttyS0 panic=-1 quiet no_timer_check $APPEND"
if [ -n "$QEXTRA" ]; then
    # shellcheck disable=SC2046
    set -- "$@" $(printf '%s\n' "$QEXTRA")
fi
# Shell-quoted command line, for the record.
for a in "$@"; do
    case "$a" in
        '' | *[!A-Za-z0-9_./:=,+@%-]*) printf "'%s' " "$a" ;;
        *) printf '%s ' "$a" ;;
    esac
done | sed 's/ $//' >"$OUTDIR/qemu-cmdline"
echo >>"$OUTDIR/qemu-cmdline"

tailinfo() {
    echo "--- last lines of $CONSOLE:" >&2
    tail -n 25 "$CONSOLE" >&2 || true
    if [ -s "$WORK/qemu.out" ]; then echo "--- QEMU output:" >&2; cat "$WORK/qemu.out" >&2; fi
}
# One boot attempt. Sets $qrc and $outcome (ok | timeout | bootstall).
boot_once() {
    : >"$CONSOLE"
    : >"$RESULTS"
    rm -f "$WORK/qemu.out"
    "$@" </dev/null >"$WORK/qemu.out" 2>&1 &
    QPID=$!
    t0=$(date +%s)
    outcome=ok
    while kill -0 "$QPID" 2>/dev/null; do
        now=$(date +%s)
        if [ $((now - t0)) -ge "$TIMEOUT" ]; then outcome=timeout; break; fi
        if [ $((now - t0)) -ge "$BOOT_TIMEOUT" ] && ! grep -q '^NUMAGUARD-VM-START' "$RESULTS" 2>/dev/null; then
            outcome=bootstall
            break
        fi
        sleep 0.2
    done
    if [ "$outcome" != ok ]; then
        kill "$QPID" 2>/dev/null || true
    fi
    qrc=0
    wait "$QPID" || qrc=$?
    QPID=
}

BOOT_TIMEOUT=${NUMAGUARD_VM_BOOT_TIMEOUT:-60}
ATTEMPTS=${NUMAGUARD_VM_BOOT_ATTEMPTS:-3}
start=$(date +%s.%N)
attempt=1
while :; do
    boot_once "$@"
    [ "$outcome" = bootstall ] || break
    echo "run-guest: guest did not reach /init within ${BOOT_TIMEOUT}s (attempt $attempt of $ATTEMPTS)" >&2
    tail -n 5 "$CONSOLE" >&2 || true
    cp "$CONSOLE" "$OUTDIR/console.bootstall-$attempt.log" 2>/dev/null || true
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
        echo "run-guest: TIMEOUT: guest never reached /init in $ATTEMPTS boots (kernel $KERNEL, topology $TOPO)" >&2
        tailinfo
        exit 91
    fi
    attempt=$((attempt + 1))
done
end=$(date +%s.%N)
wall=$(echo "$end $start" | awk '{printf "%.2f", $1 - $2}')

if [ "$outcome" = timeout ]; then
    echo "run-guest: TIMEOUT: guest did not finish within ${TIMEOUT}s (kernel $KERNEL, topology $TOPO)" >&2
    tailinfo
    exit 91
fi
if [ "$qrc" -ne 0 ]; then
    echo "run-guest: QEMU exited with status $qrc" >&2
    tailinfo
    exit 90
fi
section() { # section NAME -> base64 payload between the markers, CRs removed
    tr -d '\r' <"$RESULTS" | sed -n "/^NUMAGUARD-VM-$1-BEGIN\$/,/^NUMAGUARD-VM-$1-END\$/p" | sed '1d;$d'
}
if ! tr -d '\r' <"$RESULTS" | grep -q '^NUMAGUARD-VM-OUT-END$' ||
    ! tr -d '\r' <"$RESULTS" | grep -q '^NUMAGUARD-VM-EXIT [0-9]*$'; then
    echo "run-guest: result markers missing in $RESULTS (guest crashed or /init failed?)" >&2
    tailinfo
    exit 92
fi
if ! section OUT | base64 -d | tar -xzf - -C "$OUTDIR" --no-same-owner --no-same-permissions; then
    echo "run-guest: could not decode the /out archive from $RESULTS" >&2
    exit 92
fi
section LOG | base64 -d | gunzip -c >"$OUTDIR/guest.log" 2>/dev/null || true
rc=$(tr -d '\r' <"$RESULTS" | sed -n 's/^NUMAGUARD-VM-EXIT \([0-9]*\)$/\1/p' | tail -n1)
if [ -n "$PCI" ]; then
    modules=$(tr -d '\r' <"$RESULTS" | sed -n 's/^NUMAGUARD-VM-MODULES \([a-z]*\)$/\1/p' | head -n1)
    echo "${modules:-missing}" >"$OUTDIR/modules-status"
    if [ "$modules" != ok ]; then
        echo "$rc" >"$OUTDIR/exit-code"
        echo "run-guest: HARNESS FAILURE: --pci $PCI: kernel modules or devices did not come up (NUMAGUARD-VM-MODULES ${modules:-missing}); guest script exit $rc" >&2
        [ -f "$OUTDIR/modules.log" ] && sed 's/^/  modules.log: /' "$OUTDIR/modules.log" >&2
        exit 90
    fi
fi
echo "$rc" >"$OUTDIR/exit-code"
boot=$(tr -d '\r' <"$RESULTS" | sed -n 's/^NUMAGUARD-VM-START uptime=\([0-9.]*\).*/\1/p' | head -n1)
echo "$boot" >"$OUTDIR/boot-time"
echo "run-guest: kernel $KERNEL ($(cat "$KDIR/release")), topology $TOPO${PCI:+, pci $PCI}: guest script exit $rc; shell at ${boot}s guest uptime, ${wall}s wall total" >&2
exit "$rc"
