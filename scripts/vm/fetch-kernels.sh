#!/bin/sh
# Fetch the three Debian kernels used by the QEMU harness (idempotent).
#   6.1  : dependency of linux-image-amd64
#   6.12 : dependency of linux-image-6.12-amd64
#   rt   : dependency of linux-image-rt-amd64 (6.1 PREEMPT_RT)
# Result: $CACHE/kernels/<flavor>/vmlinuz and $CACHE/kernels/<flavor>/release (uname -r).
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
    if [ -s "$dest/vmlinuz" ] && [ -s "$dest/release" ] && [ -f "$dest/package" ] &&
        [ "$(cat "$dest/package")" = "$pkg" ]; then
        echo "fetch-kernels: $flavor: $pkg already present ($(cat "$dest/release"))" >&2
        return 0
    fi
    echo "fetch-kernels: $flavor: downloading $pkg" >&2
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
