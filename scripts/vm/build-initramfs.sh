#!/bin/sh
# Build (and cache by content hash) the base busybox initramfs for the QEMU harness.
#
#   build-initramfs.sh [--binary PATH]      prints the path of the cached cpio archive
#
# Contents: busybox-static (+ applet symlinks), numactl, numastat, memhog, migratepages
# (+ their ldd libraries and the dynamic loader), util-linux setpriv at /usr/bin/setpriv
# (busybox's /bin/setpriv has no --bounding-set or --reuid, which the enforcer's tests need), /bin/probe (static, from probe.c),
# /bin/capture-host.sh, /init, /bin/irqbalance (the host's, or Debian's package's binary,
# downloaded, never installed; left out, with a message, when neither can be had), and with
# --binary the given binary at /bin/numaguard plus everything ldd reports for it. The per-run guest script is NOT in here: run-guest.sh
# appends a small second cpio archive holding /guest.sh (the kernel unpacks both).
# Cache: ${NUMAGUARD_VM_CACHE:-<repo>/.vm}/initramfs/<sha256>.cpio
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${NUMAGUARD_VM_CACHE:-$REPO/.vm}
BINARY=
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY=$2; shift 2 ;;
        --binary=*) BINARY=${1#--binary=}; shift ;;
        *) echo "build-initramfs: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

# Guests boot concurrently (scripts/test runs the VM tests two at a time): one build at a
# time per cache, so two first boots neither download irqbalance's package into the same place
# nor write the same image; the second finds the first one's image by its hash.
mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.initramfs.lock"
    flock 9
fi

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-initramfs: '$1' not found (apt-get install $2)" >&2; exit 1; }; }
need cpio cpio
need gcc gcc
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then BUSYBOX=$b; break; fi
done
[ -n "$BUSYBOX" ] || { echo "build-initramfs: static busybox not found (apt-get install busybox-static)" >&2; exit 1; }
TOOLS=
for t in numactl numastat memhog migratepages; do
    p=$(command -v "$t" || true)
    [ -n "$p" ] || { echo "build-initramfs: '$t' not found (apt-get install numactl)" >&2; exit 1; }
    TOOLS="$TOOLS $p"
done
SETPRIV=/usr/bin/setpriv
[ -x "$SETPRIV" ] || { echo "build-initramfs: $SETPRIV not found (apt-get install util-linux)" >&2; exit 1; }
# irqbalance: the host's when it has one; otherwise the binary out of Debian's package,
# `apt-get download`ed into $CACHE/debs/ and `dpkg-deb -x`ed into $CACHE/irqbalance/, never
# installed (installing the package enables and starts the daemon on the host). Its shared
# libraries come from the host: scripts/setup.sh --test installs them (libraries only).
# NUMAGUARD_VM_IRQBALANCE=download takes the package even when the host has irqbalance, =none
# leaves it out. Still optional: without a network (and no cached .deb) or without its
# libraries the image has none and this says why; IRQBalanceGuestTests fail on that under CI.
PATH=$PATH:/usr/sbin:/sbin
irqbalance_from_package() (
    deb=$(ls "$CACHE/debs/irqbalance_"*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        mkdir -p "$CACHE/debs" || exit 1
        dl=$(mktemp -d "$CACHE/debs/download.XXXXXX") || exit 1
        trap 'rm -rf "$dl"' EXIT
        (cd "$dl" && apt-get download irqbalance) >"$dl/log" 2>&1 || {
            echo "build-initramfs: apt-get download irqbalance failed (no network or no apt lists?):" >&2
            tail -n 3 "$dl/log" >&2
            exit 1
        }
        got=$(ls "$dl"/irqbalance_*.deb 2>/dev/null | head -n1)
        [ -n "$got" ] || { echo "build-initramfs: apt-get download irqbalance left no .deb" >&2; exit 1; }
        mv "$got" "$CACHE/debs/" || exit 1
        deb=$CACHE/debs/${got##*/}
        rm -rf "$dl"
        trap - EXIT
        echo "build-initramfs: downloaded $deb (not installed)" >&2
    fi
    name=${deb##*/}
    dest=$CACHE/irqbalance/${name%.deb}
    if [ ! -x "$dest/usr/sbin/irqbalance" ]; then
        mkdir -p "$CACHE/irqbalance" || exit 1
        tmp=$(mktemp -d "$CACHE/irqbalance/extract.XXXXXX") || exit 1
        trap 'rm -rf "$tmp"' EXIT
        dpkg-deb -x "$deb" "$tmp" && [ -x "$tmp/usr/sbin/irqbalance" ] || {
            echo "build-initramfs: no usr/sbin/irqbalance in $deb" >&2
            exit 1
        }
        rm -rf "$dest" && mv "$tmp" "$dest" || exit 1
    fi
    echo "$dest/usr/sbin/irqbalance"
)
IRQBALANCE=
case "${NUMAGUARD_VM_IRQBALANCE:-host}" in
    host) IRQBALANCE=$(command -v irqbalance || true) ;;
    download | none) ;;
    *) echo "build-initramfs: NUMAGUARD_VM_IRQBALANCE='$NUMAGUARD_VM_IRQBALANCE' (want host, download or none)" >&2; exit 2 ;;
