#!/bin/sh
# Fetch the three Debian kernels used by the QEMU harness (idempotent).
#   6.1  : dependency of linux-image-amd64
#   6.12 : dependency of linux-image-6.12-amd64
#   rt   : dependency of linux-image-rt-amd64 (6.1 PREEMPT_RT)
# Result: $CACHE/kernels/<flavor>/vmlinuz (bzImage), .../vmlinux (the decompressed ELF,
# booted through QEMU's PVH entry: skips in-guest xz/zstd decompression, which is slow
# under TCG), .../release (uname -r) and .../package (the Debian package).
# Also, from the SAME .deb, the kernel modules a `run-guest.sh --pci` guest needs (virtio-net
# and NVMe with their dependencies, see MODULES below): .../modules.cpio holds them as plain
# ELF .ko files in /lib/modules/numaguard/ and their insmod order in
# /etc/numaguard-modules.load; .../modules.load is that order, .../modules.package the
# package they came from. The order comes from `depmod -b` + `modprobe --show-depends` on the
# extracted tree (kmod), so built-in drivers (6.12 builds virtio in) are skipped and
# softdeps are included. Nothing here assumes a kernel release: Debian replaces them.
# Usage: fetch-kernels.sh [6.1|6.12|rt ...]   (default: all three)
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${NUMAGUARD_VM_CACHE:-$REPO/.vm}
mkdir -p "$CACHE/debs" "$CACHE/kernels"
# One fetch at a time per cache: run-guest.sh calls this for a missing kernel, and guests
# boot concurrently (scripts/test runs the VM tests two at a time).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.fetch-kernels.lock"
    flock 9
fi
# depmod/modprobe/modinfo live in /sbin or /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
# The drivers a --pci guest loads; modprobe adds what they depend on.
MODULES="virtio_pci virtio_net nvme"
# Where their dependencies live in the package (a tar pattern each; only these are
# extracted: the whole tree costs ~25 s more of depmod on xz modules). A dependency outside
# these is caught below by the modinfo `depends=` check, never silently left out.
MODULE_DIRS="kernel/drivers/virtio/* kernel/drivers/net/virtio_net.ko* kernel/drivers/net/net_failover.ko*
kernel/net/core/* kernel/drivers/nvme/host/* kernel/drivers/nvme/common/* kernel/block/* kernel/lib/*
kernel/crypto/* kernel/arch/x86/crypto/* modules.order modules.builtin modules.builtin.modinfo"

meta_for() {
    case "$1" in
        6.1) echo linux-image-amd64 ;;
        6.12) echo linux-image-6.12-amd64 ;;
        rt) echo linux-image-rt-amd64 ;;
        *) echo "fetch-kernels: unknown flavor '$1' (want 6.1, 6.12 or rt)" >&2; return 1 ;;
    esac
}

# Real image package the meta-package depends on (first linux-image-* Depends).
real_pkg() {
    apt-cache depends "$1" 2>/dev/null |
        sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ ]*\).*/\1/p' | head -n1
}

# Decompress the ELF vmlinux out of a bzImage (like the kernel's scripts/extract-vmlinux).
extract_vmlinux() {
    for spec in 'xz -dc:\xFD7zXZ\x00' 'zstd -dc:\x28\xB5\x2F\xFD' 'gzip -dc:\x1F\x8B\x08' 'lz4 -dc:\x02\x21\x4C\x18'; do
        cmd=${spec%%:*} magic=${spec#*:}
        command -v "${cmd%% *}" >/dev/null 2>&1 || continue
        for pos in $(LC_ALL=C grep -obUaP "$magic" "$1" | cut -d: -f1); do
            tail -c +$((pos + 1)) "$1" | $cmd >"$2" 2>/dev/null || true
            if [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
                return 0
            fi
        done
    done
    echo "fetch-kernels: could not extract vmlinux from $1" >&2
    rm -f "$2"
    return 1
}

ensure_apt() {
    if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
        echo "fetch-kernels: apt-cache has no package lists; running apt-get update" >&2
        apt-get update >&2
    fi
}

need_kmod() {
    for t in depmod modprobe modinfo; do
        command -v "$t" >/dev/null 2>&1 || {
            echo "fetch-kernels: '$t' not found (apt-get install kmod; scripts/setup.sh --test installs it)" >&2
            return 1
        }
    done
}

# decompress_ko SRC DST: busybox insmod takes a plain ELF module.
decompress_ko() {
    case "$1" in
        *.ko.xz) xz -dc "$1" >"$2" ;;
        *.ko.zst) zstd -qdc "$1" >"$2" ;;
        *.ko.gz) gzip -dc "$1" >"$2" ;;
        *.ko) cp "$1" "$2" ;;
        *) echo "fetch-kernels: unexpected module file $1" >&2; return 1 ;;
    esac
}

