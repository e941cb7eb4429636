import Foundation
import NumaguardHost
import NumaguardReport
import NumaguardSnapshot
import TestSupport
import XCTest

/// A capture is a host root: unpacked, it must read exactly as the host it was taken from.
final class CaptureTests: XCTestCase {
    private var directories: [URL] = []

    override func tearDown() {
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
    }

    /// Captures `root` and unpacks it with GNU tar.
    private func roundTrip(_ root: String, excluding pid: Int? = nil) throws -> (unpacked: URL, result: Capture.Result, listing: [String]) {
        let result = try Capture.run(root: HostRoot(path: root), toolVersion: "test", takenAt: "2026-11-21T00:00:00Z",
                                     epoch: 1_790_000_000, excludingPID: pid)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-capture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        directories.append(directory)
        let file = directory.appendingPathComponent("capture.tar")
        try Data(result.archive).write(to: file)
        let unpacked = directory.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        XCTAssertEqual(try Command.run("/usr/bin/tar", ["-xf", file.path, "-C", unpacked.path]).status, 0)
        let listing = try Command.run("/usr/bin/tar", ["-tf", file.path]).stdout.split(separator: "\n").map(String.init)
        return (unpacked, result, listing)
    }

    func testCapturedFixtureSnapshotsTheSame() throws {
        for name in Fixtures.names {
            let (unpacked, result, _) = try roundTrip(Fixtures.path(name))
            XCTAssertEqual(try SnapshotReaderTests.snapshot(unpacked.path), try SnapshotReaderTests.snapshot(Fixtures.path(name)), name)
            XCTAssertEqual(result.manifest.skipped, [], name)
        }
    }

