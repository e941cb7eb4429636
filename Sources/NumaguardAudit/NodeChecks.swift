import NumaguardCore
import NumaguardPolicy

/// Checks per node: reservations (who else holds memory there) and headroom.
public enum NodeChecks {
    /// Anonymous memory of processes outside the reserving workloads, per reserved node,
    /// naming the largest holders. Page cache is not counted: it is shared and placed by
    /// whoever faulted it first, so it cannot be charged to one process.
    ///
    /// `cgroups`: dedicated cgroups whose memory.numa_stat speaks for their processes (whose
    /// numa_maps tallies, if any, are then left out so nothing is counted twice).
    static func reservations(_ reservations: [Reservation], processes: [(pid: Int, comm: String)], owner: [Int: String],
                             tallies: [Int: MemoryTally], cgroups: [CgroupMemory.Group] = []) -> [Finding] {
        let accounted = Set(cgroups.flatMap { $0.processes.map(\.pid) })
        let perProcess = tallies.filter { !accounted.contains($0.key) }
        return reservations.map { reservation in
            let node = reservation.node
            let byProcess = foreignHolders(reservation, processes: processes, owner: owner, tallies: perProcess)
                .map { (label: "PID \($0.0.pid) (\($0.0.comm))", bytes: $0.1, processes: 1) }
            let byCgroup = cgroups.filter { !reservation.workloads.contains($0.workload) && $0.bytes(on: node) > 0 }
                .map { (label: $0.label, bytes: $0.bytes(on: node), processes: $0.processes.count) }
            let foreign = (byProcess + byCgroup).sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.label < $1.label }
            let total = foreign.lazy.map(\.bytes).saturatingSum
            let count = foreign.lazy.map(\.processes).reduce(0, +)
            let named = foreign.prefix(5).map { "\($0.label) \(Bytes.text($0.bytes))" }.joined(separator: ", ")
            return .judge(
                total <= reservation.maxForeignMemory, .reservation(node: node), .critical, subject: "node \(node)",
                expected: "at most \(Bytes.text(reservation.maxForeignMemory)) of memory outside \(reservation.workloads.joined(separator: ", "))",
                actual: total == 0 ? "none" : "\(Bytes.text(total)) in \(count) process\(count == 1 ? "" : "es"): \(named)",
                remediation: "numaguard apply (migrates the foreign processes' pages off node \(node)); launch them through numaguard run bound elsewhere")
        }
    }

    /// Processes outside the reserving workloads holding anonymous (or mixed) memory on the
    /// reserved node, largest first: the reservation check names them, and the enforcer
    /// moves them off in that order.
    static func foreignHolders(_ reservation: Reservation, processes: [(pid: Int, comm: String)], owner: [Int: String],
                                      tallies: [Int: MemoryTally]) -> [((pid: Int, comm: String), Int)] {
        var foreign: [((pid: Int, comm: String), Int)] = []
        for process in processes {
            if let name = owner[process.pid], reservation.workloads.contains(name) { continue }
            guard let tally = tallies[process.pid] else { continue }
            let bytes = KernelArithmetic.sum(tally.bytes(.anonymous, on: reservation.node), tally.bytes(.mixed, on: reservation.node))
            if bytes > 0 { foreign.append((process, bytes)) }
        }
        return foreign.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.pid < $1.0.pid }
    }

    static func headroom(_ rules: [Headroom], topology: Topology, protectedResident: [Int: Int]) -> [Finding] {
        rules.map { rule in
            let node = topology.node(rule.node)
            let free = node?.memFree ?? 0
            let needed: Int
            let expected: String
            switch rule.minFree {
            case let .bytes(bytes):
                needed = bytes
                expected = "at least \(Bytes.text(bytes)) free"
            case let .percent(percent):
                needed = KernelArithmetic.clamped(Double(node?.memTotal ?? 0) * percent / 100)
                expected = "at least \(percent)% of the node free (\(Bytes.text(needed)))"
            case let .protectedMultiple(factor):
                let resident = protectedResident[rule.node] ?? 0
                needed = KernelArithmetic.clamped(Double(resident) * factor)
                expected = "at least \(factor)× the protected workloads' \(Bytes.text(resident)) resident here (\(Bytes.text(needed))) free"
            }
            return .judge(
                node != nil && free >= needed, .headroom(node: rule.node), .warning, subject: "node \(rule.node)",
                expected: expected, actual: node == nil ? "node absent" : "\(Bytes.text(free)) free of \(Bytes.text(node?.memTotal ?? 0))",
                remediation: "move noisy neighbours to another node (numaguard apply) or free memory on node \(rule.node)")
        }
    }
}