# extract_modules DEB PKG DEST: the modules of MODULES and their dependencies, in insmod order.
# Every step checks its status by hand: fetch_one runs in an `||` list, where `set -e` is off.
extract_modules() (
    deb=$1 pkg=$2 dest=$3
    die() { echo "fetch-kernels: $pkg: $*" >&2; exit 1; }
    need_kmod || exit 1
    work=$(mktemp -d "$CACHE/modules.XXXXXX") || die "mktemp failed"
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/tree" "$work/cpio/lib/modules/numaguard" "$work/cpio/etc" || die "mkdir failed"
    set -f
    pats=
    for p in $MODULE_DIRS; do pats="$pats ./lib/modules/*/$p"; done
    # A pattern this kernel has nothing for (6.1 has no drivers/nvme/common) makes tar
    # complain and fail; that is fine, a missing dependency is caught by the check below.
    # shellcheck disable=SC2086
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/tree" --wildcards $pats 2>"$work/tar.err"
    set +f
    grep -v -e 'Not found in archive' -e 'Exiting with failure status' "$work/tar.err" >&2
    release=$(ls "$work/tree/lib/modules" | head -n1)
    [ -n "$release" ] && [ -f "$work/tree/lib/modules/$release/modules.order" ] ||
        die "no lib/modules/*/modules.order in $deb"
    depmod -b "$work/tree" "$release" || die "depmod -b failed for $release"
    # shellcheck disable=SC2086
    modprobe -d "$work/tree" -S "$release" --show-depends -a $MODULES >"$work/depends" ||
        die "modprobe --show-depends $MODULES failed for $release"
    # "insmod PATH [params]" or "builtin NAME"; a module shared by two drivers is listed twice.
    : >"$work/order"
    for ko in $(awk '$1 == "insmod" { print $2 }' "$work/depends"); do
        name=${ko##*/}
        name=${name%%.ko*}
        grep -qx "$name" "$work/order" && continue
        decompress_ko "$ko" "$work/cpio/lib/modules/numaguard/$name.ko" || die "cannot decompress $ko"
        echo "$name" >>"$work/order"
    done
    # Every `depends=` of every module must be loaded before it or be built in: a dependency
    # outside MODULE_DIRS would otherwise be missing from modules.dep without a word.
    builtin=$(sed -n 's#.*/\([^/]*\)\.ko$#\1#p' "$work/tree/lib/modules/$release/modules.builtin" | tr - _)
    seen=
    while IFS= read -r name; do
        deps=$(modinfo -F depends "$work/cpio/lib/modules/numaguard/$name.ko") || die "modinfo $name.ko failed"
        for dep in $(echo "$deps" | tr , ' '); do
            d=$(echo "$dep" | tr - _)
            case " $seen " in *" $d "*) continue ;; esac
            printf '%s\n' "$builtin" | grep -qx "$d" ||
                die "$name needs $dep, which is neither extracted (MODULE_DIRS) nor built in"
        done
        seen="$seen $(echo "$name" | tr - _)"
    done <"$work/order"
    grep -q . "$work/order" || echo "fetch-kernels: $release: every one of $MODULES is built in" >&2
    cp "$work/order" "$work/cpio/etc/numaguard-modules.load" || die "cp failed"
    (cd "$work/cpio" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/modules.cpio" ||
        die "cpio failed"
    # modules.package last: it is what says the other two are complete.
    rm -f "$dest/modules.package"
    mv "$work/modules.cpio" "$dest/modules.cpio" && cp "$work/order" "$dest/modules.load" &&
        printf '%s\n' "$pkg" >"$dest/modules.package" || die "cannot write $dest"
    echo "fetch-kernels: $release: modules for --pci guests: $(tr '\n' ' ' <"$work/order")" >&2
)

modules_present() { # modules_present DEST PKG
    [ -s "$1/modules.cpio" ] && [ -f "$1/modules.load" ] && [ -f "$1/modules.package" ] &&
        [ "$(cat "$1/modules.package")" = "$2" ]
}

deb_of() { # deb_of PKG: the cached .deb, downloaded if missing
    deb=$(ls "$CACHE/debs/${1}_"*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        (cd "$CACHE/debs" && apt-get download "$1" >&2)
        deb=$(ls "$CACHE/debs/${1}_"*.deb | head -n1)
    fi
    echo "$deb"
}

fetch_one() {
    flavor=$1
    dest=$CACHE/kernels/$flavor
    meta=$(meta_for "$flavor")
    pkg=$(real_pkg "$meta")
    if [ -z "$pkg" ]; then
        echo "fetch-kernels: cannot resolve dependency of $meta (not available in apt?)" >&2
        return 1
    fi
    if [ -s "$dest/vmlinuz" ] && [ -s "$dest/vmlinux" ] && [ -s "$dest/release" ] && [ -f "$dest/package" ] &&
        [ "$(cat "$dest/package")" = "$pkg" ]; then
        echo "fetch-kernels: $flavor: $pkg already present ($(cat "$dest/release"))" >&2
        modules_present "$dest" "$pkg" || extract_modules "$(deb_of "$pkg")" "$pkg" "$dest" || return 1
        return 0
    fi
    echo "fetch-kernels: $flavor: fetching $pkg" >&2
    deb=$(deb_of "$pkg")
    tmp=$(mktemp -d "$CACHE/extract.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
    vml=$(ls "$tmp"/boot/vmlinuz-* | head -n1)
    release=${vml##*/vmlinuz-}
    mkdir -p "$dest"
    cp "$vml" "$dest/vmlinuz.tmp" && mv "$dest/vmlinuz.tmp" "$dest/vmlinuz"
    extract_vmlinux "$dest/vmlinuz" "$dest/vmlinux.tmp"
    mv "$dest/vmlinux.tmp" "$dest/vmlinux"
    printf '%s\n' "$release" >"$dest/release"
    printf '%s\n' "$pkg" >"$dest/package"
    rm -rf "$tmp"
    trap - EXIT
    echo "fetch-kernels: $flavor: $release -> $dest/vmlinuz" >&2
    modules_present "$dest" "$pkg" || extract_modules "$deb" "$pkg" "$dest"
}

ensure_apt
[ $# -gt 0 ] || set -- 6.1 6.12 rt
rc=0
for f in "$@"; do fetch_one "$f" || rc=1; done
exit $rc
