import NumaguardCore
import NumaguardHost

/// Per-node memory of protected workloads from their cgroups' memory.numa_stat, which the
/// kernel sums from per-cgroup counters: reading it takes no lock of any process, so it is
/// read every sample (numa_maps, which holds the process's mmap lock while the kernel walks
/// its page tables, is not read for a process whose cgroup accounts for it).
///
/// A cgroup speaks for a workload only when it is dedicated to it: every process in it and
/// in the cgroups below it (numa_stat includes them) is a tracked process of that one
/// protected workload. Two protected workloads in one cgroup are not dedicated either: their
/// home nodes may differ, and a page move could not be told to be either's. Membership is
/// decided at each rediscovery (`assign`), from cgroup.procs files only.
final class ProtectedCgroups {
    /// A tracked protected process, as far as its cgroup is concerned.
    struct Member: Equatable {
        var pid: Int
        var comm: String
        var workload: String
        /// The workload's home nodes, if the policy says (else the first reading's).
        var home: IDSet?
        /// Whether its numa_maps is read where no cgroup speaks for it (the opt-in, and not
        /// `memory.scan: false`).
        var readsMaps = false

        var who: String { ProtectedNote.who(pid: pid, comm: comm, workload: workload) }
    }

    /// A cgroup dedicated to one workload.
    struct Group {
        /// As /proc/PID/cgroup names it (`/system.slice/engine.service`).
        var path: String
        /// /proc/PID/cgroup of a member, to find the memory controller's files.
        var entries: [CgroupEntry]
        var members: [Member]
        var home: IDSet?
        /// Anonymous bytes off `home` at the last sample; nil before the first.
        var offHome: Int?
        /// The last memory.numa_stat read: anonymous and page-cache bytes per node.
        var anon: NodeCounter?
        var file: NodeCounter?
    }

    let root: HostRoot
    private(set) var hierarchy: CgroupHierarchy?
    /// Dedicated cgroups by memory directory (by its bytes, as `DedicatedCgroups` keys them).
    private(set) var groups: [PathKey: Group] = [:]
    /// Processes already told why their cgroup does not speak for them: once each.
    private var noted: Set<Int> = []

    init(root: HostRoot) { self.root = root }

    /// True when a dedicated cgroup's numa_stat accounts for `pid`'s memory.
    func covers(_ pid: Int) -> Bool { groups.values.contains { $0.members.contains { $0.pid == pid } } }

    /// A process that exited: no longer a member, and its note may be given to a new one.
    func forget(_ pid: Int) {
        noted.remove(pid)
        for (directory, var group) in groups {
            group.members.removeAll { $0.pid == pid }
            groups[directory] = group.members.isEmpty ? nil : group
        }
    }

    /// Says, once per process, why its cgroup's figures are not its workload's.
    private func once(_ member: Member, _ reason: String) -> [ProtectedNote] {
        guard noted.insert(member.pid).inserted else { return [] }
        let instead = member.readsMaps
            ? "its per-node memory comes from its numa_maps instead (watch.numa_maps: true), read at most once per period"
            : "its per-node memory is not watched (allowed CPUs, memory nodes and threads still are)"
        return [ProtectedNote(kind: .process, message: "\(member.who): \(reason); \(instead)", workload: member.workload, pid: member.pid)]
    }

    /// Which of `members` (every tracked process) a dedicated cgroup accounts for
    /// (`DedicatedCgroups`' rule, the audit's too). Reads mountinfo, each member's
    /// /proc/PID/cgroup and the cgroup.procs files of their memory cgroups and what is below
    /// them. A cgroup that stays dedicated keeps its baseline.
    func assign(_ members: [Member]) -> [ProtectedNote] {
        let hierarchy = CgroupHierarchy.read(root)
        self.hierarchy = hierarchy
        var notes: [ProtectedNote] = []
        var claims: [DedicatedCgroups.Claim] = []
        var byPID: [Int: Member] = [:]
        for member in members.sorted(by: { $0.pid < $1.pid }) {
            do {
                claims.append(DedicatedCgroups.Claim(pid: member.pid, workload: member.workload, cgroups: try hierarchy.cgroups(of: member.pid)))
                byPID[member.pid] = member
            } catch {
                // Gone: the next sample says it exited.
                if !error.isMissing { notes.append(ProtectedNote(kind: .unreadable, message: "\(member.who): \(error)", workload: member.workload, pid: member.pid)) }
            }
        }
        let outcome = DedicatedCgroups.find(hierarchy, claims: claims)
        for (pid, refusal) in outcome.refused.sorted(by: { $0.key < $1.key }) {
            guard let member = byPID[pid] else { continue }
            if case .unreadable = refusal {
                notes.append(ProtectedNote(kind: .unreadable, message: "\(member.who): \(refusal.reason)", workload: member.workload, pid: pid))
            } else {
                notes += once(member, refusal.reason)
            }
        }
        var fresh: [PathKey: Group] = [:]
        for (directory, found) in outcome.groups {
            let inside = found.pids.compactMap { byPID[$0] }
            let previous = groups[directory].flatMap { $0.members.first?.workload == found.workload ? $0 : nil }
            fresh[directory] = Group(path: found.location.path, entries: found.cgroups, members: inside,
                                     home: previous?.home ?? inside.first?.home, offHome: previous?.offHome)
        }
        groups = fresh
        return notes
    }

