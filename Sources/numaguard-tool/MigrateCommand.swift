#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move a process's pages between nodes (migratepages), refusing protected processes.",
        discussion: """
            Needs CAP_SYS_NICE (and CAP_SYS_PTRACE for another user's process). Moves only pages no other \
            process maps (page cache and libraries a protected process may share stay); --all moves shared \
            pages too, as migratepages(8) does, and is refused with --protect or a policy that protects anything. \
            Asks on a terminal; --yes is required elsewhere. A thread ID is refused: the kernel would move its \
            whole process's memory. Reports what did not move, from the kernel's count and from numa_maps \
            before and after; the change is journaled. Exit codes: 0 every page moved (or none was there); \
            1 refused (protected) or pages left behind; 2 declined at the prompt; 77 missing privilege, or the \
            process's files are not readable (EACCES); 64 usage (node lists, nodes without memory, a thread ID, a \
            --protect name over 15 characters, --all with protection, no --yes off a terminal); 66 no such \
            process, or the --policy file is missing or unreadable; 71 host unreadable; 73 the journal cannot be \
            created or opened; 78 invalid policy.
            """
    )

    @Argument(help: ArgumentHelp("The process (its PID, not a thread ID).", valueName: "pid")) var pid: Int
    @Option(help: ArgumentHelp("Nodes to move pages off (numactl's list syntax: 0,2-3).", valueName: "nodes")) var from: String
    @Option(help: ArgumentHelp("Nodes to move them to.", valueName: "nodes")) var to: String
    @Option(help: ArgumentHelp("A policy: a process any protected workload claims is refused.", valueName: "file")) var policy: String?
    @Option(help: ArgumentHelp("Refuse this process too: a PID or a comm, at most 15 characters as the kernel keeps it (repeatable).",
                               valueName: "pid|comm"))
    var protect: [String] = []
    @Flag(help: "Also move pages other processes map (page cache, libraries), as migratepages(8) does.") var all = false
    @OptionGroup var change: ChangeOptions

    /// The kernel keeps 15 bytes of a comm (TASK_COMM_LEN 16): a longer name never matches.
    static let commLength = 15

    func validate() throws {
        if let long = protect.first(where: { Lex.decimal($0) == nil && $0.utf8.count > Self.commLength }) {
            throw ValidationError("--protect \(long): a comm is at most \(Self.commLength) characters (the kernel truncates "
                                  + "longer names), so it would never match; give the PID, or the comm as /proc/PID/comm shows it")
        }
        if all && !protect.isEmpty { throw ValidationError("--all moves pages a protected process may share: not with --protect") }
    }

    func nodes(_ text: String, _ option: String) throws -> IDSet {
        do {
            let nodes = try IDListParser.parse(text, what: "node list")
            if nodes.isEmpty { throw ValidationError("--\(option): no nodes") }
            return nodes
        } catch let error as ParseError {
            throw ValidationError("--\(option) \(text): \(error)")
        }
    }

    func run() throws {
        guard pid > 0 else { throw ValidationError("PID must be a positive integer") }
        let (from, to) = (try nodes(self.from, "from"), try nodes(self.to, "to"))
        let loaded = try policy.map { try PolicyFile.load($0) }
        if all, let loaded, Planner.sharesStay(loaded.policy) {
            throw Terminal.fail("--all moves pages a protected process may share: \(loaded.file) protects a workload; nothing was changed", .usage)
        }
        let root = HostRoot.live
        let topology: Topology
        do { topology = try TopologyReader.read(root) } catch { throw Terminal.fail(error.description, ExitStatus(host: error)) }
        for node in from.union(to) where topology.node(node) == nil {
            throw Terminal.fail("node \(node) is not online (online: \(topology.onlineNodes.listString)); nothing was changed", .usage)
        }
        if let empty = to.first(where: { !topology.nodesWithMemory.contains($0) }) {
            throw Terminal.fail("--to node \(empty) has no memory; nothing was changed", .usage)
        }
        // /proc/TID exists for every thread: migrate_pages of a TID moves its whole process's
        // memory, so a (renamed) thread must not stand in for the process --protect or the policy judge.
        if let status = try? root.parse("proc/\(pid)/status", { ProcStatus.parse($0) }),
           let tgid = status.fields["Tgid"].flatMap({ Lex.decimal($0) }), tgid != pid {
            throw Terminal.fail("\(pid) is a thread of process \(tgid), not a process: migrate_pages would move all of PID \(tgid)'s "
                                + "memory; give PID \(tgid) if that is meant; nothing was changed", .usage)
        }
        let snapshot: ProcessSnapshot
        do {
            snapshot = try ProcessReader(root: root).read(pid: pid, memory: true, threads: false, numaEnabled: topology.numaEnabled)
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        let named = { (target: ProcessTarget) -> String? in
            self.protect.contains(String(target.pid)) || self.protect.contains(target.comm)
                ? "\(target.label) is protected by --protect" : nil
        }
        let protection = Protection.policy(loaded?.policy, file: loaded?.file ?? "", root: root, also: named)
        let claims = loaded.map { WorkloadClaims(root: root).workloads(claiming: pid, among: $0.policy.workloads) } ?? []
        var target = ProcessTarget(pid: pid, startTime: snapshot.identity.startTime, comm: snapshot.comm, uid: snapshot.uid,
                                   workload: (claims.first { $0.protected } ?? claims.first)?.name, protected: false)
        let reason = protection.reason(target)
        target.protected = reason != nil
        let action = Migration.action(target, from: from, to: to, before: Migration.describe(snapshot.memory?.anonymousByNode ?? [:]),
                                      protection: reason, onlyUnshared: !all)
        var journal: Journal?
        if action.status == .pending {
            try change.confirm("Move the pages of \(target.label) on node\(from.count == 1 ? "" : "s") \(from.listString) "
                               + "to node\(to.count == 1 ? "" : "s") \(to.listString)?")
            journal = try change.openJournal()
        }
        let applier = Applier(actuator: LiveActuator(), privileges: .current(), journal: journal, command: "migrate",
                              run: Journal.runID(time: Journal.now()), protection: protection)
        try change.finish(applier.apply([action]))
    }
}
