import NumaguardCore
import NumaguardHost
@testable import NumaguardPolicy
import TestSupport
import XCTest

/// The policies in policies/ load through `PolicyLoader.load(file:reading:)` and `InputFile.read` to exactly the values
/// they spell; a change in the loader that reads them differently fails here.
final class ShippedPolicyTests: XCTestCase {
    func testEveryShippedPolicyLoads() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: PolicyText.policiesDirectory)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(names, ["batch-isolation.yaml", "latency-baseline.yaml", "trading-host.yaml"])
        for name in names {
            XCTAssertNoThrow(try PolicyLoader.load(file: PolicyText.shipped(name), reading: InputFile.read), name)
        }
    }

    func testTradingHost() throws {
        let path = PolicyText.shipped("trading-host.yaml")
        let loaded = try PolicyLoader.load(file: path, reading: InputFile.read)
        XCTAssertEqual(loaded.file, path)
        let policy = loaded.policy
        XCTAssertEqual(policy.version, 1)

        let kernel = policy.host.kernel
        XCTAssertEqual(kernel.numaBalancing, .off)
        XCTAssertEqual(kernel.numaBalancing?.value, 0)
        XCTAssertEqual(kernel.zoneReclaimMode, 0)
        XCTAssertEqual(kernel.transparentHugepage, "never")
        XCTAssertEqual(kernel.cmdlineRequire, ["isolcpus=2-15"])
        XCTAssertEqual(kernel.cmdlineForbid, ["numa=off"])

        let topology = try XCTUnwrap(policy.host.topology)
        XCTAssertEqual(topology.nodes, 2)
        XCTAssertEqual(topology.cpus, [0: IDSet(0...15), 1: IDSet(16...31)])
        XCTAssertEqual(topology.minMemory, [0: 120 << 30])
        XCTAssertEqual(topology.distances, [:])
        XCTAssertEqual(policy.host.hugePages, [HugePageRequirement(node: 0, sizeKiB: 2048, count: 1024)])
        XCTAssertEqual(policy.host.headroom, [Headroom(node: 0, minFree: .protectedMultiple(2))])
        XCTAssertEqual(policy.host.forbidProcesses, ["numad"])

        XCTAssertEqual(policy.workloads.count, 2)
        let engine = try XCTUnwrap(policy.workload(named: "trading-engine"))
        XCTAssertEqual(engine.match, ProcessMatch(comm: "trading_engine"))
        XCTAssertTrue(engine.protected)
        XCTAssertEqual(engine.running, RunningCount(minimum: 1, maximum: 1))
        XCTAssertEqual(engine.cpus, .nodes(IDSet([0])))
        XCTAssertEqual(engine.memory, MemoryPlacement(mode: .bind, nodes: IDSet([0]), maxRemote: 0.01))
        let analytics = try XCTUnwrap(policy.workload(named: "analytics"))
        XCTAssertEqual(analytics.match, ProcessMatch(exe: "/opt/analytics/bin/run"))
        XCTAssertFalse(analytics.protected)
        XCTAssertNil(analytics.running)
        XCTAssertEqual(analytics.cpus, .nodes(IDSet([1])))
        XCTAssertEqual(analytics.memory, MemoryPlacement(mode: .bind, nodes: IDSet([1])))
        XCTAssertEqual(policy.workloads.map(\.name), ["trading-engine", "analytics"])

        XCTAssertEqual(policy.reservations, [Reservation(node: 0, workloads: ["trading-engine"], maxForeignMemory: 256 << 20)])
        XCTAssertEqual(policy.waivers, [Waiver(check: "host.kernel.transparent_hugepage", reason: "vendor kernel, OPS-123",
                                               expires: Day(year: 2026, month: 12, day: 31))])
        XCTAssertTrue(policy.waivers[0].covers("host.kernel.transparent_hugepage"))
        XCTAssertFalse(policy.waivers[0].covers("host.kernel.numa_balancing"))
        XCTAssertEqual(policy.watch, WatchSettings(intervalSeconds: 1, hintFaultsPerSecond: 1000, pagesMigratedPerSecond: 5000,
                                                   remoteFaultRatio: 0.3, dwellSeconds: 30))
    }

    func testLatencyBaseline() throws {
        let policy = try PolicyLoader.load(file: PolicyText.shipped("latency-baseline.yaml"), reading: InputFile.read).policy
        var host = HostPolicy()
        host.kernel.numaBalancing = .off
        host.kernel.zoneReclaimMode = 0
        host.kernel.cmdlineForbid = ["numa=off"]
        host.forbidProcesses = ["numad"]
        XCTAssertEqual(policy, Policy(version: 1, host: host))
    }

    func testBatchIsolation() throws {
        let policy = try PolicyLoader.load(file: PolicyText.shipped("batch-isolation.yaml"), reading: InputFile.read).policy
        XCTAssertEqual(policy.host.kernel.numaBalancing, .off)
        XCTAssertNil(policy.host.kernel.zoneReclaimMode)
        XCTAssertNil(policy.host.topology)
        XCTAssertEqual(policy.host.headroom, [Headroom(node: 0, minFree: .percent(25))])
        XCTAssertEqual(policy.workloads, [
            Workload(name: "latency-service", match: ProcessMatch(comm: "latency_svc"), protected: true, running: RunningCount(minimum: 1),
                     cpus: .nodes(IDSet([0])), memory: MemoryPlacement(mode: .bind, nodes: IDSet([0]), maxRemote: 0.01)),
            Workload(name: "batch", match: ProcessMatch(cmdline: "batch-runner( |$)"),
                     cpus: .nodes(IDSet([1])), memory: MemoryPlacement(mode: .bind, nodes: IDSet([1]), maxRemote: 0.05)),
        ])
        XCTAssertEqual(policy.reservations, [Reservation(node: 0, workloads: ["latency-service"], maxForeignMemory: 512 << 20)])
        XCTAssertEqual(policy.waivers, [])
        XCTAssertNil(policy.watch)
    }

    func testDigestIsSHA256OfTheFileBytes() throws {
        let path = PolicyText.shipped("latency-baseline.yaml")
        let loaded = try PolicyLoader.load(file: path, reading: InputFile.read)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(loaded.digest, SHA256.hex(bytes))
        XCTAssertEqual(loaded.digest.count, 64)
        XCTAssertNotEqual(loaded.digest, try PolicyLoader.load(file: PolicyText.shipped("trading-host.yaml"), reading: InputFile.read).digest)
    }

    func testLoadNamesTheFileInEveryDiagnostic() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bad.yaml").path
        try "version: 1\nhost:\n  kernel:\n    numa_balance: off\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PolicyLoader.load(file: path, reading: InputFile.read)) { error in
            let diagnostics = (error as? PolicyErrors)?.diagnostics ?? []
            XCTAssertEqual(diagnostics.count, 1)
            XCTAssertEqual(diagnostics.first?.file, path)
            XCTAssertTrue("\(error)".hasPrefix("\(path):4:5: error: unknown key \"numa_balance\" in host.kernel"), "\(error)")
        }
    }

    /// A file that cannot be read has no line or column to point at: the error names the
    /// path and the errno's words, and carries no invented `1:1` diagnostic.
    func testMissingFileIsUnreadableWithTheErrnoNotALocatedDiagnostic() {
        let path = "/nonexistent/numaguard/policy.yaml"
        XCTAssertThrowsError(try PolicyLoader.load(file: path, reading: InputFile.read)) { error in
            let errors = error as? PolicyErrors
            XCTAssertEqual(errors?.diagnostics.count, 0, "\(error)")
            XCTAssertEqual(errors?.unreadable, PolicyUnreadable(file: path, reason: "No such file or directory"))
            XCTAssertEqual("\(error)", "cannot read the policy \(path): No such file or directory")
            XCTAssertEqual(errors?.summary, ["cannot read the policy \(path): No such file or directory"])
        }
        // A directory opens but does not read (EISDIR, or refused as not a regular file): unreadable too.
        XCTAssertThrowsError(try PolicyLoader.load(file: "/", reading: InputFile.read)) { error in
            XCTAssertNotNil((error as? PolicyErrors)?.unreadable, "\(error)")
            XCTAssertFalse("\(error)".contains(":1:1"), "\(error)")
        }
    }
}
