import Foundation
import NumaguardCore
@testable import NumaguardHost
import TestSupport
import XCTest

/// The cgroup reader over v1, v2 and hybrid trees laid out as the kernel lays them out
/// (TestSupport's CgroupLayout), the recorded hybrid tree of this machine, and this
/// machine's live v1 cpuset hierarchy.
final class CgroupHierarchyTests: XCTestCase {
    private var roots: [URL] = []

    override func tearDown() {
        for root in roots { try? FileManager.default.removeItem(at: root) }
        roots = []
    }

    private func tree(_ layout: CgroupLayout, cpus: String = "2-3", mems: String = "1", pids: [Int] = [500]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-cgroup-\(UUID().uuidString)")
        roots.append(root)
        try layout.write(into: root, cpus: cpus, mems: mems, pids: pids)
        return root
    }

    func testEveryLayoutGivesTheSameCpusetNumaStatAndMembership() throws {
        for layout in CgroupLayout.allCases {
            let host = HostRoot(path: try tree(layout, pids: [500, 501]).path)
            let hierarchy = CgroupHierarchy.read(host)
            XCTAssertEqual(hierarchy.source, "proc/1/mountinfo", "\(layout)")
            let cgroups = try hierarchy.cgroups(of: 500)
            let cpuset = try XCTUnwrap(hierarchy.cpuset(for: cgroups, settings: true), "\(layout)")
            XCTAssertEqual(cpuset.path, "/trading", "\(layout)")
            XCTAssertEqual(cpuset.cpus, IDSet([2, 3]), "\(layout)")
            XCTAssertEqual(cpuset.mems, IDSet([1]), "\(layout)")
            XCTAssertEqual(cpuset.version, layout == .v2 ? .v2 : .v1, "\(layout)")
            XCTAssertEqual(cpuset.cpusFile, layout.effectiveCPUsFile, "\(layout)")
            XCTAssertEqual(cpuset.memsFile, layout.effectiveMemsFile, "\(layout)")
            XCTAssertEqual(cpuset.settings?.cpus, IDSet([2, 3]), "\(layout)")
            XCTAssertEqual(cpuset.settings?.mems, IDSet([1]), "\(layout)")
            if layout == .v2 {
                XCTAssertEqual(cpuset.settings, CpusetSettings(cpus: IDSet([2, 3]), mems: IDSet([1]), partition: "member"))
            } else {
                XCTAssertEqual(cpuset.settings, CpusetSettings(cpus: IDSet([2, 3]), mems: IDSet([1]), cpuExclusive: true, schedLoadBalance: false),
                               "\(layout)")
            }

            let stat = try XCTUnwrap(try hierarchy.numaStat(for: cgroups, pageKiB: 4), "\(layout)")
            XCTAssertEqual(stat.anon?.nodes.map(\.value), [10 * 4096, 20 * 4096], "\(layout): anon bytes per node")
            XCTAssertEqual(stat.file?.nodes.map(\.value), [4096, 2 * 4096], "\(layout): file bytes per node")

            let membership = try XCTUnwrap(try hierarchy.membership(for: cgroups), "\(layout)")
            XCTAssertEqual(membership.pids, [500, 501])
            XCTAssertEqual(membership.children, [])
            func claims(_ pids: [Int]) throws -> [DedicatedCgroups.Claim] {
                try pids.map { DedicatedCgroups.Claim(pid: $0, workload: "trading", cgroups: try hierarchy.cgroups(of: 500)) }
            }
            let both = DedicatedCgroups.find(hierarchy, claims: try claims([500, 501]))
            XCTAssertEqual(both.groups.values.map(\.pids), [[500, 501]], "\(layout)")
            XCTAssertEqual(both.groups.values.map(\.location.path), ["/trading"], "\(layout)")
            XCTAssertEqual(both.refused, [:], "\(layout)")
            let alone = DedicatedCgroups.find(hierarchy, claims: try claims([500]))
            XCTAssertTrue(alone.groups.isEmpty, "\(layout): 501 is foreign")
            XCTAssertEqual(alone.refused, [500: .shared(path: "/trading", others: 1, cgroups: 1)], "\(layout)")
            XCTAssertEqual(alone.refused[500]?.reason,
                           "cgroup /trading is shared with 1 other process, so its memory.numa_stat is not this workload's alone")
        }
    }

