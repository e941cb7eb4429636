import NumaguardAudit
import NumaguardHost
import NumaguardPolicy

/// Whether a process is protected at the moment apply or migrate is about to touch it.
/// Every action on a process asks, whatever the plan recorded: the policy's protected
/// workloads are matched against the process as it is now (any of them, whatever their
/// order), and migrate adds the processes named by --protect.
public struct Protection {
    private let check: (ProcessTarget) -> String?
    /// Pages a migrated process shares with others (page cache, libraries) stay where they
    /// are: the policy protects a workload (Planner.sharesStay), running or not, and they may
    /// be its pages too. Decided here, not by the plan, so a saved plan (a file anyone who
    /// could write it may have edited) moves no more than a live one.
    public let sharesStay: Bool

    public init(sharesStay: Bool = false, _ check: @escaping (ProcessTarget) -> String?) {
        self.sharesStay = sharesStay
        self.check = check
    }

    /// Why `target` is protected now; nil when it is not.
    public func reason(_ target: ProcessTarget) -> String? { check(target) }

    /// `action` as the apply loop carries it out: a migration moves only unshared pages
    /// whenever shares stay, whatever the plan recorded.
    public func settle(_ action: Action) -> Action {
        guard sharesStay, action.kind == .migratePages else { return action }
        var settled = action
        settled.onlyUnshared = true
        return settled
    }

    /// Nothing is protected: tests, and what only touches kernel knobs.
    public static var none: Protection { Protection { _ in nil } }

    /// No policy to ask (undo without --policy): no process can be known to be unprotected
    /// now, so none is changed; kernel knobs and the drop-in never ask.
    public static var unknown: Protection {
        Protection { "\($0.label) may belong to a protected workload: undo was given no policy to ask (undo --policy FILE)" }
    }

    /// The protected workloads of the policy in `file`, matched by the audit's own rules on
    /// the live host, then `also` (migrate's --protect).
    public static func policy(_ policy: Policy?, file: String, root: HostRoot = .live,
                              also: @escaping (ProcessTarget) -> String? = { _ in nil }) -> Protection {
        let guarded = policy?.workloads.filter(\.protected) ?? []
        let claims = WorkloadClaims(root: root)
        return Protection(sharesStay: policy.map(Planner.sharesStay) ?? false) { target in
            let verdicts = claims.verdicts(target.pid, among: guarded)
            if let workload = verdicts.claiming.first {
                return "\(target.label) belongs to protected workload \(workload.name) of \(file)"
            }
            // A rule that cannot be judged (an unreadable exe) may be the one that protects it.
            if let (workload, reason) = verdicts.undecided.first {
                return "\(target.label) may belong to protected workload \(workload.name) of \(file): \(reason)"
            }
            return also(target)
        }
    }
}