    /// Per-node memory of each workload with a dedicated cgroup read at the last sample,
    /// summed over its cgroups (for the metrics). A workload none accounts for is absent.
    func memory() -> [ProtectedMemory] {
        var byWorkload: [String: ProtectedMemory] = [:]
        for group in groups.values {
            guard let workload = group.members.first?.workload, let anon = group.anon else { continue }
            var entry = byWorkload[workload] ?? ProtectedMemory(workload: workload)
            entry.cgroups += 1
            entry.processes += group.members.count
            for (node, value) in anon.nodes { entry.anon[node] = KernelArithmetic.sum(entry.anon[node] ?? 0, value) }
            for (node, value) in group.file?.nodes ?? [] { entry.file[node] = KernelArithmetic.sum(entry.file[node] ?? 0, value) }
            byWorkload[workload] = entry
        }
        return byWorkload.keys.sorted().compactMap { byWorkload[$0] }
    }

    /// One sample: each dedicated cgroup's anonymous memory per node against its home. The
    /// first reading is the baseline (and said once); growth off home is a page move.
    func sample() -> [ProtectedNote] {
        guard let hierarchy else { return [] }
        var notes: [ProtectedNote] = []
        for directory in groups.keys.sorted() {
            guard var group = groups[directory], let lead = group.members.first else { continue }
            let stat: NumaStat?
            do {
                stat = try hierarchy.numaStat(for: group.entries)
            } catch {
                notes.append(ProtectedNote(kind: .unreadable, message: "\(lead.who): cgroup \(group.path): \(error)", workload: lead.workload, pid: lead.pid))
                continue
            }
            guard let anon = stat?.anon else {
                // No memory controller enabled for it (v2's subtree_control), or the cgroup is gone.
                groups[directory] = nil
                for member in group.members {
                    notes += once(member, "cgroup \(group.path) has no memory.numa_stat (the memory controller is not enabled for it)")
                }
                continue
            }
            let home = group.home ?? IDSet(anon.nodes.filter { $0.value > 0 }.map(\.node))
            group.home = home
            let offNodes = anon.nodes.filter { !home.contains($0.node) && $0.value > 0 }
            let off = offNodes.lazy.map(\.value).saturatingSum
            let spread = offNodes.map { "node \($0.node) \(Bytes.text($0.value))" }.joined(separator: ", ")
            let pids = group.members.map { String($0.pid) }.joined(separator: ", ")
            let who = "cgroup \(group.path) of protected workload \(lead.workload) (PID \(pids))"
            if let before = group.offHome {
                if off > before {
                    notes.append(ProtectedNote(kind: .pagesMoved, message: "\(who): anonymous memory off node \(home) grew from \(Bytes.text(before)) to \(Bytes.text(off))"
                                               + " (\(spread), from memory.numa_stat)", workload: lead.workload, pid: lead.pid))
                }
            } else {
                notes.append(ProtectedNote(kind: .process, message: "\(who): per-node memory from its memory.numa_stat every sample (the cgroup holds "
                                           + "only this workload's processes): \(Bytes.text(off)) anonymous memory off node \(home)",
                                           workload: lead.workload, pid: lead.pid))
            }
            group.offHome = off
            group.anon = anon
            group.file = stat?.file
            groups[directory] = group
        }
        return notes
    }
}
