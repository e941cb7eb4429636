import NumaguardAudit
import XCTest

/// The dotted IDs are an interface: waivers, JUnit names and metric labels key on them. Every
/// case is pinned here, so a rename is a deliberate edit of this table (and a CHANGELOG line).
final class CheckIDTests: XCTestCase {
    func testEveryCheckHasItsDocumentedDottedID() {
        let table: [(CheckID, String)] = [
            (.kernel(.numaBalancing), "host.kernel.numa_balancing"),
            (.kernel(.zoneReclaimMode), "host.kernel.zone_reclaim_mode"),
            (.kernel(.transparentHugepage), "host.kernel.transparent_hugepage"),
            (.bootRequires("isolcpus"), "host.kernel.cmdline.require.isolcpus"),
            (.bootForbids("numa=off"), "host.kernel.cmdline.forbid.numa=off"),
            (.topologyNodes, "host.topology.nodes"),
            (.topology(node: 1, .cpus), "host.topology.node.1.cpus"),
            (.topology(node: 0, .minMemory), "host.topology.node.0.min_memory"),
            (.topology(node: 3, .distances), "host.topology.node.3.distances"),
            (.hugePages(node: 0, sizeKiB: 2048), "host.hugepages.node.0.2048kB"),
            (.forbiddenProcess("numad"), "host.forbid_processes.numad"),
            (.reservation(node: 0), "node.0.reserve"),
            (.headroom(node: 1), "node.1.headroom"),
            (.reservationsRead, "reservations.read"),
            (.launchRecordsRead, "launch_records.read"),
            (.windowMigrations, "host.window.migrations"),
            (.windowNumaMiss(node: 1), "node.1.window.numa_miss"),
            (.drift(fact: nil), "drift"),
            (.drift(fact: "kernel.numa_balancing"), "drift.kernel.numa_balancing"),
        ]
        for (id, dotted) in table { XCTAssertEqual(id.description, dotted) }

        let workload: [CheckID.WorkloadCheck: String] = [
            .running: "running", .cpus: "cpus", .lastCPU: "threads.last_cpu", .cpusetCPUs: "cgroup.cpuset.cpus",
            .cpusetMems: "cgroup.cpuset.mems", .memsAllowed: "memory.mems_allowed", .memoryPolicy: "memory.policy",
            .interleave: "memory.interleave", .remote: "memory.remote", .launcher: "launcher", .claim: "claim", .read: "read",
            .cgroupRead: "cgroup.read", .deviceReference: "device", .windowSwitches: "window.nonvoluntary_switches",
        ]
        XCTAssertEqual(Set(workload.keys), Set(CheckID.WorkloadCheck.allCases), "every workload check pinned")
        for (check, tail) in workload {
            XCTAssertEqual(CheckID.workload("trading-engine", check).description, "workload.trading-engine.\(tail)")
            XCTAssertEqual(CheckID.workload("trading-engine", check).workload, "trading-engine")
        }
    }

    /// A workload whose name is another's prefix (`engine`, `engine.fast`) keeps its own
    /// checks: the planner no longer finds the workload by the longest name prefix.
    func testTheWorkloadIsCarriedNotParsed() {
        XCTAssertEqual(CheckID.workload("engine.fast", .cpus).workload, "engine.fast")
        XCTAssertNotEqual(CheckID.workload("engine", .cpus), CheckID.workload("engine.fast", .cpus))
        XCTAssertNil(CheckID.reservation(node: 0).workload)
    }
}
