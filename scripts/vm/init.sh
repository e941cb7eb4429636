#!/bin/sh
# /init of the numaguard QEMU harness guest (busybox sh). Installed by build-initramfs.sh.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname numaguard-vm 2>/dev/null
R=/dev/ttyS1
stty -F $R raw -echo 2>/dev/null
# Optional per-run environment (written by run-guest.sh into the appended cpio).
[ -f /etc/numaguard-vm.env ] && . /etc/numaguard-vm.env
export OUT=/out
mkdir -p /out
# --pci guests (run-guest.sh ships the modules and their order as an extra archive): insmod
# each, in order, then wait up to 10 s for every device NUMAGUARD_VM_PCI asked for. The
# marker tells a harness failure (no driver, no device) apart from a failing test.
if [ -f /etc/numaguard-modules.load ]; then
    : >/out/modules.log
    while IFS= read -r m; do
        [ -n "$m" ] || continue
        insmod "/lib/modules/numaguard/$m.ko" >>/out/modules.log 2>&1 || echo "insmod $m failed" >>/out/modules.log
        read up _ </proc/uptime; echo "uptime $up: $m" >>/out/modules.log
    done </etc/numaguard-modules.load
    want_net=0 want_nvme=0
    for d in $(echo "${NUMAGUARD_VM_PCI:-}" | tr , ' '); do
        case "$d" in net@*) want_net=$((want_net + 1)) ;; nvme@*) want_nvme=$((want_nvme + 1)) ;; esac
    done
    # 10 s of guest uptime (a count of polls would stretch under a slow TCG).
    read up _ </proc/uptime
    deadline=$((${up%.*} + 10))
    while :; do
        have_net=$(ls -d /sys/class/net/*/device 2>/dev/null | wc -l)
        have_nvme=$(ls -d /sys/class/block/nvme*n1 2>/dev/null | wc -l)
        [ "$have_net" -ge $want_net ] && [ "$have_nvme" -ge $want_nvme ] && break
        read up _ </proc/uptime
        [ "${up%.*}" -ge $deadline ] && break
        sleep 0.1
    done
    read up _ </proc/uptime
    echo "uptime $up: net devices $have_net of $want_net, nvme namespaces $have_nvme of $want_nvme" >>/out/modules.log
    if [ "$have_net" -ge $want_net ] && [ "$have_nvme" -ge $want_nvme ]; then
        echo "NUMAGUARD-VM-MODULES ok" >$R
    else
        echo "NUMAGUARD-VM-MODULES failed" >$R
        cat /out/modules.log >/dev/console
    fi
fi
read up _ </proc/uptime
echo "NUMAGUARD-VM-START uptime=$up kernel=$(uname -r)" >$R
echo "numaguard-vm: running /guest.sh (uptime $up s)" >/dev/console
if [ -f /guest.sh ]; then
    cd /
    # Output goes to a file (mirrored to the console by tail -f), not a pipe: background
    # processes the script leaves running must not keep us waiting for EOF.
    : >/tmp/.guest.log
    tail -f /tmp/.guest.log >/dev/console 2>/dev/null &
    tailpid=$!
    sh /guest.sh </dev/null >>/tmp/.guest.log 2>&1
    rc=$?
    sleep 1
    kill $tailpid 2>/dev/null
else
    echo "numaguard-vm: no /guest.sh" >/dev/console
    rc=255
fi
cd /
read up _ </proc/uptime
{
    echo "NUMAGUARD-VM-DONE uptime=$up"
    echo "NUMAGUARD-VM-OUT-BEGIN"
    tar -C /out -czf - . | base64
    echo "NUMAGUARD-VM-OUT-END"
    echo "NUMAGUARD-VM-LOG-BEGIN"
    gzip -c /tmp/.guest.log | base64
    echo "NUMAGUARD-VM-LOG-END"
    echo "NUMAGUARD-VM-EXIT $rc"
} >$R
sync
poweroff -f