    /// numa_stat includes every cgroup below: a foreign process there makes the cgroup shared;
    /// an empty child (or one holding only the workload's processes) does not.
    func testAForeignProcessInAChildCgroupMakesItShared() throws {
        for layout in [CgroupLayout.v2, .v1] {
            let root = try tree(layout)
            let child = root.appendingPathComponent(layout.memoryDirectory("/trading") + "/helper")
            try FileManager.default.createDirectory(at: child, withIntermediateDirectories: true)
            try "".write(to: child.appendingPathComponent("cgroup.procs"), atomically: false, encoding: .utf8)
            let hierarchy = CgroupHierarchy.read(HostRoot(path: root.path))
            let membership = try XCTUnwrap(try hierarchy.membership(for: hierarchy.cgroups(of: 500)))
            XCTAssertEqual(membership.children, ["helper"])
            let claims = try [500, 501].map { DedicatedCgroups.Claim(pid: $0, workload: "trading", cgroups: try hierarchy.cgroups(of: 500)) }
            XCTAssertEqual(DedicatedCgroups.find(hierarchy, claims: claims).groups.count, 1, "\(layout): an empty child changes nothing")

            try "777\n".write(to: child.appendingPathComponent("cgroup.procs"), atomically: false, encoding: .utf8)
            let shared = DedicatedCgroups.find(hierarchy, claims: claims)
            XCTAssertTrue(shared.groups.isEmpty, "\(layout): numa_stat includes the child's memory")
            XCTAssertEqual(shared.refused[500], .shared(path: "/trading", others: 1, cgroups: 2), "\(layout)")
            XCTAssertEqual(shared.refused[500]?.reason, "cgroup /trading is shared with 1 other process (in it and the 1 cgroup below it), "
                           + "so its memory.numa_stat is not this workload's alone")
        }
    }

