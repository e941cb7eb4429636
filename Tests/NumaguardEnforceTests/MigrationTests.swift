import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// migrate's rules without the CLI: its refusals over a recorded 2-node host (PID 122
/// `probe 64`, PID 152 `probe 32 /bin/busybox`, both comm `probe`), and what the prepared
/// action does in the apply loop over MemoryHost.
final class MigrationTests: XCTestCase {
    private var copies: [URL] = []

    override func tearDown() {
        for copy in copies { try? FileManager.default.removeItem(at: copy) }
        copies = []
    }

    static let protecting = """
        version: 1
        workloads:
          - name: engine
            match: {cmdline: "^probe 64$"}
            protected: true
        """

    static let unprotected = """
        version: 1
        workloads:
          - name: batch
            match: {cmdline: "^probe 32 "}
        """

    func host() throws -> URL {
        let copy = try Fixtures.copy("linux-6.1-2node", keeping: [122, 152])
        copies.append(copy)
        return copy
    }

    func request(_ pid: Int, from: [Int] = [0], to: [Int] = [1], policy yaml: String? = nil, protect: [String] = [],
                 all: Bool = false) throws -> Migration.Request {
        Migration.Request(pid: pid, from: IDSet(from), to: IDSet(to), policy: try yaml.map { try PolicyLoader.parse($0, file: "p.yaml") },
                          policyFile: "p.yaml", protect: protect, all: all)
    }

    func refusal(_ request: Migration.Request, _ root: URL) -> Migration.Refusal? {
        do {
            _ = try Migration.prepare(request, root: HostRoot(path: root.path))
            return nil
        } catch {
            return error
        }
    }

    func usage(_ refusal: Migration.Refusal?) -> String? {
        if case let .usage(message) = refusal { return message }
        return nil
    }

    /// The prepared action run by the apply loop, PID `pid` held by MemoryHost with 8 MiB on each node.
    func apply(_ prepared: Migration.Prepared, _ memory: MemoryHost) -> ApplyReport {
        let target = prepared.target
        memory.processes[target.pid] = .init(startTime: target.startTime, threads: [target.pid: IDSet([0, 1])],
                                             pages: [0: 8 << 20, 1: 8 << 20])
        let applier = Applier(actuator: memory, privileges: Privileges(uid: 0, effective: ["CAP_SYS_NICE", "CAP_SYS_PTRACE"]),
                              journal: nil, command: "migrate", run: "run-1", protection: prepared.protection, clock: { "t" })
        return applier.apply([prepared.action])
    }