    func testSymlinkedDevicesSurviveAndOnlyReadFilesAreTaken() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        try host.write("proc/122/environ", "SECRET=hunter2\0")
        try host.write("proc/122/mem", "memory contents")
        try host.write("sys/devices/pci0000:00/0000:3b:00.0/config", "binary config space")
        let (unpacked, result, listing) = try roundTrip(host.path)
        XCTAssertEqual(try SnapshotReaderTests.snapshot(unpacked.path), try SnapshotReaderTests.snapshot(host.path))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: unpacked.appendingPathComponent("sys/class/net/ens1f0").path),
                       "../../devices/pci0000:00/0000:3b:00.0/net/ens1f0")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: unpacked.appendingPathComponent("proc/122/exe").path), "/bin/probe")
        for path in listing {
            XCTAssertFalse(path.hasSuffix("/environ") || path.hasSuffix("/mem") || path.hasSuffix("/config"), path)
        }
        XCTAssertFalse(listing.contains("sys/class/net/lo"), "lo is listed but never followed: not taken")
        XCTAssertTrue(listing.contains("proc/irq/121/smp_affinity_list"))
        XCTAssertTrue(listing.contains("sys/devices/pci0000:00/0000:3b:00.0/msi_irqs/121"))
        XCTAssertTrue(listing.contains("etc/tuned/active_profile"))
        XCTAssertTrue(listing.contains(Capture.manifestName))
        XCTAssertEqual(result.manifest.symlinks, 14, "class link and device link of ens1f0, eth0 and nvme0; exe of the 8 recorded probes")
        let manifest = try String(contentsOf: unpacked.appendingPathComponent(Capture.manifestName), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"kind\" : \"capture\""), manifest)
        XCTAssertTrue(manifest.contains("\"tool_version\" : \"test\""), manifest)
    }

    /// Two cgroups whose names are equal as Strings (canonically equivalent) but not as bytes
    /// are two directories: both are captured (a Set of Strings took the second for the first).
    func testCanonicallyEqualNamesAreTwoPaths() throws {
        let copy = try Fixtures.copy("linux-6.1-2node-cgroup-v2")
        defer { try? FileManager.default.removeItem(at: copy) }
        let cgroup = copy.appendingPathComponent("sys/fs/cgroup")
        let names = ["caf\u{E9}", "cafe\u{301}"]
        XCTAssertEqual(names[0], names[1], "equal as Strings")
        for name in names {
            try FileManager.default.copyItem(at: cgroup.appendingPathComponent("engine"), to: cgroup.appendingPathComponent(name))
        }
        let (unpacked, _, _) = try roundTrip(copy.path)
        for name in names {
            XCTAssertTrue(FileManager.default.fileExists(atPath: unpacked.appendingPathComponent("sys/fs/cgroup/\(name)/cpuset.cpus").path),
                          "\(Array(name.utf8))")
        }
    }

    func testUnreadableFilesAreListedAndTheCaptureGoesOn() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        // A directory where the kernel has a file: a captured root reads regular files only.
        try FileManager.default.removeItem(at: copy.appendingPathComponent("proc/139/numa_maps"))
        try FileManager.default.createDirectory(at: copy.appendingPathComponent("proc/139/numa_maps"), withIntermediateDirectories: false)
        let (unpacked, result, listing) = try roundTrip(copy.path)
        XCTAssertEqual(result.manifest.skipped, [.init(path: "proc/139/numa_maps", error: "it is a directory, not a regular file")])
        XCTAssertTrue(listing.contains("proc/139/status"), "the rest of the process is taken")
        XCTAssertTrue(listing.contains("proc/168/numa_maps"), "and every other process")
        let manifest = try String(contentsOf: unpacked.appendingPathComponent(Capture.manifestName), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"path\" : \"proc/139/numa_maps\""), manifest)
    }

    func testABrokenTopologyIsStillCaptured() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("sys/devices/system/node/node1/distance"))
        let (_, result, listing) = try roundTrip(copy.path)
        XCTAssertEqual(result.manifest.skipped, [
            .init(path: "sys/devices/system/node/node1/distance", error: "the snapshot reader stopped here: \(Errno.noEntry)"),
        ])
        XCTAssertTrue(listing.contains("sys/devices/system/node/node0/distance"))
        XCTAssertTrue(listing.contains("proc/122/numa_maps"), "processes are captured all the same")
    }

    func testTheCapturingProcessIsLeftOut() throws {
        let (_, result, listing) = try roundTrip(Fixtures.path("linux-6.1-2node"), excluding: 122)
        XCTAssertFalse(listing.contains { $0.hasPrefix("proc/122/") }, "\(listing.filter { $0.hasPrefix("proc/122") })")
        XCTAssertTrue(listing.contains("proc/139/stat"))
        XCTAssertEqual(result.manifest.excluded, ["proc/122: the numaguard process taking the capture"])
    }

    /// A file the capture could not read is unreadable in its copy too, at the captured root's
    /// path, so the copy's snapshot is the host's, incomplete where the host's was (debugfs
    /// locked down: the copy's snapshot had come out complete, and a diff saw nothing).
    func testWhatACaptureCouldNotReadIsUnreadableInTheCopy() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        // A directory where a file should be: a captured root reads regular files only.
        for relative in ["sys/kernel/debug/sched/numa_balancing/scan_size_mb", "sys/kernel/mm/transparent_hugepage/shmem_enabled"] {
            try? FileManager.default.removeItem(at: host.root.appendingPathComponent(relative))
            try FileManager.default.createDirectory(at: host.root.appendingPathComponent(relative), withIntermediateDirectories: true)
        }
        let original = try SnapshotReaderTests.snapshot(host.path)
        XCTAssertEqual(original.unreadable.map(\.id), ["debugfs.numa_balancing.scan_size_mb", "thp.shmem_enabled"])
        let (unpacked, result, _) = try roundTrip(host.path)
        XCTAssertEqual(result.manifest.skipped.map(\.path),
                       ["sys/kernel/debug/sched/numa_balancing/scan_size_mb", "sys/kernel/mm/transparent_hugepage/shmem_enabled"])
        let copy = try SnapshotReaderTests.snapshot(unpacked.path)
        XCTAssertEqual(copy, original)
        XCTAssertEqual(copy.kernel.numaBalancingDebug, ["scan_delay_ms": "1000", "scan_period_min_ms": "1000"])

        // A capture of the copy has not read them either, and says so, at the first root.
        let (again, second, listing) = try roundTrip(unpacked.path)
        XCTAssertEqual(second.manifest.skipped.map(\.path), result.manifest.skipped.map(\.path))
        XCTAssertEqual(second.manifest.skipped.map(\.source), [host.path, host.path])
        XCTAssertEqual(try SnapshotReaderTests.snapshot(again.path).unreadable, original.unreadable)
        XCTAssertEqual(listing.filter { $0 == Capture.manifestName }.count, 1, "the copy's manifest is replaced, not stored beside the new one")
    }

    /// The manifest is input like any other: one that does not decode makes the copy's
    /// snapshot incomplete (what the capture missed is unknown), and a gap's name never
    /// lists `.`, `..` or an empty name in a directory.
    func testACaptureManifestIsCheckedLikeAnyInput() throws {
        let (unpacked, _, _) = try roundTrip(Fixtures.path("linux-6.1-2node"))
        let manifest = unpacked.appendingPathComponent(Capture.manifestName)
        let complete = try SnapshotReaderTests.snapshot(unpacked.path)
        XCTAssertEqual(complete.unreadable, [])
        for broken in ["not json", #"{"kind": "snapshot", "format_version": 1, "source": "/", "skipped": []}"#, #"{"kind": "capture"}"#] {
            try Data(broken.utf8).write(to: manifest)
            let snapshot = try SnapshotReaderTests.snapshot(unpacked.path)
            XCTAssertEqual(snapshot.unreadable.map(\.id), ["capture.manifest"], broken)
            XCTAssertEqual(snapshot.unreadable.first?.path, manifest.path, broken)
            var rest = snapshot
            rest.unreadable = []
            XCTAssertEqual(rest, complete, "only the manifest is reported: \(broken)")
        }
        // The recorded guest has no debugfs: the gaps name its directory's files, as a
        // capture of a host whose debugfs is locked down does.
        let debug = "sys/kernel/debug/sched/numa_balancing"
        let hostile = """
            {"kind": "capture", "format_version": \(DocumentKind.capture.formatVersion), "source": "/h\\u001b[2J", "skipped": [
              {"path": "\(debug)/..", "error": "e"}, {"path": "\(debug)/.", "error": "e"}, {"path": "\(debug)/", "error": "e"},
              {"path": "\(debug)/scan_size_mb", "error": "Operation not permitted"},
              {"path": "proc/sys/kernel/numa_balancing\\u0000junk", "error": "e"},
              {"path": "\(debug)/\(String(repeating: "n", count: 256))", "error": "e"},
              {"path": "sys/kernel/mm/transparent_hugepage/enabled", "error": "Permission denied"}]}
            """
        try Data(hostile.utf8).write(to: manifest)
        let snapshot = try SnapshotReaderTests.snapshot(unpacked.path)
        XCTAssertEqual(snapshot.unreadable, [SnapshotUnreadable(id: "debugfs.numa_balancing.scan_size_mb", path: "/h\u{1B}[2J/\(debug)/scan_size_mb",
                                                                error: "Operation not permitted")],
                       "only the file's own name is listed (not `.`, `..`, an empty one, one over NAME_MAX, nor one cut at a NUL);"
                       + " a gap for a file the copy holds is not consulted")
        XCTAssertEqual(snapshot.kernel.sysctls, complete.kernel.sysctls, "a NUL in a gap invents no fact")
        XCTAssertEqual(snapshot.kernel.transparentHugepage["enabled"], complete.kernel.transparentHugepage["enabled"])
    }
}
