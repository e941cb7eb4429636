import NumaguardCore

/// The one rule for when a memory cgroup's figures are a workload's: watch (every sample)
/// and audit (once) both ask it, so a cgroup that speaks for a workload in one speaks for
/// it in the other.
///
/// A cgroup is dedicated to a workload when every process in it and in every cgroup below
/// it (memory.numa_stat includes them: v2 always, v1 in its `hierarchical_` lines) is one of
/// that workload's processes. Processes of two workloads in one cgroup make it dedicated to
/// neither: their declared nodes may differ, and the cgroup's pages cannot be told apart.
/// Membership comes from cgroup.procs files only: no process's mmap lock is taken.
public enum DedicatedCgroups {
    /// A process a workload claimed, and where its cgroups are (/proc/PID/cgroup).
    public struct Claim: Sendable {
        public var pid: Int
        public var workload: String
        public var cgroups: [CgroupEntry]

        public init(pid: Int, workload: String, cgroups: [CgroupEntry]) {
            self.pid = pid
            self.workload = workload
            self.cgroups = cgroups
        }
    }

    /// A memory cgroup dedicated to one workload, with the claimed processes it accounts for.
    public struct Group: Sendable {
        public var location: CgroupLocation
        /// /proc/PID/cgroup of a member: what `CgroupHierarchy.numaStat(for:)` takes.
        public var cgroups: [CgroupEntry]
        public var workload: String
        /// The claimed processes inside (dedicated cgroups below it included), ascending.
        public var pids: [Int]
    }

    /// Why a claimed process's memory cgroup does not speak for its workload.
    public enum Refusal: Equatable, Sendable {
        /// No memory controller hierarchy holds the process (`source`: where the mounts came from).
        case unmounted(source: String)
        /// More than `CgroupSubtree.maximumCgroups` cgroups below it, or deeper than allowed.
        case tooLarge(path: String)
        /// `others` processes in it or below it are not the workload's.
        case shared(path: String, others: Int, cgroups: Int)
        /// Its cgroup files could not be read.
        case unreadable(path: String, error: String)

        public var reason: String {
            switch self {
            case let .unmounted(source):
                return "no memory cgroup hierarchy is mounted for it (\(source))"
            case let .tooLarge(path):
                return "cgroup \(path) has more than \(CgroupSubtree.maximumCgroups) cgroups below it, so it is not this workload's alone"
            case let .shared(path, others, cgroups):
                return "cgroup \(path) is shared with \(others) other process\(others == 1 ? "" : "es")"
                    + (cgroups > 1 ? " (in it and the \(cgroups - 1) cgroup\(cgroups == 2 ? "" : "s") below it)" : "")
                    + ", so its memory.numa_stat is not this workload's alone"
            case let .unreadable(path, error):
                return "cgroup \(path): \(error)"
            }
        }
    }

    public struct Outcome: Sendable {
        /// Dedicated cgroups by memory directory (by its bytes: two directories whose names are
        /// canonically equal are two cgroups), outermost only: a dedicated cgroup below
        /// another is counted in the upper one's figures, so its processes join that group.
        public var groups: [PathKey: Group] = [:]
        /// Claimed processes no dedicated cgroup speaks for, and why. A process whose cgroup
        /// vanished while it was read (it exited) is in neither.
        public var refused: [Int: Refusal] = [:]
    }

    /// Sorts `claims` (every claimed process of every workload considered) into dedicated
    /// cgroups and refusals. A cgroup holding only some of a workload's processes is still
    /// dedicated to it.
    public static func find(_ hierarchy: CgroupHierarchy, claims: [Claim]) -> Outcome {
        var outcome = Outcome()
        var byWorkload: [String: Set<Int>] = [:]
        for claim in claims { byWorkload[claim.workload, default: []].insert(claim.pid) }
        var found: [PathKey: (location: CgroupLocation, inside: [Claim])] = [:]
        for claim in claims.sorted(by: { $0.pid < $1.pid }) {
            guard let location = hierarchy.location(of: "memory", in: claim.cgroups) else {
                outcome.refused[claim.pid] = .unmounted(source: hierarchy.source)
                continue
            }
            // /proc/PID/cgroup named it with bytes that are not UTF-8: read as another name,
            // it would be taken for another cgroup (or for one that is gone).
            guard PathText.isExact(location.path) else {
                outcome.refused[claim.pid] = .unreadable(path: location.path, error: "its name is not UTF-8, so numaguard cannot tell it from another cgroup")
                continue
            }
            found[PathKey(location.directory), default: (location, [])].inside.append(claim)
        }
        var dedicated: [PathKey: Group] = [:]
        for directory in found.keys.sorted() {
            guard let (location, inside) = found[directory], let lead = inside.first else { continue }
            let read: CgroupSubtree.Outcome
            do {
                read = try CgroupSubtree.read(hierarchy, lead.cgroups)
            } catch {
                // Gone with its processes: they are reported as exited, not as unreadable.
                if !error.isMissing {
                    for claim in inside { outcome.refused[claim.pid] = .unreadable(path: location.path, error: error.description) }
                }
                continue
            }
            let subtree: CgroupSubtree
            switch read {
            case .unmounted:
                for claim in inside { outcome.refused[claim.pid] = .unmounted(source: hierarchy.source) }
                continue
            case .tooLarge:
                for claim in inside { outcome.refused[claim.pid] = .tooLarge(path: location.path) }
                continue
            case let .read(found):
                subtree = found
            }
            var shared = false
            for claim in inside {
                let others = subtree.pids.subtracting(byWorkload[claim.workload] ?? []).count
                if others > 0 {
                    shared = true
                    outcome.refused[claim.pid] = .shared(path: location.path, others: others, cgroups: subtree.cgroups)
                }
            }
            guard !shared, !subtree.pids.isEmpty else { continue }
            dedicated[directory] = Group(location: location, cgroups: lead.cgroups, workload: lead.workload, pids: inside.map(\.pid))
        }
        outcome.groups = outermost(dedicated)
        return outcome
    }

    /// Each dedicated cgroup below another dedicated one hands its processes to the upper.
    static func outermost(_ groups: [PathKey: Group]) -> [PathKey: Group] {
        var kept: [PathKey: Group] = [:]
        // Shorter first (by bytes): an upper directory is a byte prefix of those below it.
        for directory in groups.keys.sorted(by: { $0.path.utf8.count != $1.path.utf8.count ? $0.path.utf8.count < $1.path.utf8.count : $0 < $1 }) {
            guard let group = groups[directory] else { continue }
            if let upper = kept.keys.first(where: { $0 != directory && PathText.isWithin(directory.path, $0.path) }), var into = kept[upper] {
                into.pids = (into.pids + group.pids).sorted()
                kept[upper] = into
            } else {
                kept[directory] = group
            }
        }
        return kept
    }
}