    func testAThreadIDIsRefusedBeforeTheProcessIsRead() throws {
        // /proc/TID of a thread of PID 122: its status names the thread group it belongs to.
        let root = try host()
        let status = try String(contentsOf: root.appendingPathComponent("proc/122/status"), encoding: .utf8)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("proc/125"), withIntermediateDirectories: true)
        try status.replacingOccurrences(of: "Pid:\t122", with: "Pid:\t125")
            .write(to: root.appendingPathComponent("proc/125/status"), atomically: true, encoding: .utf8)
        XCTAssertEqual(usage(refusal(try request(125), root)),
                       "125 is a thread of process 122, not a process: migrate_pages would move all of PID 122's memory; "
                       + "give PID 122 if that is meant; nothing was changed")
        XCTAssertNil(refusal(try request(122), root), "the process itself is not refused")
    }

    func testAllIsRefusedWhenThePolicyProtectsAWorkload() throws {
        let root = try host()
        XCTAssertEqual(usage(refusal(try request(152, policy: Self.protecting, all: true), root)),
                       "--all moves pages a protected process may share: p.yaml protects a workload; nothing was changed")
        // A policy that protects nothing: --all moves shared pages too.
        let prepared = try Migration.prepare(try request(152, policy: Self.unprotected, all: true), root: HostRoot(path: root.path))
        XCTAssertEqual(prepared.action.onlyUnshared, false)
        XCTAssertEqual(prepared.target.workload, "batch")
        let memory = MemoryHost()
        XCTAssertEqual(apply(prepared, memory).results.map(\.outcome), [.done])
        XCTAssertEqual(memory.calls, ["migrate 152 0->1"])
    }

    func testProtectNamesAndAllAreRefusedBeforeAnythingIsRead() {
        XCTAssertEqual(Migration.refusal(protect: ["trading-engine-a"], all: false),
                       "--protect trading-engine-a: a comm is at most 15 characters (the kernel truncates longer names), so it "
                       + "would never match; give the PID, or the comm as /proc/PID/comm shows it")
        XCTAssertNil(Migration.refusal(protect: ["trading-engine-"], all: false), "15 characters is what the kernel keeps")
        XCTAssertNil(Migration.refusal(protect: ["1234567890123456"], all: false), "a PID of any length")
        XCTAssertEqual(Migration.refusal(protect: ["engine"], all: true),
                       "--all moves pages a protected process may share: not with --protect")
        XCTAssertNil(Migration.refusal(protect: [], all: true))
    }

    func testNodesOfflineOrWithoutMemoryAreRefused() throws {
        let root = try host()
        XCTAssertEqual(usage(refusal(try request(152, to: [63]), root)), "node 63 is not online (online: 0-1); nothing was changed")
        XCTAssertEqual(usage(refusal(try request(152, from: [5]), root)), "node 5 is not online (online: 0-1); nothing was changed")
        try "0\n".write(to: root.appendingPathComponent("sys/devices/system/node/has_memory"), atomically: true, encoding: .utf8)
        XCTAssertEqual(usage(refusal(try request(152), root)), "--to node 1 has no memory; nothing was changed")
        XCTAssertNil(refusal(try request(152, from: [1], to: [0]), root), "moving off a node without memory is allowed")
    }

    func testAMissingProcessOrHostIsNotAUsageError() throws {
        let root = try host()
        guard case .process(.noSuchProcess(pid: 999)) = refusal(try request(999), root) else {
            return XCTFail("\(String(describing: refusal(try request(999), root)))")
        }
        try FileManager.default.removeItem(at: root.appendingPathComponent("sys/devices/system/node/online"))
        guard case .host = refusal(try request(152), root) else { return XCTFail("the topology is the host's") }
    }

    func testAProcessOfAProtectedWorkloadIsRefusedAndLeftAlone() throws {
        let root = try host()
        let prepared = try Migration.prepare(try request(122, policy: Self.protecting), root: HostRoot(path: root.path))
        XCTAssertEqual(prepared.action.status, .refused)
        XCTAssertEqual(prepared.target.workload, "engine")
        XCTAssertTrue(prepared.target.protected)
        XCTAssertEqual(prepared.action.reason, "PID 122 (probe) belongs to protected workload engine of p.yaml: its pages are never "
                       + "migrated live; restart it through numaguard run with the placement instead")
        let memory = MemoryHost()
        XCTAssertEqual(apply(prepared, memory).results.map(\.outcome), [.refused])
        XCTAssertEqual(memory.calls, [], "nothing touched")
    }

    func testProtectNamesAPIDOrAComm() throws {
        let root = try host()
        for name in ["152", "probe"] {
            let prepared = try Migration.prepare(try request(152, protect: [name]), root: HostRoot(path: root.path))
            XCTAssertEqual(prepared.action.status, .refused, name)
            XCTAssertEqual(prepared.action.reason?.hasPrefix("PID 152 (probe) is protected by --protect: "), true, name)
        }
        let other = try Migration.prepare(try request(152, protect: ["122", "engine"]), root: HostRoot(path: root.path))
        XCTAssertEqual(other.action.status, .pending)
    }

    func testAnUnprotectedProcessMovesOnlyPagesItAloneMapsUnlessAll() throws {
        // A protected workload that is not running still keeps shared pages in place.
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [152])
        copies.append(root)
        let prepared = try Migration.prepare(try request(152, policy: Self.protecting), root: HostRoot(path: root.path))
        XCTAssertEqual(prepared.action.status, .pending)
        XCTAssertEqual(prepared.action.onlyUnshared, true)
        XCTAssertEqual(prepared.action.before.hasPrefix("anonymous memory "), true, prepared.action.before)
        let memory = MemoryHost()
        let report = apply(prepared, memory)
        XCTAssertEqual(report.results.map(\.outcome), [.done], report.results.map(\.detail).joined())
        XCTAssertEqual(memory.calls, ["migrate 152 0->1 unshared"])
        XCTAssertEqual(memory.processes[152]?.pages, [0: 0, 1: 16 << 20])

        let all = try Migration.prepare(try request(152, all: true), root: HostRoot(path: root.path))
        let moved = MemoryHost()
        _ = apply(all, moved)
        XCTAssertEqual(moved.calls, ["migrate 152 0->1"], "no policy, no --protect: --all moves shared pages too")
    }
}
