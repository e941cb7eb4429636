import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
@testable import NumaguardWatch
import TestSupport
import XCTest

/// Per-node memory of a protected workload from its cgroup's memory.numa_stat, over the
/// recorded 6.1 guest with the engine (PID 152) put in a cgroup the way the kernel lays it
/// out (TestSupport's CgroupLayout): what is read each sample, what is never read (the
/// HostRoot observer sees every read), and page moves seen in the cgroup's figures.
final class ProtectedCgroupTests: XCTestCase {
    private var root: URL!
    private let log = HostReadLog()

    override func setUpWithError() throws {
        root = try Fixtures.copy("linux-6.1-2node")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private func watch() throws -> ProtectedWatch {
        let host = HostRoot(path: root.path).observed(by: log)
        return ProtectedWatch(root: host, topology: try TopologyReader.read(host))
    }

    private var workloads: [Workload] {
        get throws { try PolicyLoader.parse(ProtectedWatchTests.policy, file: "p.yaml").workloads }
    }

    /// The files of PID 152 that take its mmap lock.
    private func locking(_ paths: [String]) -> [String] {
        paths.filter { ["proc/152/numa_maps", "proc/152/cmdline", "proc/152/smaps", "proc/152/smaps_rollup"].contains($0) }
    }

    func testADedicatedV2CgroupIsReadEverySampleAndNumaMapsAndCmdlineNever() throws {
        // 1 MiB anonymous on node 1 (home), none on node 0.
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152], anonPages: (0, 256))
        let watch = try watch()
        let workloads = try workloads

        let first = watch.sample(workloads, now: 0, period: 60)
        XCTAssertEqual(first.map(\.kind), [.process, .process], "\(first)")
        XCTAssertEqual(first[0].message, "watching PID 152 (probe) of protected workload engine: CPUs 2-3, memory nodes 0-1, threads on node 1")
        XCTAssertEqual(first[1].message, "cgroup /engine of protected workload engine (PID 152): per-node memory from its memory.numa_stat every sample "
                       + "(the cgroup holds only this workload's processes): 0 B anonymous memory off node 1")
        XCTAssertEqual(first.map(\.isChange), [false, false])
        XCTAssertTrue(log.paths.contains("proc/152/cmdline"), "the first identification matches the command line")
        XCTAssertEqual(log.paths.filter { $0 == "sys/fs/cgroup/engine/memory.numa_stat" }.count, 1)
        log.clear()

        XCTAssertEqual(watch.sample(workloads, now: 1, period: 60), [])
        XCTAssertEqual(log.paths.filter { $0 == "sys/fs/cgroup/engine/memory.numa_stat" }.count, 1, "read every sample")

