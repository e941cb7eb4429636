import ArgumentParser
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

    func validate() throws {
        if let refusal = Migration.refusal(protect: protect, all: all) { throw ValidationError(refusal) }
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
        let request = Migration.Request(pid: pid, from: from, to: to, policy: loaded?.policy, policyFile: loaded?.file ?? "",
                                        protect: protect, all: all)
        let prepared: Migration.Prepared
        do {
            prepared = try Migration.prepare(request, root: .live)
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        let target = prepared.target
        let report = try Consent.apply([prepared.action], confirm: { _ in
            try change.confirm("Move the pages of \(target.label) on node\(from.count == 1 ? "" : "s") \(from.listString) "
                               + "to node\(to.count == 1 ? "" : "s") \(to.listString)?")
        }, openJournal: change.openJournal) { journal in
            Applier(actuator: LiveActuator(), privileges: .current(), journal: journal, command: "migrate",
                    run: Journal.runID(time: Journal.now()), protection: prepared.protection)
        }
        try change.finish(report)
    }
}
