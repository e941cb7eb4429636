#!/usr/bin/env bash
# Installs what numaguard needs on a fresh Debian/Ubuntu machine (run as root or with sudo).
#   scripts/setup.sh          build and run: libnuma, libcap, libyaml (the policy loader's parser),
#                             numactl (numastat is the inspect oracle)
#   scripts/setup.sh --test   also the QEMU harness (qemu, busybox, cpio, a static C compiler, kmod for
#                             the --pci guests' module order, irqbalance's libraries but not
#                             irqbalance), promtool,
#                             and what contrib/'s tests run: ansible-core, systemd-analyze
set -euo pipefail
packages=(pkg-config libnuma-dev libcap-dev libyaml-dev numactl)
if [ "${1:-}" = "--test" ]; then
    # prometheus provides promtool, which checks the audit's and watch's metrics and tests
    # contrib's alert rules; ansible-core runs contrib's certify playbook against localhost and
    # its fleet playbook against three captured guests (local connection, --host-root);
    # systemd provides systemd-analyze, which verifies contrib's unit; python3 (ctypes) lets a
    # run test ignore signals 32 and 33 the way only a raw system call can; libxml2-utils
    # provides xmllint, which validates the JUnit output (audit, certify, fleet report) against
    # the Jenkins schema's rules.
    # The libraries irqbalance links (libcap-ng0 libglib2.0-0 libnuma1 libsystemd0): the QEMU
    # images ship Debian's irqbalance binary, downloaded and unpacked by
    # scripts/vm/build-initramfs.sh, never installed here (the package starts the daemon).
    packages+=(qemu-system-x86 busybox-static cpio gzip zstd xz-utils kmod gcc libc6-dev util-linux prometheus ansible-core systemd python3 libxml2-utils
        libcap-ng0 libglib2.0-0 libnuma1 libsystemd0)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "setup: installing ${missing[*]}" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null; then
    [ -x /opt/swift/usr/bin/swift ] && echo "setup: add /opt/swift/usr/bin to PATH" >&2
    echo "setup: a Swift 6 toolchain is required (swift not on PATH)" >&2
    exit 1
fi
