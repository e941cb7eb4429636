import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
@testable import NumaguardWatch
import TestSupport
import XCTest

/// The protected-workload watch over a copy of the recorded 6.1 guest, edited between
/// samples the way the kernel would change its files: affinity and nodes in status, a
/// thread's last CPU in its stat, pages in numa_maps, the process gone.
final class ProtectedWatchTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-protected-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: Command.fixture("linux-6.1-2node"), toPath: root.path)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private func edit(_ relative: String, _ change: (String) -> String) throws {
        let url = root.appendingPathComponent(relative)
        try change(try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
    }

    /// PID 152 is `numactl --cpunodebind=1 --membind=1 probe 32 /bin/busybox`.
    static let policy = """
        version: 1
        workloads:
          - name: engine
            match: {cmdline: "^probe 32 /bin/busybox$"}
            protected: true
            cpus: {nodes: [1]}
            memory: {policy: bind, nodes: [1]}
          - name: plain
            match: {cmdline: "^probe 16$"}
            memory: {policy: default}
        """

    func testBaselineThenPlacementChangesPageMovesAndExit() throws {
        let workloads = try PolicyLoader.parse(Self.policy, file: "p.yaml").workloads
        let host = HostRoot(path: root.path)
        let watch = ProtectedWatch(root: host, topology: try TopologyReader.read(host))

        // This recorded host has no cgroup mounts: numa_maps, opted in, is the only per-node figure.
        let first = watch.sample(workloads, now: 0, period: 60, numaMaps: true)
        XCTAssertEqual(first.map(\.kind), [.process, .process, .process])
        XCTAssertTrue(first[0].message.hasPrefix("reading numa_maps of PID 152 holds its mmap lock while the kernel walks its page tables: about "),
                      first[0].message)
        XCTAssertTrue(first[0].message.hasSuffix(" ms for its 12 mappings at the first read (read again at most every 60s)"), first[0].message)
        XCTAssertEqual(first[0].figures["mappings"], 12)
        XCTAssertNotNil(first[0].figures["numa_maps_read_ms"])
        XCTAssertEqual(first[1].message,
                       "watching PID 152 (probe) of protected workload engine: CPUs 2-3, memory nodes 0-1, threads on node 1, 0 B anonymous memory off node 1")
        XCTAssertTrue(first[2].message.hasPrefix("PID 152 (probe) of protected workload engine: no memory cgroup hierarchy is mounted for it"), first[2].message)
        XCTAssertEqual(watch.counts(workloads).map(\.0), ["engine"], "only protected workloads are watched")
        XCTAssertEqual(watch.counts(workloads).map(\.1), [1])
        XCTAssertEqual(watch.sample(workloads, now: 0.5, period: 60, numaMaps: true), [], "nothing changed")

        try edit("proc/152/status") { $0.replacingOccurrences(of: "Cpus_allowed_list:\t2-3", with: "Cpus_allowed_list:\t0-3") }
        try edit("proc/152/task/152/stat") { Self.withProcessor(0, $0) }
        // numa_maps changes too, but is not due before the period is over.
        try edit("proc/152/numa_maps") { $0.replacingOccurrences(of: "N1=", with: "N0=") }
        let changed = watch.sample(workloads, now: 1, period: 60, numaMaps: true)
        XCTAssertEqual(changed.map(\.kind), [.placement, .placement])
        XCTAssertEqual(changed.map(\.isChange), [true, true])
        XCTAssertEqual(changed[0].message, "PID 152 (probe) of protected workload engine: allowed CPUs changed from 2-3 to 0-3")
        XCTAssertEqual(changed[1].message,
                       "PID 152 (probe) of protected workload engine: thread 152 on CPU 0 ran on node 0 for the first time (seen before: node 1)")
        XCTAssertEqual(watch.sample(workloads, now: 2, period: 60, numaMaps: true), [], "a node seen once is not news again")

        let moved = watch.sample(workloads, now: 61, period: 60, numaMaps: true)
        XCTAssertEqual(moved.map(\.kind), [.pagesMoved])
        XCTAssertTrue(moved[0].message.hasPrefix("PID 152 (probe) of protected workload engine: anonymous memory off node 1 grew from 0 B to "),
                      moved[0].message)

        try FileManager.default.removeItem(at: root.appendingPathComponent("proc/152"))
        let gone = watch.sample(workloads, now: 62, period: 60, numaMaps: true)
        XCTAssertEqual(gone.map(\.kind), [.process])
        XCTAssertEqual(gone.first?.message, "PID 152 (probe) of protected workload engine exited")
        XCTAssertEqual(watch.count, 0)
    }