esac
if [ -z "$IRQBALANCE" ] && [ "${NUMAGUARD_VM_IRQBALANCE:-host}" != none ]; then
    IRQBALANCE=$(irqbalance_from_package) || IRQBALANCE=
    if [ -n "$IRQBALANCE" ] && ldd "$IRQBALANCE" 2>&1 | grep -q 'not found'; then
        echo "build-initramfs: $IRQBALANCE needs libraries this host lacks (scripts/setup.sh --test installs them):" >&2
        ldd "$IRQBALANCE" | grep 'not found' >&2
        IRQBALANCE=
    fi
fi
if [ -n "$IRQBALANCE" ]; then
    TOOLS="$TOOLS $IRQBALANCE"
else
    echo "build-initramfs: the image has no irqbalance (NUMAGUARD_VM_IRQBALANCE=${NUMAGUARD_VM_IRQBALANCE:-host})" >&2
fi
if [ -n "$BINARY" ]; then
    [ -f "$BINARY" ] || { echo "build-initramfs: --binary '$BINARY' does not exist" >&2; exit 1; }
    BINARY=$(readlink -f "$BINARY")
fi

# Shared libraries (absolute paths as ldd resolves them) of the dynamic executables.
libs_of() {
    ldd "$1" 2>/dev/null | awk '
        /=> *\// { print $3; next }
        /^[ \t]*\/[^ ]+ \(0x/ { print $1 }' || true
}
# The front `numaguard` execs numaguard-tool from its own directory: ship both.
COMPANION=
if [ -n "$BINARY" ] && [ -f "$(dirname "$BINARY")/numaguard-tool" ]; then
    COMPANION=$(dirname "$BINARY")/numaguard-tool
fi
LIBS=$(for f in $TOOLS $SETPRIV $BINARY $COMPANION; do
    if ldd "$f" 2>&1 | grep -q 'not found'; then
        echo "build-initramfs: ldd $f reports missing libraries:" >&2
        ldd "$f" | grep 'not found' >&2
        exit 1
    fi
    libs_of "$f"
done | sort -u)

# Content hash over everything that ends up in the image.
HASH=$( {
    echo "v1"
    sha256sum "$HERE/build-initramfs.sh" "$HERE/init.sh" "$HERE/probe.c" "$HERE/capture-host.sh" "$BUSYBOX"
    for f in $TOOLS $SETPRIV $LIBS $BINARY $COMPANION; do printf '%s ' "$f"; sha256sum <"$f"; done
    gcc --version | head -n1
} | sha256sum | cut -c1-16)
OUTDIR=$CACHE/initramfs
IMG=$OUTDIR/$HASH.cpio
if [ -s "$IMG" ]; then
    touch "$IMG" 2>/dev/null || true # most recently used survives pruning
    echo "$IMG"
    exit 0
fi
mkdir -p "$OUTDIR"
STAGE=$(mktemp -d "$OUTDIR/stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
cd "$STAGE"
mkdir -p bin sbin usr/bin usr/sbin lib/x86_64-linux-gnu lib64 etc proc sys dev tmp out root run var/tmp mnt
ln -s ../lib usr/lib
cp "$BUSYBOX" bin/busybox
for a in $("$BUSYBOX" --list); do
    [ "$a" = busybox ] && continue
    [ -e "bin/$a" ] || ln -s busybox "bin/$a"
done
for t in $TOOLS; do cp -L "$t" "bin/${t##*/}"; done
cp -L "$SETPRIV" usr/bin/setpriv
for l in $LIBS; do
    mkdir -p ".$(dirname "$l")" 2>/dev/null || true
    # /usr/lib is a symlink to /lib inside the image; keep both spellings resolvable.
    case "$l" in
        /usr/lib/*) dst="lib/${l#/usr/lib/}" ;;
        /lib/* | /lib64/*) dst="${l#/}" ;;
        *) dst="${l#/}"; mkdir -p "$(dirname "$dst")" ;;
    esac
    mkdir -p "$(dirname "$dst")"
    cp -L "$l" "$dst"
done
gcc -O2 -static -o bin/probe "$HERE/probe.c"
cp "$HERE/capture-host.sh" bin/capture-host.sh
chmod 755 bin/capture-host.sh
if [ -n "$BINARY" ]; then cp -L "$BINARY" bin/numaguard; chmod 755 bin/numaguard; fi
if [ -n "$COMPANION" ]; then cp -L "$COMPANION" bin/numaguard-tool; chmod 755 bin/numaguard-tool; fi
cp "$HERE/init.sh" init
chmod 755 init
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >etc/group
echo numaguard-vm >etc/hostname
# Written under a name of its own and renamed: a reader without flock never sees half an image.
find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$IMG.tmp.$$"
mv "$IMG.tmp.$$" "$IMG"
# Keep the cache bounded: each --binary build is a new image; keep the 6 newest.
ls -t "$OUTDIR"/*.cpio 2>/dev/null | tail -n +7 | while IFS= read -r old; do rm -f "$old"; done
echo "$IMG"
