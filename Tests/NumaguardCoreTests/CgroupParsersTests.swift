import Foundation
import NumaguardCore
import XCTest

/// The pure cgroup parsers: mountinfo's cgroup mounts, memory.numa_stat in both versions'
/// formats, cgroup.procs; over files recorded on this cgroup v1 (hybrid) machine and the
/// formats of the kernel documentation (cgroup-v1/memory.rst 5.6, cgroup-v2.rst).
final class CgroupParsersTests: XCTestCase {
    private func recorded(_ relative: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/cgroup-v1-hybrid/\(relative)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    func testRecordedHybridMountinfo() throws {
        let mounts = try MountInfoParser.cgroupMounts(recorded("proc/1/mountinfo"))
        XCTAssertEqual(mounts.map(\.mountPoint), ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"]
            .map { "/sys/fs/cgroup/\($0)" }, "the tmpfs, proc, sysfs and devpts mounts are not cgroups")
        XCTAssertEqual(mounts.first { $0.mountPoint == "/sys/fs/cgroup/cpuset" },
                       CgroupMount(version: .v1, mountPoint: "/sys/fs/cgroup/cpuset", root: "/", controllers: ["cpuset"]))
        XCTAssertEqual(mounts.first { $0.mountPoint == "/sys/fs/cgroup/systemd" }?.controllers, ["name=systemd"])
        XCTAssertEqual(mounts.last, CgroupMount(version: .v2, mountPoint: "/sys/fs/cgroup/unified"))
    }

    func testCoMountNoprefixSubtreeAndEscapes() throws {
        let text = """
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
            34 31 0:31 /kubepods/pod1 /sys/fs/cgroup/cpuset rw master:3 - cgroup cgroup rw,noprefix,release_agent=/bin/x,cpuset
            50 31 0:40 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot

            """
        let mounts = try MountInfoParser.cgroupMounts(text)
        XCTAssertEqual(mounts[0].controllers, ["cpu", "cpuacct"])
        XCTAssertFalse(mounts[0].noprefix)
        XCTAssertEqual(mounts[1], CgroupMount(version: .v1, mountPoint: "/sys/fs/cgroup/cpuset", root: "/kubepods/pod1",
                                              controllers: ["cpuset"], noprefix: true))
        XCTAssertEqual(mounts[2].mountPoint, "/mnt/cg two", "\\040 is a space")
        XCTAssertEqual(mounts[2].controllers, [])
        // A subtree mount shows only cgroups inside it, relative to its root.
        XCTAssertEqual(mounts[1].directory(of: "/kubepods/pod1/engine"), "/sys/fs/cgroup/cpuset/engine")
        XCTAssertEqual(mounts[1].directory(of: "/kubepods/pod1"), "/sys/fs/cgroup/cpuset")
        XCTAssertNil(mounts[1].directory(of: "/kubepods/pod10"), "a sibling with the root as a string prefix is outside")
        XCTAssertNil(mounts[1].directory(of: "/system.slice"))
        XCTAssertNil(mounts[0].directory(of: "/a/../../etc"), "a path that climbs is refused")
        XCTAssertEqual(mounts[0].directory(of: "/"), "/sys/fs/cgroup/cpu,cpuacct")
    }

    /// Fields and cgroup paths are read by bytes: a mount's source field beginning with a
    /// combining mark (a FUSE fsname any user chooses) joined the field before it and made the
    /// whole file unreadable; a child cgroup whose name begins with one was outside its mount;
    /// a canonically equal but different root was taken for the mount's.
    func testACombiningMarkAfterASeparatorIsStillSeparate() throws {
        let text = """
            60 31 0:50 / /mnt/fuse rw - fuse.x \u{301}name rw
            34 31 0:31 /ctr /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
            35 31 0:32 /caf\u{E9} /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory

            """
        let mounts = try MountInfoParser.cgroupMounts(text)
        XCTAssertEqual(mounts.count, 2)
        XCTAssertEqual(mounts[0].directory(of: "/ctr/\u{301}x"), "/sys/fs/cgroup/cpuset/\u{301}x")
        XCTAssertNil(mounts[1].directory(of: "/cafe\u{301}/x"), "another cgroup, though equal as a String")
        XCTAssertEqual(mounts[1].directory(of: "/caf\u{E9}/x"), "/sys/fs/cgroup/memory/x")
    }

    func testMalformedMountinfoNamesTheLine() {
        for bad in ["32 31 0:29 / /sys/fs/cgroup/cpu rw cgroup cgroup rw,cpu",
                    "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup",
                    "32 31 0:29 / /sys/fs/cgroup/x\\9 rw - cgroup cgroup rw,cpu",
                    "32 31 0:29 / relative rw - cgroup2 cgroup2 rw"] {
            XCTAssertThrowsError(try MountInfoParser.cgroupMounts("22 27 0:21 / /proc rw,relatime - proc proc rw\n" + bad)) { error in
                XCTAssertEqual((error as? ParseError)?.line, 2, bad)
            }
        }
    }

    func testRecordedV1NumaStatInPagesBecomesBytes() throws {
        let stat = try NumaStatParser.parse(recorded("sys/fs/cgroup/memory/recorded/memory.numa_stat"), pageKiB: 4)
        XCTAssertEqual(stat.version, .v1)
        XCTAssertTrue(stat.isHierarchical)
        XCTAssertEqual(stat.anon, NodeCounter(total: 493 * 4096, nodes: [(0, 493 * 4096)]), "hierarchical_anon, pages x 4 KiB")
        XCTAssertEqual(stat.file?.value(on: 0), 60_664 * 4096)
        XCTAssertEqual(stat.counters["total"]?.total, 61_157 * 4096)
        XCTAssertEqual(stat.counters.count, 8)
    }

    func testV1WithoutHierarchicalLinesAndChildrenDiffering() throws {
        // The kernel doc's example: a parent whose pages are all its child's.
        let parent = try NumaStatParser.parse("""
            total=0 N0=0 N1=0 N2=0 N3=0
            file=0 N0=0 N1=0 N2=0 N3=0
            anon=0 N0=0 N1=0 N2=0 N3=0
            unevictable=0 N0=0 N1=0 N2=0 N3=0
            hierarchical_total=61 N0=0 N1=41 N2=20 N3=0
            hierarchical_file=14 N0=0 N1=0 N2=14 N3=0
            hierarchical_anon=47 N0=0 N1=41 N2=6 N3=0
            hierarchical_unevictable=0 N0=0 N1=0 N2=0 N3=0
            """, pageKiB: 64)
        XCTAssertEqual(parent.anon?.value(on: 1), 41 * 65_536, "the hierarchical figure, in 64 KiB pages")
        XCTAssertEqual(parent.counters["anon"]?.value(on: 1), 0, "the cgroup's own pages stay available")
        let old = try NumaStatParser.parse("total=3 N0=3\nfile=1 N0=1\nanon=2 N0=2\nunevictable=0 N0=0\n", pageKiB: 4)
        XCTAssertFalse(old.isHierarchical, "before Linux 3.13 v1 had no hierarchical_ lines")
        XCTAssertEqual(old.anon?.value(on: 0), 8192)
    }

    func testV2NumaStatInBytes() throws {
        let stat = try NumaStatParser.parse("""
            anon N0=1220608 N1=0
            file N0=2125824 N1=4096
            kernel_stack N0=49152 N1=0
            workingset_refault_anon N0=0 N1=0
            """, pageKiB: 4)
        XCTAssertEqual(stat.version, .v2)
        XCTAssertTrue(stat.isHierarchical)
        XCTAssertEqual(stat.anon, NodeCounter(total: nil, nodes: [(0, 1_220_608), (1, 0)]))
        XCTAssertEqual(stat.file?.value(on: 1), 4096, "bytes, not multiplied by the page size")
    }

    func testHostileNumaStatIsRefusedNotTrapped() {
        let cases: [(String, String)] = [
            ("total=9223372036854775807 N0=1", "exceed 2^63 bytes"),
            ("total=1 N0=2251799813685248", "exceed 2^63 bytes"),
            ("anon N0=1\ntotal=1 N0=1", "mixes"),
            ("anon N0=1\nanon N0=2", "appears twice"),
            ("anon N1=1 N0=2", "out of order"),
            ("anon N1024=1", "above 1023"),
            ("anon N0=-1", "expected N<node>=<value>"),
            ("anon X0=1", "expected N<node>=<value>"),
            ("Anon N0=1", "lower-case"),
            ("total= N0=1", "expected name=pages"),
            ("", "no counter lines"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try NumaStatParser.parse(text, pageKiB: 4), text) { error in
                XCTAssertTrue((error as? ParseError)?.reason.contains(reason) ?? false, "\(text): \(error)")
            }
        }
        let many = (0..<300).map { "c\($0) N0=1" }.joined(separator: "\n")
        XCTAssertThrowsError(try NumaStatParser.parse(many, pageKiB: 4))
    }

    func testCgroupProcs() throws {
        XCTAssertEqual(try CgroupProcsParser.parse("1\n122\n139\n"), [1, 122, 139])
        XCTAssertEqual(try CgroupProcsParser.parse(""), [], "an empty cgroup")
        XCTAssertThrowsError(try CgroupProcsParser.parse("1\nx\n")) { error in XCTAssertEqual((error as? ParseError)?.line, 2) }
        XCTAssertThrowsError(try CgroupProcsParser.parse("0\n"))
    }

    /// This machine's own memory cgroup, read live (skipped where there is none).
    func testThisMachinesNumaStatParses() throws {
        guard let cgroups = try? CgroupEntry.parse(String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) else {
            throw XCTSkip("no /proc/self/cgroup")
        }
        var candidates: [String] = []
        if let v1 = cgroups.first(where: { $0.controllers.contains("memory") }) {
            candidates.append("/sys/fs/cgroup/memory\(v1.path == "/" ? "" : v1.path)/memory.numa_stat")
        }
        if let v2 = cgroups.first(where: { $0.hierarchy == 0 }) {
            candidates.append("/sys/fs/cgroup\(v2.path == "/" ? "" : v2.path)/memory.numa_stat")
            candidates.append("/sys/fs/cgroup/unified\(v2.path == "/" ? "" : v2.path)/memory.numa_stat")
        }
        guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
              let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw XCTSkip("no memory.numa_stat for this process (tried \(candidates))")
        }
        let stat = try NumaStatParser.parse(text, pageKiB: 4)
        XCTAssertNotNil(stat.anon, "\(file): \(text)")
        XCTAssertNotNil(stat.file, "\(file): \(text)")
        XCTAssertFalse(stat.anon?.nodes.isEmpty ?? true, "\(file) has a value per node")
    }
}
