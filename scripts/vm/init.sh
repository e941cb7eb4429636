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
read up _ </proc/uptime
echo "NUMAGUARD-VM-START uptime=$up kernel=$(uname -r)" >$R
echo "numaguard-vm: running /guest.sh (uptime $up s)" >/dev/console
if [ -f /guest.sh ]; then
    cd /
    { sh /guest.sh </dev/null; echo $? >/tmp/.rc; } 2>&1 | tee /tmp/.guest.log >/dev/console
    rc=$(cat /tmp/.rc 2>/dev/null || echo 255)
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