        // 40 KiB moved to node 0 (migratepages, or NUMA balancing).
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152], anonPages: (10, 246))
        let moved = watch.sample(workloads, now: 2, period: 60)
        XCTAssertEqual(moved.map(\.kind), [.pagesMoved])
        XCTAssertEqual(moved.map(\.isChange), [true])
        XCTAssertEqual(moved.first?.message, "cgroup /engine of protected workload engine (PID 152): anonymous memory off node 1 grew "
                       + "from 0 B to 40 KiB (node 0 40 KiB, from memory.numa_stat)")
        XCTAssertEqual(moved.first?.pid, 152)
        XCTAssertEqual(watch.sample(workloads, now: 3, period: 60), [], "reported once")

        // A rediscovery: other processes' command lines are read, the tracked one's not.
        let again = watch.sample(workloads, now: 61, period: 60)
        XCTAssertEqual(again, [])
        XCTAssertTrue(log.paths.contains("proc/161/cmdline"), "the rediscovery ran: \(log.paths)")
        XCTAssertEqual(locking(log.paths), [], "after the first identification")
        XCTAssertEqual(watch.count, 1)
        // Only stat, status, the threads' stat and status, and the cgroup's files of PID 152.
        let own = Set(log.paths.filter { $0.hasPrefix("proc/152/") || $0.hasPrefix("list proc/152/") })
        XCTAssertEqual(own, ["proc/152/stat", "proc/152/status", "list proc/152/task", "proc/152/task/152/stat", "proc/152/task/152/status",
                             "proc/152/cgroup"])
    }

    func testNumaMapsIsNeverReadByDefaultWhateverTheCgroup() throws {
        let watch = try watch()
        let workloads = try workloads
        for now in [0.0, 1, 61, 62, 200] { _ = watch.sample(workloads, now: now, period: 60) }
        XCTAssertFalse(log.paths.contains("proc/152/numa_maps"))
        XCTAssertEqual(log.paths.filter { $0 == "proc/152/cmdline" }.count, 1, "matched once, at the first identification")
    }

    func testASharedCgroupIsSaidOnceAndNotRead() throws {
        // PID 161 (`probe 16`, not protected) shares the engine's cgroup.
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152, 161])
        let watch = try watch()
        let workloads = try workloads
        let first = watch.sample(workloads, now: 0, period: 60)
        XCTAssertEqual(first.map(\.kind), [.process, .process], "\(first)")
        XCTAssertEqual(first[1].message, "PID 152 (probe) of protected workload engine: cgroup /engine is shared with 1 other process, "
                       + "so its memory.numa_stat is not this workload's alone; its per-node memory is not watched "
                       + "(allowed CPUs, memory nodes and threads still are)")
        XCTAssertEqual(watch.sample(workloads, now: 1, period: 60), [])
        XCTAssertEqual(watch.sample(workloads, now: 61, period: 60), [], "said once, not at every rediscovery")
        XCTAssertFalse(log.paths.contains("sys/fs/cgroup/engine/memory.numa_stat"))
        XCTAssertEqual(locking(log.paths).filter { $0 != "proc/152/cmdline" }, [])
        XCTAssertEqual(log.paths.filter { $0 == "proc/152/cmdline" }.count, 1)
    }

    /// A child cgroup holding another process makes the parent's (hierarchical) figures not
    /// the workload's alone.
    func testAProcessInACgroupBelowIsShared() throws {
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152])
        try "161\n".write(to: root.appendingPathComponent("sys/fs/cgroup/engine/helper/cgroup.procs", isDirectory: false)
            .creatingDirectory(), atomically: false, encoding: .utf8)
        let notes = try watch().sample(try workloads, now: 0, period: 60)
        XCTAssertEqual(notes.map(\.kind), [.process, .process], "\(notes)")
        XCTAssertTrue(notes[1].message.contains("cgroup /engine is shared with 1 other process (in it and the 1 cgroup below it)"), notes[1].message)
    }

    /// v1 (and hybrid, whose memory controller is on v1): the memory controller's
    /// numa_stat, printed in pages, read as bytes.
    func testV1ReadsTheMemoryControllersNumaStatInPages() throws {
        for layout in [CgroupLayout.v1, .hybrid] {
            let root = try Fixtures.copy("linux-6.1-2node")
            defer { try? FileManager.default.removeItem(at: root) }
            let log = HostReadLog()
            let host = HostRoot(path: root.path).observed(by: log)
            let watch = ProtectedWatch(root: host, topology: try TopologyReader.read(host))
            try layout.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152], anonPages: (0, 256))
            let workloads = try workloads
            let first = watch.sample(workloads, now: 0, period: 60)
            XCTAssertEqual(first.map(\.kind), [.process, .process], "\(layout): \(first)")
            XCTAssertTrue(first.last?.message.hasPrefix("cgroup /engine of protected workload engine (PID 152): per-node memory") ?? false, "\(layout): \(first)")
            XCTAssertTrue(log.paths.contains("sys/fs/cgroup/memory/engine/memory.numa_stat"), "\(layout): \(log.paths)")
            // 10 pages of the page size move to node 0.
            try layout.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152], anonPages: (10, 246))
            let moved = watch.sample(workloads, now: 1, period: 60)
            XCTAssertEqual(moved.map(\.kind), [.pagesMoved], "\(layout)")
            let bytes = Bytes.text(10 * CgroupHierarchy.pageKiB * 1024)
            XCTAssertEqual(moved.first?.message, "cgroup /engine of protected workload engine (PID 152): anonymous memory off node 1 grew "
                           + "from 0 B to \(bytes) (node 0 \(bytes), from memory.numa_stat)", "\(layout)")
            XCTAssertFalse(log.paths.contains("proc/152/numa_maps"), "\(layout)")
        }
    }

    /// The per-node memory a dedicated cgroup gives reaches watch's metrics (anon and page
    /// cache per node, in bytes on every layout), with no read of the process's numa_maps,
    /// smaps or cmdline after its identification: the HostRoot observer saw every read.
    func testPerNodeMemoryOfADedicatedCgroupIsInTheMetricsOnEveryLayout() throws {
        for layout in [CgroupLayout.v2, .v1, .hybrid] {
            let root = try Fixtures.copy("linux-6.1-2node")
            defer { try? FileManager.default.removeItem(at: root) }
            let log = HostReadLog()
            let host = HostRoot(path: root.path).observed(by: log)
            let watch = ProtectedWatch(root: host, topology: try TopologyReader.read(host))
            try layout.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152], anonPages: (3, 256), filePages: (1, 7))
            let workloads = try workloads
            _ = watch.sample(workloads, now: 0, period: 60)
            log.clear()
            _ = watch.sample(workloads, now: 1, period: 60)
            let page = CgroupHierarchy.pageKiB * 1024
            var expected = ProtectedMemory(workload: "engine")
            (expected.cgroups, expected.processes) = (1, 1)
            (expected.anon, expected.file) = ([0: 3 * page, 1: 256 * page], [0: page, 1: 7 * page])
            XCTAssertEqual(watch.memory(), [expected], "\(layout)")
            XCTAssertEqual(locking(log.paths), [], "\(layout): \(log.paths)")
            XCTAssertTrue(log.paths.contains { $0.hasSuffix("engine/memory.numa_stat") }, "\(layout): read at this sample")

            let text = watch.metrics(workloads)
            for line in ["numaguard_watch_protected_memory_cgroup_processes{workload=\"engine\"} 1",
                         "numaguard_watch_protected_memory_bytes{workload=\"engine\",node=\"0\",type=\"anon\"} \(3 * page)",
                         "numaguard_watch_protected_memory_bytes{workload=\"engine\",node=\"1\",type=\"anon\"} \(256 * page)",
                         "numaguard_watch_protected_memory_bytes{workload=\"engine\",node=\"0\",type=\"file\"} \(page)",
                         "numaguard_watch_protected_memory_bytes{workload=\"engine\",node=\"1\",type=\"file\"} \(7 * page)"] {
                XCTAssertTrue(text.contains(line + "\n"), "\(layout): \(line) in\n\(text)")
            }
            try Promtool.checkMetrics(text)
        }
    }

    /// A shared cgroup gives no figures: the metrics say 0 processes measured from a cgroup
    /// and carry no memory line for the workload (not a zero that would read as "all local").
    func testASharedCgroupGivesNoMemoryMetrics() throws {
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152, 161])
        let watch = try watch()
        let workloads = try workloads
        _ = watch.sample(workloads, now: 0, period: 60)
        XCTAssertEqual(watch.memory(), [])
        let text = watch.metrics(workloads)
        XCTAssertTrue(text.contains("numaguard_watch_protected_memory_cgroup_processes{workload=\"engine\"} 0\n"), text)
        XCTAssertFalse(text.contains("numaguard_watch_protected_memory_bytes"), text)
    }

    /// With the opt-in, numa_maps is read for a process no dedicated cgroup accounts for, at
    /// most once per period and never more often than once a minute, its cost said once.
    func testOptInReadsNumaMapsAtMostOncePerLongPeriodWithTheCostNote() throws {
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152, 161])
        let watch = try watch()
        let workloads = try workloads
        func reads() -> Int { log.paths.filter { $0 == "proc/152/numa_maps" }.count }
        // A period of 5s (an existing policy's) is raised to a minute for numa_maps.
        let first = watch.sample(workloads, now: 0, period: 5, numaMaps: true)
        XCTAssertEqual(first.map(\.kind), [.process, .process, .process], "cost, watching, shared: \(first)")
        XCTAssertEqual(first[2].message, "PID 152 (probe) of protected workload engine: cgroup /engine is shared with 1 other process, "
                       + "so its memory.numa_stat is not this workload's alone; its per-node memory comes from its numa_maps instead "
                       + "(watch.numa_maps: true), read at most once per period")
        XCTAssertTrue(first[0].message.hasPrefix("reading numa_maps of PID 152 holds its mmap lock while the kernel walks its page tables: about "),
                      first[0].message)
        XCTAssertTrue(first[0].message.hasSuffix(" ms for its 12 mappings at the first read (read again at most every 60s)"), first[0].message)
        XCTAssertEqual(first[0].figures.keys.sorted(), ["mappings", "numa_maps_read_ms"])
        XCTAssertEqual(reads(), 1)
        for now in stride(from: 5.0, through: 55, by: 5) {
            XCTAssertEqual(watch.sample(workloads, now: now, period: 5, numaMaps: true), [])
        }
        XCTAssertEqual(reads(), 1, "not again within the minute, though discovery ran every 5s")
        XCTAssertEqual(log.paths.filter { $0 == "proc/152/cmdline" }.count, 1)
        XCTAssertEqual(watch.sample(workloads, now: 60, period: 5, numaMaps: true), [], "the cost is said once")
        XCTAssertEqual(reads(), 2)
    }

    /// The cost note is an event of its own, once, with the first read's time and mapping
    /// count as figures.
    func testTheCostNoteIsAnEventWithItsFigures() throws {
        let policy = root.appendingPathComponent("p.yaml")
        try (ProtectedWatchTests.policy + "\nwatch: {numa_maps: true, numa_maps_period: 2m}\n").write(to: policy, atomically: true, encoding: .utf8)
        let events = root.appendingPathComponent("events.jsonl")
        let options = WatchOptions(policyPath: policy.path, root: HostRoot(path: root.path), eventsPath: events.path)
        let service = try WatchService(options: options, policy: try PolicyLoader.load(file: policy.path, reading: InputFile.read))
        service.sample(at: 0)
        service.sample(at: 130)
        let lines = try String(contentsOf: events, encoding: .utf8).split(separator: "\n").map { try Command.json(String($0)) }
        let costs = lines.filter { ($0["message"] as? String ?? "").hasPrefix("reading numa_maps of PID 152 holds its mmap lock") }
        XCTAssertEqual(costs.count, 1, "\(lines)")
        XCTAssertEqual(try Command.json(service.startEvent(nil).jsonLine)["numa_maps"] as? String, "on", "the start event says numa_maps may be read")
        let cost = try XCTUnwrap(costs.first)
        XCTAssertEqual(cost["event"] as? String, "process")
        XCTAssertEqual(cost["pid"] as? String, "152")
        XCTAssertTrue((cost["message"] as? String ?? "").hasSuffix("(read again at most every 120s)"), "\(cost)")
        let figures = try XCTUnwrap(cost["figures"] as? [String: Any], "\(cost)")
        XCTAssertEqual(figures["mappings"] as? Int, 12)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(figures["numa_maps_read_ms"] as? Double, "\(figures)"), 0)
    }

    /// A dedicated cgroup makes numa_maps needless even with the opt-in.
    func testOptInSkipsNumaMapsWhereADedicatedCgroupAccounts() throws {
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152])
        let watch = try watch()
        let workloads = try workloads
        for now in [0.0, 60, 120] { _ = watch.sample(workloads, now: now, period: 60, numaMaps: true) }
        XCTAssertFalse(log.paths.contains("proc/152/numa_maps"))
    }

    /// A reload that changes the workload's match matches the process again (once).
    func testAChangedMatchIsMatchedAgain() throws {
        try CgroupLayout.v2.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: [152])
        let watch = try watch()
        XCTAssertEqual(watch.sample(try workloads, now: 0, period: 60).count, 2)
        let changed = try PolicyLoader.parse(ProtectedWatchTests.policy.replacingOccurrences(of: "^probe 32 /bin/busybox$", with: "^probe 32 "),
                                             file: "p.yaml").workloads
        log.clear()
        watch.rediscover()
        XCTAssertEqual(watch.sample(changed, now: 1, period: 60).map(\.kind), [.process, .process], "watching again, and its cgroup")
        XCTAssertEqual(log.paths.filter { $0 == "proc/152/cmdline" }.count, 1)
        watch.rediscover()
        XCTAssertEqual(watch.sample(changed, now: 2, period: 60), [])
        XCTAssertEqual(log.paths.filter { $0 == "proc/152/cmdline" }.count, 1, "the same match: not again")
    }
}

private extension URL {
    /// The URL, its parent directory created.
    func creatingDirectory() throws -> URL {
        try FileManager.default.createDirectory(at: deletingLastPathComponent(), withIntermediateDirectories: true)
        return self
    }
}

extension ProtectedWatch {
    /// The exposition of what this watch keeps of its protected workloads (the service's
    /// status holds the same two values).
    func metrics(_ workloads: [Workload]) -> String {
        var status = WatchStatus()
        status.protected = counts(workloads)
        status.protectedMemory = memory()
        return WatchMetrics.render(status)
    }
}
