import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// Per-node memory of workloads from the memory cgroups dedicated to them
/// (`DedicatedCgroups`, the rule watch uses): memory.numa_stat is summed by the kernel from
/// per-cgroup counters, so reading it takes no lock of any process, where numa_maps holds
/// the process's mmap lock while the kernel walks its page tables.
///
/// The audit asks for it for protected workloads and for workloads that opted out of
/// numa_maps reads (`memory.scan: false`): their `memory.remote`, the headroom a protected
/// workload's resident memory sets, and their share of a reserved node come from the cgroup.
/// numa_maps is still read where a check needs what only it gives (each mapping's policy,
/// interleave inherited through fork and exec), once per process.
struct CgroupMemory {
    /// A dedicated cgroup and its figures.
    struct Group {
        /// As /proc/PID/cgroup names it (`/system.slice/engine.service`).
        var path: String
        var workload: String
        /// The claimed processes it accounts for, ascending, with their names.
        var processes: [(pid: Int, comm: String)]
        /// Anonymous bytes per node, descendants included.
        var anon: NodeCounter

        var label: String { "cgroup \(path) (PID \(processes.map { String($0.pid) }.joined(separator: ", ")))" }

        func bytes(on node: Int) -> Int { anon.value(on: node) ?? 0 }
    }

    var groups: [Group] = []
    /// PIDs whose memory a group's figures speak for.
    var accounted: Set<Int> = []
    /// Why a claimed process's cgroup does not speak for it, by PID.
    var refused: [Int: String] = [:]
    /// Cgroup files that could not be read: each also an incomplete finding.
    var unreadable: [(pid: Int, message: String)] = []

    func groups(of workload: String) -> [Group] { groups.filter { $0.workload == workload } }

    /// Reads the figures of the cgroups dedicated to the processes in `claims`.
    static func read(_ hierarchy: CgroupHierarchy, claims: [DedicatedCgroups.Claim], comms: [Int: String]) -> CgroupMemory {
        var memory = CgroupMemory()
        let outcome = DedicatedCgroups.find(hierarchy, claims: claims)
        for (pid, refusal) in outcome.refused {
            if case .unreadable = refusal { memory.unreadable.append((pid, refusal.reason)) } else { memory.refused[pid] = refusal.reason }
        }
        for directory in outcome.groups.keys.sorted() {
            guard let found = outcome.groups[directory] else { continue }
            let stat: NumaStat?
            do {
                stat = try hierarchy.numaStat(for: found.cgroups)
            } catch {
                for pid in found.pids where !error.isMissing { memory.unreadable.append((pid, "cgroup \(found.location.path): \(error)")) }
                continue
            }
            guard let anon = stat?.anon else {
                for pid in found.pids {
                    memory.refused[pid] = "cgroup \(found.location.path) has no memory.numa_stat (the memory controller is not enabled for it)"
                }
                continue
            }
            memory.groups.append(Group(path: found.location.path, workload: found.workload,
                                       processes: found.pids.map { ($0, comms[$0] ?? "?") }, anon: anon))
            memory.accounted.formUnion(found.pids)
        }
        memory.unreadable.sort { $0.pid < $1.pid }
        return memory
    }
}
