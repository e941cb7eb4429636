import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// `numaguard migrate`: migratepages(8) with numaguard's guards (protected processes
/// refused, capabilities checked first, identity re-read, pages not moved reported, the
/// change journaled), as a one-action plan for the same apply loop.
public enum Migration {
    /// The kernel keeps 15 bytes of a comm (TASK_COMM_LEN 16): a longer name never matches.
    public static let commLength = 15

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

    /// What is wrong with the `--protect` names and `--all` before anything is read (the
    /// command line's own contradictions: a usage error). A comm longer than the kernel keeps
    /// would never match, so the process it means would go unprotected; `--all` moves pages
    /// a named process may share.
    public static func refusal(protect names: [String], all: Bool) -> String? {
        if let long = names.first(where: { Lex.decimal($0) == nil && $0.utf8.count > commLength }) {
            return "--protect \(long): a comm is at most \(commLength) characters (the kernel truncates "
                + "longer names), so it would never match; give the PID, or the comm as /proc/PID/comm shows it"
        }
        if all && !names.isEmpty { return "--all moves pages a protected process may share: not with --protect" }
        return nil
    }

    /// One migrate as asked: the process, its nodes, and what protects.
    public struct Request: Sendable {
        public var pid: Int
        public var from: IDSet
        public var to: IDSet
        /// The policy whose protected workloads are refused, and its file (named in refusals).
        public var policy: Policy?
        public var policyFile: String
        /// `--protect`: PIDs or comms refused too.
        public var protect: [String]
        /// `--all`: shared pages move too.
        public var all: Bool

        public init(pid: Int, from: IDSet, to: IDSet, policy: Policy? = nil, policyFile: String = "", protect: [String] = [],
                    all: Bool = false) {
            self.pid = pid
            self.from = from
            self.to = to
            self.policy = policy
            self.policyFile = policyFile
            self.protect = protect
            self.all = all
        }
    }

    /// Why migrate stops before changing anything. Each case is one exit status (the CLI's
    /// table): usage 64, a host read 71, the process's own read by its kind.
    public enum Refusal: Error, Sendable, CustomStringConvertible {
        /// The request cannot be carried out as given (nodes, a thread ID, --all with protection).
        case usage(String)
        /// The topology could not be read.
        case host(HostError)
        /// The process could not be read (gone, not permitted, ...).
        case process(ProcessReadError)

        public var description: String {
            switch self {
            case let .usage(message): message
            case let .host(error): error.description
            case let .process(error): error.description
            }
        }
    }

    /// The action to apply (refused when the target is protected now) and the protection the
    /// apply loop asks again right before it moves anything.
    public struct Prepared {
        public var action: Action
        public var protection: Protection
        public var target: ProcessTarget
    }

    /// Everything migrate decides before it asks: refusals first (nothing is changed after
    /// one), then the target as it is now, protected or not. Reads `root` only.
    public static func prepare(_ request: Request, root: HostRoot) throws(Refusal) -> Prepared {
        if request.all, let policy = request.policy, Planner.sharesStay(policy) {
            throw .usage("--all moves pages a protected process may share: \(request.policyFile) protects a workload; nothing was changed")
        }
        let topology: Topology
        do { topology = try TopologyReader.read(root) } catch { throw .host(error) }
        for node in request.from.union(request.to) where topology.node(node) == nil {
            throw .usage("node \(node) is not online (online: \(topology.onlineNodes.listString)); nothing was changed")
        }
        if let empty = request.to.first(where: { !topology.nodesWithMemory.contains($0) }) {
            throw .usage("--to node \(empty) has no memory; nothing was changed")
        }
        let pid = request.pid
        if let tgid = threadGroup(of: pid, root: root), tgid != pid {
            throw .usage("\(pid) is a thread of process \(tgid), not a process: migrate_pages would move all of PID \(tgid)'s "
                         + "memory; give PID \(tgid) if that is meant; nothing was changed")
        }
        let snapshot: ProcessSnapshot
        do {
            snapshot = try ProcessReader(root: root).read(pid: pid, memory: true, threads: false, numaEnabled: topology.numaEnabled)
        } catch {
            throw .process(error)
        }
        let names = request.protect
        let named = { (target: ProcessTarget) -> String? in
            names.contains(String(target.pid)) || names.contains(target.comm) ? "\(target.label) is protected by --protect" : nil
        }
        let protection = Protection.policy(request.policy, file: request.policyFile, root: root, also: named)
        let claims = request.policy.map { WorkloadClaims(root: root).workloads(claiming: pid, among: $0.workloads) } ?? []
        var target = ProcessTarget(pid: pid, startTime: snapshot.identity.startTime, comm: snapshot.comm, uid: snapshot.uid,
                                   workload: (claims.first { $0.protected } ?? claims.first)?.name, protected: false)
        let reason = protection.reason(target)
        target.protected = reason != nil
        let action = action(target, from: request.from, to: request.to, before: describe(snapshot.memory?.anonymousByNode ?? [:]),
                            protection: reason, onlyUnshared: !request.all)
        return Prepared(action: action, protection: protection, target: target)
    }

    /// /proc/TID exists for every thread: migrate_pages of a TID moves its whole process's
    /// memory, so a (renamed) thread must not stand in for the process --protect or the
    /// policy judge. nil when status cannot be read: the process read that follows says why.
    static func threadGroup(of pid: Int, root: HostRoot) -> Int? {
        guard let status = try? root.parse("proc/\(pid)/status", { ProcStatus.parse($0, keeping: ["Tgid"]) }) else { return nil }
        return status.value("Tgid").flatMap { Lex.decimal($0) }
    }
}
