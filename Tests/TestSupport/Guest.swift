// XCTest exists only in the toolchain's test configuration: a packager's
// `swift build -c release --static-swift-stdlib` builds this target without it.
#if canImport(XCTest)
import Foundation
import XCTest

/// Boots a real Linux kernel with a chosen NUMA topology under QEMU (scripts/vm) and runs
/// a guest script with numaguard, numactl, numastat and the probe workload inside.
///
/// VM tests need the guest kernels and a statically linked numaguard; scripts/test
/// provides both and sets NUMAGUARD_VM_TESTS=1. A plain `swift test` skips them and says so.
public struct Guest {
    public enum Kernel: String, Sendable { case linux61 = "6.1", linux612 = "6.12", rt }
    public enum Topology: String, Sendable { case twoNode = "2node", fourNodeAsymmetric = "4node-asym", cpuless }

    public let directory: URL
    public let exitCode: Int32
    /// run-guest.sh's stderr: the harness's notes (build-initramfs says there what the image lacks and why).
    public let harnessLog: String
    /// The Debian package scripts/vm/fetch-kernels.sh fetched for this flavour, and its release.
    public let package: KernelPackage

    /// What `uname -r` said inside the guest. Tests compare with this, never with a recorded
    /// release: Debian replaces its kernel packages (6.1.0-56 became 6.1.0-57) and the guest
    /// boots whatever apt serves that day.
    public var kernelRelease: String {
        get throws { try text("uname-r").trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// `append`: extra kernel command line (e.g. `numa_balancing=disable`).
    /// `pci`: run-guest.sh's `--pci` list (e.g. `net@1,nvme@0,net@none`): a q35 machine with
    /// those devices on those nodes (see scripts/vm/README.md); the guest's `qemu-cmdline`
    /// says where each went (`QEMUPlacement`). A failure to bring them up is exit 90.
    public static func boot(_ kernel: Kernel, _ topology: Topology, append: String? = nil, pci: String? = nil, script: String,
                            file: StaticString = #filePath, line: UInt = #line) throws -> Guest {
        let environment = ProcessInfo.processInfo.environment
        guard environment["NUMAGUARD_VM_TESTS"] == "1" else {
            throw XCTSkip("VM test: run scripts/test (it fetches the guest kernels, builds the static binary and sets NUMAGUARD_VM_TESTS=1)")
        }
        guard let binary = environment["NUMAGUARD_STATIC_BIN"] else {
            XCTFail("NUMAGUARD_STATIC_BIN must name the numaguard scripts/build-release builds", file: file, line: line)
            throw XCTSkip("no static binary")
        }
        // Under NUMAGUARD_VM_WORK when scripts/test sets it (a directory it empties first, so
        // the last run's guests stay there to read after a failure and no run adds to the
        // last); the system's temporary directory otherwise. A guest leaves 0.1-4 MB.
        let base = environment["NUMAGUARD_VM_WORK"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let work = base.appendingPathComponent("numaguard-vmtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let scriptURL = work.appendingPathComponent("guest.sh")
        try (Guest.library + "\n" + script).write(to: scriptURL, atomically: true, encoding: .utf8)
        let out = work.appendingPathComponent("out")
        let booted = KernelPackage(kernel)
        // Named before the boot, so a failure (or a hang) in the log says which package it was.
        FileHandle.standardError.write(Data("guest \(kernel.rawValue)/\(topology.rawValue): booting \(booted.description)\n".utf8))
        let harness = Command.repositoryRoot.appendingPathComponent("scripts/vm/run-guest.sh").path
        let result = try Command.run("/bin/sh", [
            harness, "--kernel", kernel.rawValue, "--topology", topology.rawValue,
            "--script", scriptURL.path, "--out", out.path, "--binary", binary, "--timeout", "600",
        ] + (append.map { ["--append", $0] } ?? []) + (pci.map { ["--pci", $0] } ?? []))
        let guest = Guest(directory: out, exitCode: result.status, harnessLog: result.stderr, package: booted)
        if result.status != 0 {
            XCTFail("guest \(kernel.rawValue)/\(topology.rawValue) (\(booted.description)) exited \(result.status) (its files: \(out.path)): \(result.stderr)\n"
                    + "guest log:\n\((try? guest.text("guest.log")) ?? "(none)")", file: file, line: line)
        }
        return guest
    }

    public func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    public func json(_ name: String) throws -> [String: Any] {
        try Command.json(try text(name))
    }

    /// Shell functions every guest script can use.
    static let library = #"""
        set -u
        uname -r >$OUT/uname-r
        # start NAME [numactl args...] -- probe args: start the probe under numactl, wait for "ready",
        # and record its pid in /tmp/NAME.pid.
        start() {
            name=$1; shift
            ( exec "$@" >/tmp/$name.out 2>/tmp/$name.err ) &
            i=0
            while ! grep -q ready /tmp/$name.out 2>/dev/null; do
                i=$((i+1)); [ $i -gt 600 ] && { echo "probe $name never became ready"; cat /tmp/$name.err; exit 1; }
                sleep 0.1
            done
            head -n1 /tmp/$name.out >/tmp/$name.pid
        }
        pid_of() { cat /tmp/$1.pid; }
        # record NAME: what numaguard says about the probe next to what the kernel and numastat say.
        record() {
            p=$(pid_of $1)
            numaguard inspect $p --format json >$OUT/inspect-$1.json 2>$OUT/inspect-$1.err; echo $? >$OUT/inspect-$1.status
            numaguard inspect $p >$OUT/inspect-$1.txt 2>&1
            numastat -p $p >$OUT/numastat-$1.txt 2>&1
            cat /proc/$p/numa_maps >$OUT/numa_maps-$1
            cat /proc/$p/status >$OUT/status-$1
        }
        topology() {
            numaguard topology --format json >$OUT/topology.json 2>$OUT/topology.err || echo "topology json failed: $(cat $OUT/topology.err)"
            numaguard topology >$OUT/topology.txt 2>&1
            numactl --hardware >$OUT/numactl-hardware.txt 2>&1
            for d in /sys/devices/system/node/node[0-9]*; do echo "${d##*node} $(cat $d/distance)"; done >$OUT/distances.txt
            cat /proc/sys/kernel/numa_balancing >$OUT/numa_balancing 2>/dev/null || echo absent >$OUT/numa_balancing
        }
        """#
}

/// Which kernel package a flavour boots, as scripts/vm/fetch-kernels.sh left it in the cache
/// (`package` and `release` beside the vmlinux).
public struct KernelPackage: Sendable, CustomStringConvertible {
    public let package: String?
    public let release: String?

    init(_ kernel: Guest.Kernel) {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["NUMAGUARD_VM_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? Command.repositoryRoot.appendingPathComponent(".vm")
        let directory = cache.appendingPathComponent("kernels").appendingPathComponent(kernel.rawValue)
        func read(_ name: String) -> String? {
            (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        package = read("package")
        release = read("release")
    }

    public var description: String {
        "\(package ?? "kernel package unknown (not yet fetched)") (release \(release ?? "unknown"))"
    }
}
#endif