    func testScanFalseNeverReadsNumaMaps() throws {
        let text = Self.policy.replacingOccurrences(of: "memory: {policy: bind, nodes: [1]}", with: "memory: {policy: bind, nodes: [1], scan: false}")
        let workloads = try PolicyLoader.parse(text, file: "p.yaml").workloads
        // An unreadable numa_maps would be reported if it were read.
        try FileManager.default.removeItem(at: root.appendingPathComponent("proc/152/numa_maps"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("proc/152/numa_maps"), withIntermediateDirectories: false)
        let host = HostRoot(path: root.path)
        let watch = ProtectedWatch(root: host, topology: try TopologyReader.read(host))
        let notes = watch.sample(workloads, now: 0, period: 0, numaMaps: true)
        XCTAssertEqual(notes.map(\.kind), [.process, .process], "watching, and no cgroup: \(notes)")
        XCTAssertFalse(notes[0].message.contains("off node"), notes[0].message)
        XCTAssertEqual(watch.sample(workloads, now: 100, period: 0, numaMaps: true), [])
    }

    private func watch() throws -> ProtectedWatch {
        let host = HostRoot(path: root.path)
        return ProtectedWatch(root: host, topology: try TopologyReader.read(host))
    }

    /// A non-protected workload listed first that also matches must not hide the protected one.
    func testAProtectedMatchWinsWhateverTheWorkloadOrder() throws {
        // "probe" is the comm of PID 152, so this earlier workload matches it too.
        let text = Self.policy.replacingOccurrences(of: "workloads:\n", with: "workloads:\n  - name: everything-probe\n    match: {comm: \"^probe$\"}\n    memory: {policy: default}\n")
        let workloads = try PolicyLoader.parse(text, file: "p.yaml").workloads
        let watch = try watch()
        let first = watch.sample(workloads, now: 0, period: 60)
        XCTAssertEqual(first.map(\.kind), [.process, .process], "watching, and no cgroup: \(first)")
        XCTAssertEqual(first.first?.pid, 152)
        XCTAssertEqual(first.first?.workload, "engine")
        XCTAssertEqual(watch.counts(workloads).map(\.1), [1])
        // And it stays watched at the next discovery.
        XCTAssertEqual(watch.sample(workloads, now: 61, period: 60), [])
        XCTAssertEqual(watch.count, 1)
    }

    /// The PID now belongs to another process (another start time): its files must not be
    /// read as the protected process's placement change.
    func testAReusedPIDIsAnExitNotAPlacementChange() throws {
        let workloads = try PolicyLoader.parse(Self.policy, file: "p.yaml").workloads
        let watch = try watch()
        XCTAssertEqual(watch.sample(workloads, now: 0, period: 60).map(\.kind), [.process, .process])
        try edit("proc/152/stat") { Self.withField(19, "999999", $0) }
        try edit("proc/152/status") { $0.replacingOccurrences(of: "Cpus_allowed_list:\t2-3", with: "Cpus_allowed_list:\t0-1") }
        try edit("proc/152/task/152/stat") { Self.withProcessor(0, $0) }
        let notes = watch.sample(workloads, now: 1, period: 60)
        XCTAssertEqual(notes.map(\.kind), [.process], "\(notes)")
        XCTAssertEqual(notes.first?.message, "PID 152 (probe) of protected workload engine exited")
        XCTAssertEqual(watch.count, 0)
    }

    /// One thread re-pinned within its node: the process's mask and its nodes are unchanged.
    func testOneThreadRepinnedWithinItsNodeIsAPlacementChange() throws {
        let workloads = try PolicyLoader.parse(Self.policy, file: "p.yaml").workloads
        try FileManager.default.copyItem(at: root.appendingPathComponent("proc/152/task/152"),
                                         to: root.appendingPathComponent("proc/152/task/153"))
        let watch = try watch()
        XCTAssertEqual(watch.sample(workloads, now: 0, period: 60).map(\.kind), [.process, .process])
        XCTAssertEqual(watch.threadMasksKept, 2)
        XCTAssertEqual(watch.sample(workloads, now: 0.5, period: 60), [])

        try edit("proc/152/task/153/status") { $0.replacingOccurrences(of: "Cpus_allowed_list:\t2-3", with: "Cpus_allowed_list:\t3") }
        let notes = watch.sample(workloads, now: 1, period: 60)
        XCTAssertEqual(notes.map(\.kind), [.placement])
        XCTAssertEqual(notes.map(\.isChange), [true])
        XCTAssertEqual(notes.first?.message, "PID 152 (probe) of protected workload engine: thread 153 allowed CPUs changed from 2-3 to 3")
        XCTAssertEqual(watch.sample(workloads, now: 2, period: 60), [], "reported once")

        // A thread that exits is forgotten: the masks kept follow the live threads.
        try FileManager.default.removeItem(at: root.appendingPathComponent("proc/152/task/153"))
        XCTAssertEqual(watch.sample(workloads, now: 3, period: 60), [])
        XCTAssertEqual(watch.threadMasksKept, 1)
    }

    /// A status whose Cpus_allowed_list cannot be parsed is unreadable, not "unchanged".
    func testAnUnparsableStatusIsUnreadable() throws {
        let workloads = try PolicyLoader.parse(Self.policy, file: "p.yaml").workloads
        let watch = try watch()
        XCTAssertEqual(watch.sample(workloads, now: 0, period: 60).map(\.kind), [.process, .process])
        try edit("proc/152/status") { $0.replacingOccurrences(of: "Cpus_allowed_list:\t2-3", with: "Cpus_allowed_list:\t2-x") }
        let notes = watch.sample(workloads, now: 1, period: 60)
        XCTAssertEqual(notes.map(\.kind), [.unreadable], "\(notes)")
        XCTAssertTrue(notes[0].message.hasPrefix("PID 152 (probe) of protected workload engine: "), notes[0].message)
        XCTAssertTrue(notes[0].message.contains("proc/152/status"), notes[0].message)
        XCTAssertTrue(notes[0].message.contains("Cpus_allowed_list"), notes[0].message)
        try edit("proc/152/status") { $0.replacingOccurrences(of: "Cpus_allowed_list:\t2-x", with: "Cpus_allowed_list:\t2-3") }
        XCTAssertEqual(watch.sample(workloads, now: 2, period: 60), [], "readable again and unchanged")
    }

    /// A stat line with field `index` after the command (0 the state, 19 the start time) replaced.
    static func withField(_ index: Int, _ value: String, _ stat: String) -> String {
        guard let paren = stat.lastIndex(of: ")") else { return stat }
        var fields = stat[stat.index(after: paren)...].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        fields[index] = value
        return String(stat[...paren]) + " " + fields.joined(separator: " ") + "\n"
    }

    /// A stat line with field 39 (the CPU last run on) replaced.
    static func withProcessor(_ cpu: Int, _ stat: String) -> String {
        withField(36, String(cpu), stat)
    }
}
