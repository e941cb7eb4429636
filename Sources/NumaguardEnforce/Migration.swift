import NumaguardCore

/// `numaguard migrate`: migratepages(8) with numaguard's guards (protected processes
/// refused, capabilities checked first, identity re-read, pages not moved reported, the
/// change journaled), as a one-action plan for the same apply loop.
public enum Migration {
    /// CAP_SYS_NICE always: without it the kernel silently downgrades to moving only pages
    /// no other process maps (MPOL_MF_MOVE instead of MOVE_ALL) and refuses nodes outside
    /// the target's cpuset, so "all pages moved" could not be promised.
    public static func requirements(_ target: ProcessTarget) -> [Requirement] {
        [
            Requirement("CAP_SYS_NICE", why: "migrate_pages of another process: without it the kernel moves only pages no other process maps and refuses nodes outside the target's cpuset"),
            Requirement("CAP_SYS_PTRACE", why: "migrate_pages needs ptrace access to another user's process", exceptUID: target.uid ?? -1),
        ]
    }

    /// `protection`: why the target is protected (a policy workload, --protect), nil if it is not.
    /// `onlyUnshared`: a protected process runs (or is named), so pages the target shares
    /// with other processes stay where they are.
    public static func action(_ target: ProcessTarget, from: IDSet, to: IDSet, before: String, protection: String?,
                              onlyUnshared: Bool) -> Action {
        var action = Action(
            kind: .migratePages, checks: [], subject: target.label, process: target, fromNodes: from, toNodes: to,
            before: "anonymous memory \(before)",
            after: "none on node\(from.count == 1 ? "" : "s") \(from.listString) (moved to node\(to.count == 1 ? "" : "s") \(to.listString))",
            requires: requirements(target))
        action.onlyUnshared = onlyUnshared
        if let protection {
            action.status = .refused
            action.reason = "\(protection): its pages are never migrated live; restart it through numaguard run with the placement instead"
        }
        return action
    }

    public static func describe(_ bytes: [Int: Int]) -> String { Step.describe(bytes) }
}
