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

        var who: String { "PID \(pid) (\(comm)) of protected workload \(workload)" }
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
    }

    let root: HostRoot
    private(set) var hierarchy: CgroupHierarchy?
    /// Dedicated cgroups by memory directory.
    private(set) var groups: [String: Group] = [:]
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

    /// Which of `members` (every tracked process) a dedicated cgroup accounts for. Reads
    /// mountinfo, each member's /proc/PID/cgroup and the cgroup.procs files of their memory
    /// cgroups and what is below them. A cgroup that stays dedicated keeps its baseline.
    func assign(_ members: [Member]) -> [ProtectedNote] {
        let hierarchy = CgroupHierarchy.read(root)
        self.hierarchy = hierarchy
        var notes: [ProtectedNote] = []
        var found: [String: (location: CgroupLocation, entries: [CgroupEntry], members: [Member])] = [:]
        for member in members.sorted(by: { $0.pid < $1.pid }) {
            let entries: [CgroupEntry]
            do {
                entries = try hierarchy.cgroups(of: member.pid)
            } catch {
                // Gone: the next sample says it exited.
                if !error.isMissing { notes.append(ProtectedNote(kind: .unreadable, message: "\(member.who): \(error)", workload: member.workload, pid: member.pid)) }
                continue
            }
            guard let location = hierarchy.location(of: "memory", in: entries) else {
                notes += once(member, "no memory cgroup hierarchy is mounted for it (\(hierarchy.source))")
                continue
            }
            found[location.directory, default: (location, entries, [])].members.append(member)
        }
        // A workload's processes in cgroups below this one are its own too.
        var byWorkload: [String: Set<Int>] = [:]
        for member in members { byWorkload[member.workload, default: []].insert(member.pid) }
        var fresh: [String: Group] = [:]
        for directory in found.keys.sorted() {
            guard let (location, entries, inside) = found[directory] else { continue }
            let outcome: CgroupSubtree.Outcome
            do {
                outcome = try CgroupSubtree.read(hierarchy, entries)
            } catch {
                if !error.isMissing, let first = inside.first {
                    notes.append(ProtectedNote(kind: .unreadable, message: "\(first.who): cgroup \(location.path): \(error)", workload: first.workload, pid: first.pid))
                }
                continue
            }
            let workloads = Set(inside.map(\.workload))
            for member in inside {
                let own = byWorkload[member.workload] ?? []
                switch outcome {
                case .unmounted:
                    notes += once(member, "no memory cgroup hierarchy is mounted for it (\(hierarchy.source))")
                case .tooLarge:
                    notes += once(member, "cgroup \(location.path) has more than \(CgroupSubtree.maximumCgroups) cgroups below it, so it is not this workload's alone")
                case let .read(subtree):
                    let others = subtree.pids.subtracting(own).count
                    if others > 0 {
                        notes += once(member, "cgroup \(location.path) is shared with \(others) other process\(others == 1 ? "" : "es")"
                                      + (subtree.cgroups > 1 ? " (in it and the \(subtree.cgroups - 1) cgroup\(subtree.cgroups == 2 ? "" : "s") below it)" : "")
                                      + ", so its memory.numa_stat is not this workload's alone")
                    }
                }
            }
            guard workloads.count == 1, case let .read(subtree) = outcome, !subtree.pids.isEmpty,
                  let workload = inside.first?.workload, subtree.pids.isSubset(of: byWorkload[workload] ?? []) else { continue }
            let previous = groups[directory].flatMap { $0.members.first?.workload == workload ? $0 : nil }
            fresh[directory] = Group(path: location.path, entries: entries, members: inside,
                                     home: previous?.home ?? inside.first?.home, offHome: previous?.offHome)
        }
        groups = Self.outermost(fresh)
        return notes
    }

    /// A dedicated cgroup below another dedicated one is counted in the upper one's figures:
    /// its members join the upper group, so one page move is reported once.
    static func outermost(_ groups: [String: Group]) -> [String: Group] {
        var kept: [String: Group] = [:]
        for directory in groups.keys.sorted(by: { $0.count < $1.count }) {
            guard let group = groups[directory] else { continue }
            if let upper = kept.keys.first(where: { directory.hasPrefix($0 + "/") }), var into = kept[upper] {
                into.members = (into.members + group.members).sorted { $0.pid < $1.pid }
                kept[upper] = into
            } else {
                kept[directory] = group
            }
        }
        return kept
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
            groups[directory] = group
        }
        return notes
    }
}