    /// `café` (U+00E9) and `cafe` + U+0301 are equal as Strings but two directories to the
    /// kernel, which any user with a delegated subtree can create side by side: each is its
    /// own dedicated cgroup, read from its own memory.numa_stat. (Keyed by String they were
    /// one group: the second cgroup's process was counted in the first's figures.)
    func testCanonicallyEqualCgroupNamesAreTwoCgroups() throws {
        let composed = "/caf\u{E9}", decomposed = "/cafe\u{301}"
        XCTAssertEqual(composed, decomposed, "the premise: one String, two byte sequences")
        for layout in [CgroupLayout.v2, .v1] {
            let root = try tree(layout)
            try FileManager.default.removeItem(at: root)
            try layout.write(into: root, cgroup: composed, cpus: "2-3", mems: "1", pids: [500])
            try layout.write(into: root, cgroup: decomposed, cpus: "2-3", mems: "1", pids: [502], anonPages: (3, 4))
            let parent = root.appendingPathComponent(layout.memoryDirectory("/x")).deletingLastPathComponent()
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent.path).filter { $0.utf8.starts(with: "caf".utf8) }.count, 2,
                           "\(layout): two directories on disk")
            let hierarchy = CgroupHierarchy.read(HostRoot(path: root.path))
            let claims = try [500, 502].map { DedicatedCgroups.Claim(pid: $0, workload: "trading", cgroups: try hierarchy.cgroups(of: $0)) }
            let outcome = DedicatedCgroups.find(hierarchy, claims: claims)
            XCTAssertEqual(outcome.refused, [:], "\(layout)")
            let groups = outcome.groups.values.sorted { $0.pids[0] < $1.pids[0] }
            XCTAssertEqual(groups.map(\.pids), [[500], [502]], "\(layout)")
            XCTAssertEqual(groups.map { Array($0.location.path.utf8) }, [Array(composed.utf8), Array(decomposed.utf8)], "\(layout)")
            XCTAssertEqual(try groups.map { try hierarchy.numaStat(for: $0.cgroups, pageKiB: 4)?.anon?.value(on: 1) }, [20 * 4096, 4 * 4096],
                           "\(layout): each from its own numa_stat")
        }
        XCTAssertNotEqual(PathKey(composed), PathKey(decomposed))
        XCTAssertEqual(Set([PathKey(composed), PathKey(decomposed), PathKey(composed)]).count, 2)
        XCTAssertTrue(PathKey("/a") < PathKey("/a/b") && PathKey("/a/b") < PathKey("/b"))
    }

    /// Walking down a cgroup moves along the /proc/PID/cgroup lines that name the same
    /// cgroup, byte for byte: a v1 line naming a canonically equal path is another cgroup and
    /// stays where it is (an attacker's review found it moved with String's `==`).
    func testASubtreeWalkMovesOnlyTheLinesOfTheSameBytes() {
        let composed = "/caf\u{E9}", decomposed = "/cafe\u{301}"
        let entries = [CgroupEntry(hierarchy: 4, controllers: ["memory"], path: composed),
                       CgroupEntry(hierarchy: 3, controllers: ["cpuset"], path: decomposed),
                       CgroupEntry(hierarchy: 2, controllers: ["cpu"], path: composed)]
        let down = CgroupSubtree.entries(entries, below: composed, child: "x")
        XCTAssertEqual(down.map { Array($0.path.utf8) }, [Array((composed + "/x").utf8), Array(decomposed.utf8), Array((composed + "/x").utf8)])
        XCTAssertEqual(CgroupSubtree.entries(entries, below: "/", child: "y").map(\.path), entries.map(\.path), "no line names the root")
        XCTAssertEqual(CgroupSubtree.entries([CgroupEntry(hierarchy: 0, controllers: [], path: "/")], below: "/", child: "y").map(\.path), ["/y"])
    }

    /// Names that are not UTF-8 are read as U+FFFD (`String(decoding:)`, `String(cString:)`),
    /// so a cgroup so named could be taken for another or for one that is gone. Found by an
    /// attacker's review: a process in `/a\xFE` was grouped with one in `/a\u{FFFD}` and given
    /// its figures; a child `x\xFF` holding a foreign process was skipped as gone, and the
    /// cgroup above it taken as the workload's alone. Both are refused now, with the reason.
    func testCgroupNamesThatAreNotUTF8AreRefusedNotGuessed() throws {
        func cString(_ bytes: [UInt8]) -> [CChar] { (bytes + [0]).map { CChar(bitPattern: $0) } }
        // A process whose cgroup is named with the byte 0xFE, beside one named a + U+FFFD.
        let root = try tree(.v2)
        try FileManager.default.removeItem(at: root)
        try CgroupLayout.v2.write(into: root, cgroup: "/a\u{FFFD}", cpus: "2-3", mems: "1", pids: [500])
        try CgroupLayout.v2.write(into: root, cgroup: "/b", cpus: "2-3", mems: "1", pids: [502], anonPages: (3, 4))
        let renamed = rename(root.path + "/sys/fs/cgroup/b", cString(Array((root.path + "/sys/fs/cgroup/a").utf8) + [0xFE]))
        XCTAssertEqual(renamed, 0)
        try Data(Array("0::/a".utf8) + [0xFE, 0x0A]).write(to: root.appendingPathComponent("proc/502/cgroup"))
        let hierarchy = CgroupHierarchy.read(HostRoot(path: root.path))
        let claims = try [500, 502].map { DedicatedCgroups.Claim(pid: $0, workload: "trading", cgroups: try hierarchy.cgroups(of: $0)) }
        let outcome = DedicatedCgroups.find(hierarchy, claims: claims)
        // Neither is grouped: the one read as a + U+FFFD cannot be told from the other either.
        XCTAssertTrue(outcome.groups.isEmpty, "\(outcome.groups)")
        for pid in [500, 502] {
            guard case let .unreadable(path, error)? = outcome.refused[pid] else { return XCTFail("\(pid): \(outcome.refused)") }
            XCTAssertEqual(Array(path.utf8), Array("/a\u{FFFD}".utf8))
            XCTAssertEqual(error, "its name is not UTF-8, so numaguard cannot tell it from another cgroup")
        }

        // A child cgroup so named, holding a process that is not the workload's.
        let second = try tree(.v2)
        let child = cString(Array((second.path + "/sys/fs/cgroup/trading/x").utf8) + [0xFF])
        XCTAssertEqual(mkdir(child, 0o755), 0)
        let procs = cString(Array((second.path + "/sys/fs/cgroup/trading/x").utf8) + [0xFF] + Array("/cgroup.procs".utf8))
        let fd = open(procs, O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual("777\n".withCString { write(fd, $0, 4) }, 4)
        close(fd)
        let below = CgroupHierarchy.read(HostRoot(path: second.path))
        let claim = DedicatedCgroups.Claim(pid: 500, workload: "trading", cgroups: try below.cgroups(of: 500))
        let shared = DedicatedCgroups.find(below, claims: [claim])
        XCTAssertTrue(shared.groups.isEmpty, "pid 777 below it is not the workload's")
        guard case let .unreadable(childPath, childError)? = shared.refused[500] else { return XCTFail("\(shared.refused)") }
        XCTAssertEqual(childPath, "/trading")
        XCTAssertTrue(childError.hasSuffix("a cgroup below it has a name that is not UTF-8, so numaguard cannot read it"), childError)
        XCTAssertTrue(PathText.isExact("/trading/café") && !PathText.isExact("x\u{FFFD}y"))
    }

    /// A cgroup's directory is its mount point and path without the leading `/` bytes; a
    /// first name starting with a combining mark keeps that mark (it was one Character with
    /// the slash, so the slash was kept and the directory read from the working directory).
    func testALocationsDirectoryDropsOnlyTheLeadingSlashBytes() throws {
        let mount = try XCTUnwrap(CgroupHierarchy.read(HostRoot(path: try tree(.v2).path)).mounts.first)
        XCTAssertEqual(Array(CgroupLocation(mount: mount, controller: "memory", path: "/x", directory: "//\u{301}m/x").directory.utf8),
                       Array("\u{301}m/x".utf8))
        XCTAssertEqual(CgroupLocation(mount: mount, controller: "memory", path: "/x", directory: "/sys/fs/cgroup/x").directory, "sys/fs/cgroup/x")
    }

    func testV1TasksStandForTheirProcesses() throws {
        let root = try tree(.v1)
        let memory = root.appendingPathComponent(CgroupLayout.v1.memoryDirectory("/trading"))
        try FileManager.default.removeItem(at: memory.appendingPathComponent("cgroup.procs"))
        try "500\n507\n".write(to: memory.appendingPathComponent("tasks"), atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("proc/507"), withIntermediateDirectories: true)
        try "Name:\tworker\nTgid:\t500\nPid:\t507\n".write(to: root.appendingPathComponent("proc/507/status"), atomically: false, encoding: .utf8)
        let hierarchy = CgroupHierarchy.read(HostRoot(path: root.path))
        let membership = try XCTUnwrap(try hierarchy.membership(for: hierarchy.cgroups(of: 500)))
        XCTAssertEqual(membership.pids, [500], "thread 507 belongs to process 500")
    }

    func testWithoutMountinfoTheConventionalLayoutIsProbed() throws {
        for layout in CgroupLayout.allCases {
            let root = try tree(layout)
            try FileManager.default.removeItem(at: root.appendingPathComponent("proc/1/mountinfo"))
            let hierarchy = CgroupHierarchy.read(HostRoot(path: root.path))
            XCTAssertEqual(hierarchy.source, "the conventional /sys/fs/cgroup layout")
            let cgroups = try hierarchy.cgroups(of: 500)
            let cpuset = try XCTUnwrap(hierarchy.cpuset(for: cgroups), "\(layout)")
            XCTAssertEqual(cpuset.cpus, IDSet([2, 3]), "\(layout): noprefix is probed when unknown")
            XCTAssertEqual(cpuset.cpusFile, layout.effectiveCPUsFile, "\(layout)")
            XCTAssertEqual(try hierarchy.numaStat(for: cgroups, pageKiB: 4)?.anon?.value(on: 1), 20 * 4096, "\(layout)")
        }
    }

    func testASubtreeMountFindsTheCgroupUnderItsRoot() throws {
        // A container sees the host's /kubepods/pod1 hierarchy directory as its cpuset mount.
        let root = try tree(.v1)
        try """
            34 31 0:31 /kubepods/pod1 /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset

            """.write(to: root.appendingPathComponent("proc/1/mountinfo"), atomically: false, encoding: .utf8)
        try "2:cpuset:/kubepods/pod1/trading\n".write(to: root.appendingPathComponent("proc/500/cgroup"), atomically: false, encoding: .utf8)
        let hierarchy = CgroupHierarchy.read(HostRoot(path: root.path))
        XCTAssertEqual(hierarchy.cpuset(for: try hierarchy.cgroups(of: 500))?.cpus, IDSet([2, 3]))
        XCTAssertEqual(hierarchy.cpuset(for: [CgroupEntry(hierarchy: 2, controllers: ["cpuset"], path: "/elsewhere")]), nil,
                       "a cgroup outside the mounted subtree has no directory here")
    }

    func testRecordedHybridMachine() throws {
        let hierarchy = CgroupHierarchy.read(HostRoot(path: Fixtures.path("cgroup-v1-hybrid")))
        let cgroups = try hierarchy.cgroups(of: 1)
        let cpuset = try XCTUnwrap(hierarchy.cpuset(for: cgroups, settings: true))
        XCTAssertEqual(cpuset, CgroupCpuset(path: "/", cpus: IDSet([0, 1]), mems: IDSet([0]), version: .v1,
                                            cpusFile: "cpuset.effective_cpus", memsFile: "cpuset.effective_mems",
                                            settings: CpusetSettings(cpus: IDSet([0, 1]), mems: IDSet([0]), cpuExclusive: true, schedLoadBalance: true)))
        let stat = try XCTUnwrap(try hierarchy.numaStat(for: cgroups, pageKiB: 4))
        XCTAssertEqual(stat.anon?.value(on: 0), 493 * 4096)
        XCTAssertEqual(hierarchy.location(of: "memory", in: cgroups)?.directory, "sys/fs/cgroup/memory/recorded")
        XCTAssertEqual(hierarchy.location(of: "pids", in: cgroups)?.mount.version, .v1)
        XCTAssertEqual(hierarchy.location(of: "io", in: cgroups)?.directory, "sys/fs/cgroup/unified",
                       "a controller no v1 hierarchy holds is the unified hierarchy's")
    }

    // MARK: The launch path's reads

    /// The fast path from /proc/self/cgroup: a v2 host reads the two effective files and
    /// nothing else (as before v1 support); a v1 host its two; a hybrid host whose cpuset
    /// is on v2 reads mountinfo once.
    func testFastPathReadsNoMountinfoWhereConventionSuffices() throws {
        for layout in CgroupLayout.allCases {
            let root = try tree(layout)
            let log = HostReadLog()
            let host = HostRoot(path: root.path).observed(by: log)
            let cgroups = try CgroupEntry.parse(layout.procCgroup("/trading"))
            let cpuset = try XCTUnwrap(CgroupCpuset.read(host, cgroups: cgroups), "\(layout)")
            XCTAssertEqual(cpuset.cpus, IDSet([2, 3]), "\(layout)")
            XCTAssertEqual(cpuset.mems, IDSet([1]), "\(layout)")
            let directory = layout.cpusetDirectory("/trading")
            switch layout {
            case .v2, .v1, .hybrid:
                XCTAssertEqual(log.paths, ["\(directory)/\(layout.effectiveCPUsFile)", "\(directory)/\(layout.effectiveMemsFile)"], "\(layout)")
            case .v1NoPrefix:
                XCTAssertEqual(log.paths, ["\(directory)/effective_cpus", "\(directory)/effective_mems"], "\(layout): two misses, two reads")
            }
        }
        // Hybrid with the cpuset controller on v2 (not bound to v1): mountinfo says where.
        let root = try tree(.v2)
        try (CgroupLayout.v1Mounts + "41 31 0:38 / /srv/cgroup2 rw - cgroup2 cgroup2 rw\n")
            .write(to: root.appendingPathComponent("proc/1/mountinfo"), atomically: false, encoding: .utf8)
        try FileManager.default.moveItem(at: root.appendingPathComponent("sys/fs/cgroup/trading"),
                                         to: root.appendingPathComponent("srv-trading"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("srv/cgroup2"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: root.appendingPathComponent("srv-trading"), to: root.appendingPathComponent("srv/cgroup2/trading"))
        let log = HostReadLog()
        let cgroups = try CgroupEntry.parse("3:memory:/trading\n0::/trading\n")
        var hierarchy: CgroupHierarchy?
        let cpuset = CgroupCpuset.read(HostRoot(path: root.path).observed(by: log), cgroups: cgroups, hierarchy: &hierarchy)
        XCTAssertEqual(cpuset?.cpus, IDSet([2, 3]))
        XCTAssertEqual(log.paths, ["proc/1/mountinfo", "srv/cgroup2/trading/cpuset.cpus.effective", "srv/cgroup2/trading/cpuset.mems.effective"])
        XCTAssertNotNil(hierarchy, "kept for the next process")
    }

    func testAV1CpusetOutsideTheConventionalPlaceFallsBackToMountinfo() throws {
        let root = try tree(.v1)
        try FileManager.default.moveItem(at: root.appendingPathComponent("sys/fs/cgroup/cpuset"), to: root.appendingPathComponent("cpusets"))
        try CgroupLayout.v1Mounts.replacingOccurrences(of: "/sys/fs/cgroup/cpuset", with: "/cpusets")
            .write(to: root.appendingPathComponent("proc/1/mountinfo"), atomically: false, encoding: .utf8)
        let cpuset = CgroupCpuset.read(HostRoot(path: root.path), cgroups: try CgroupEntry.parse(CgroupLayout.v1.procCgroup("/trading")))
        XCTAssertEqual(cpuset?.cpus, IDSet([2, 3]))
        XCTAssertEqual(cpuset?.cpusFile, "cpuset.effective_cpus")
    }
}
