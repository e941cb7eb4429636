#!/bin/sh
# Fetch the three Debian kernels used by the QEMU harness (idempotent).
#   6.1  : dependency of linux-image-amd64
#   6.12 : dependency of linux-image-6.12-amd64
#   rt   : dependency of linux-image-rt-amd64 (6.1 PREEMPT_RT)
# Result: $CACHE/kernels/<flavor>/vmlinuz (bzImage), .../vmlinux (the decompressed ELF,
# booted through QEMU's PVH entry: skips in-guest xz/zstd decompression, which is slow
# under TCG) and .../release (uname -r).
# Usage: fetch-kernels.sh [6.1|6.12|rt ...]   (default: all three)
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${NUMAGUARD_VM_CACHE:-$REPO/.vm}
mkdir -p "$CACHE/debs" "$CACHE/kernels"

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
        return 0
    fi
    echo "fetch-kernels: $flavor: fetching $pkg" >&2
    deb=$(ls "$CACHE/debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        (cd "$CACHE/debs" && apt-get download "$pkg" >&2)
        deb=$(ls "$CACHE/debs/${pkg}_"*.deb | head -n1)
    fi
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
}

ensure_apt
[ $# -gt 0 ] || set -- 6.1 6.12 rt
rc=0
for f in "$@"; do fetch_one "$f" || rc=1; done
exit $rc
