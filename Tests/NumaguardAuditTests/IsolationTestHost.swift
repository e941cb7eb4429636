@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import XCTest

/// A hand-built host for the isolation checks: four CPUs (0-1 node 0, 2-3 node 1), CPUs 2-3
/// isolated with nohz_full, the given isolation state, threads and IRQs.
enum IsolationTestHost {
    static func state(isolated: IDSet = IDSet([2, 3]), nohzFull: IDSet = IDSet([2, 3]), commandLine: String = "ro isolcpus=managed_irq,domain,2-3 nohz_full=2-3",
                      workqueue: IDSet? = IDSet([0, 1]), irqbalance: [IRQBalanceProcess] = [],
                      threads: [TaskPlacement]? = nil, irqs: [IRQAffinity]? = nil) -> HostState {
        let gib = 1 << 30
        let nodes = [
            NodeInfo(id: 0, cpus: IDSet([0, 1]), memTotal: gib, memFree: gib / 2, distances: [10, 21], hugePages: []),
            NodeInfo(id: 1, cpus: IDSet([2, 3]), memTotal: gib, memFree: gib / 2, distances: [21, 10], hugePages: []),
        ]
        let topology = Topology(numaEnabled: true, possibleNodes: IDSet([0, 1]), onlineNodes: IDSet([0, 1]), nodesWithCPU: IDSet([0, 1]),
                                nodesWithMemory: IDSet([0, 1]), nodes: nodes, possibleCPUs: IDSet(0...3), onlineCPUs: IDSet(0...3),
                                isolatedCPUs: isolated, nohzFullCPUs: nohzFull)
        let kernel = KernelState(release: "6.1.0", commandLine: commandLine, numaBalancing: 0, zoneReclaimMode: 0,
                                 transparentHugepage: "never", transparentHugepageDefrag: nil)
        var state = HostState(kernel: kernel, topology: topology, names: HostNames(hostname: "h", machineID: nil, bootID: nil))
        var isolation = IsolationState(isolated: isolated, nohzFull: nohzFull, isolcpus: IsolcpusArgument.from(commandLine: commandLine),
                                       workqueueCPUs: workqueue)
        isolation.irqbalance = irqbalance
        state.isolation = isolation
        state.threads = threads.map { ThreadScan(threads: $0) }
        state.irqScan = irqs.map { IRQScan(irqs: $0) }
        return state
    }

    static func thread(_ pid: Int, _ tid: Int? = nil, comm: String, allowed: IDSet, last: Int = 0, kernel: Bool = false) -> TaskPlacement {
        TaskPlacement(pid: pid, tid: tid ?? pid, comm: comm, processComm: comm, uid: kernel ? 0 : 1000, kernel: kernel, allowed: allowed,
                      lastCPU: last, startTime: 1, nonvoluntary: 0)
    }

    static func loaded(_ yaml: String) throws -> LoadedPolicy {
        LoadedPolicy(policy: try PolicyLoader.parse(yaml, file: "p.yaml"), file: "p.yaml", digest: "0")
    }

    static func lines(_ findings: [Finding]) -> [String] {
        findings.map { "\($0.check) \($0.outcome.rawValue)" + ($0.subject.map { " [\($0)]" } ?? "") }
    }
}
