import Foundation
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// Shared pages stay whenever the policy protects a workload: the rule lives in Protection,
/// which the apply loop asks for every action, so a saved plan (whatever its only_unshared
/// says) and a live plan migrate the same pages.
final class ProtectionTests: XCTestCase {
    static let target = ProcessTarget(pid: 152, startTime: 700, comm: "probe", uid: 0, workload: "batch", protected: false)

    /// A migration as an edited saved plan would carry it: shared pages move.
    static var edited: Action {
        Migration.action(target, from: IDSet([0]), to: IDSet([1]), before: "8 MiB on node 0", protection: nil, onlyUnshared: false)
    }

    func memory() -> MemoryHost {
        let host = MemoryHost()
        host.processes[152] = .init(startTime: 700, threads: [152: IDSet([0, 1])], pages: [0: 8 << 20])
        return host
    }

    func apply(_ protection: Protection, _ host: MemoryHost, _ actions: [Action] = [edited]) -> ApplyReport {
        Applier(actuator: host, privileges: Privileges(uid: 0, effective: ["CAP_SYS_NICE", "CAP_SYS_PTRACE"]), journal: nil,
                command: "apply", run: "run-1", protection: protection, clock: { "t" }).apply(actions)
    }

    func policy(_ protected: Bool) throws -> Policy {
        try PolicyLoader.parse("""
            version: 1
            workloads:
              - name: engine
                match: {cmdline: "^no such program$"}
                protected: \(protected)
            """, file: "p.yaml")
    }

    func testAPolicyThatProtectsAWorkloadKeepsSharedPagesWhateverThePlanSays() throws {
        let root = HostRoot(path: Fixtures.path("linux-6.1-2node"))
        let protection = Protection.policy(try policy(true), file: "p.yaml", root: root)
        XCTAssertTrue(protection.sharesStay)
        let host = memory()
        let report = apply(protection, host)
        XCTAssertEqual(report.results.map(\.outcome), [.done])
        XCTAssertEqual(host.calls, ["migrate 152 0->1 unshared"], "the engine is not running: its pages may still be shared later")
        XCTAssertEqual(report.results[0].action.onlyUnshared, true, "the report shows what was done")
    }

    func testAPolicyThatProtectsNothingMovesWhatThePlanSays() throws {
        let root = HostRoot(path: Fixtures.path("linux-6.1-2node"))
        let protection = Protection.policy(try policy(false), file: "p.yaml", root: root)
        XCTAssertFalse(protection.sharesStay)
        let host = memory()
        _ = apply(protection, host)
        XCTAssertEqual(host.calls, ["migrate 152 0->1"])
        XCTAssertFalse(Protection.policy(nil, file: "", root: root).sharesStay, "no policy (migrate without --policy)")
        XCTAssertFalse(Protection.none.sharesStay)
    }

    func testSettleTouchesMigrationsOnly() {
        let keeping = Protection(sharesStay: true) { _ in nil }
        XCTAssertEqual(keeping.settle(Self.edited).onlyUnshared, true)
        let knob = Action(kind: .setKnob, checks: ["host.kernel.numa_balancing"], subject: "kernel.numa_balancing",
                          knob: .sysctl("kernel.numa_balancing"), value: "0", before: "1", after: "0", requires: [])
        XCTAssertEqual(keeping.settle(knob), knob)
        XCTAssertEqual(Protection.none.settle(Self.edited), Self.edited)
    }
}
