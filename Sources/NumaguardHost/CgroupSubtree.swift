import NumaguardCore

/// The processes of a memory cgroup and of every cgroup below it: the scope of its
/// memory.numa_stat (hierarchical on v2 always, on v1 in its `hierarchical_` lines). A
/// cgroup's figures speak for a workload only when every process in this scope is the
/// workload's. Read from cgroup.procs files only (no process's mmap lock is taken).
///
/// Wraps `CgroupHierarchy.membership(for:)`, which lists one cgroup's processes and its
/// children's names, into a bounded walk of the descendants.
public struct CgroupSubtree: Equatable, Sendable {
    /// Every process in the cgroup or below it.
    public var pids: Set<Int>
    /// How many cgroups the walk read (the cgroup itself included).
    public var cgroups: Int

    /// A service's cgroup has none or a few below it; a subtree larger than this is not one
    /// workload's, and is not walked further.
    public static let maximumCgroups = 256
    /// Deeper than this is not a service's cgroup either (and bounds the path lengths).
    public static let maximumDepth = 16

    public enum Outcome: Equatable, Sendable {
        case read(CgroupSubtree)
        /// More than `maximumCgroups` cgroups, or deeper than `maximumDepth`.
        case tooLarge
        /// The memory controller's hierarchy is not mounted (or the cgroup lies outside it).
        case unmounted
    }

    /// Walks the memory cgroup of a process whose /proc/PID/cgroup is `entries`.
    public static func read(_ hierarchy: CgroupHierarchy, _ entries: [CgroupEntry]) throws(HostError) -> Outcome {
        var pids: Set<Int> = []
        var cgroups = 0
        // Depth-first over (entries naming the cgroup, depth); bounded by maximumCgroups.
        var pending: [([CgroupEntry], Int)] = [(entries, 0)]
        while let (current, depth) = pending.popLast() {
            guard cgroups < maximumCgroups, depth <= maximumDepth else { return .tooLarge }
            let found: CgroupMembership?
            do {
                found = try hierarchy.membership(for: current)
            } catch {
                // A child removed between its parent's listing and its read holds no process.
                if depth > 0 && error.isMissing { continue }
                throw error
            }
            guard let membership = found else { return .unmounted }
            cgroups += 1
            pids.formUnion(membership.pids)
            for child in membership.children {
                pending.append((Self.entries(current, below: membership.location.path, child: child), depth + 1))
            }
            if pending.count + cgroups > maximumCgroups { return .tooLarge }
        }
        return .read(CgroupSubtree(pids: pids, cgroups: cgroups))
    }

    /// `entries` with the memory cgroup's path replaced by its child's: the lines naming
    /// the same cgroup as the memory controller's (the same bytes: a path only canonically
    /// equal is another cgroup) move down with it.
    static func entries(_ entries: [CgroupEntry], below path: String, child: String) -> [CgroupEntry] {
        let down = PathKey(path) == PathKey("/") ? "/" + child : path + "/" + child
        return entries.map { entry in
            var entry = entry
            if PathKey(entry.path) == PathKey(path) { entry.path = down }
            return entry
        }
    }
}
