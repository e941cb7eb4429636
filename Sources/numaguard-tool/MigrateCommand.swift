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
            Needs CAP_SYS_NICE (and CAP_SYS_PTRACE for another user's process). Reports what did not move, \
            from the kernel's count and from numa_maps before and after; the change is journaled. Exit codes: \
            0 every page moved (or none was there); 1 refused (protected) or pages left behind; 77 missing \
            privilege; 64 usage (node lists, nodes without memory); 66 no such process; 71 journal unwritable; \
            78 invalid policy.
            """
    )

    @Argument(help: ArgumentHelp("The process.", valueName: "pid")) var pid: Int
    @Option(help: ArgumentHelp("Nodes to move pages off (numactl's list syntax: 0,2-3).", valueName: "nodes")) var from: String
    @Option(help: ArgumentHelp("Nodes to move them to.", valueName: "nodes")) var to: String
    @Option(help: ArgumentHelp("A policy: a process any protected workload claims is refused.", valueName: "file")) var policy: String?
    @Option(help: ArgumentHelp("Refuse this process too: a PID or a comm (repeatable).", valueName: "pid|comm"))
    var protect: [String] = []
    @OptionGroup var change: ChangeOptions

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
        let loaded = try policy.map(PolicyFile.load)
        let root = HostRoot.live
        let topology: Topology
        do { topology = try TopologyReader.read(root) } catch { throw Terminal.fail(error.description, .hostUnreadable) }
        for node in from.union(to) where topology.node(node) == nil {
            throw Terminal.fail("node \(node) is not online (online: \(topology.onlineNodes.listString)); nothing was changed", .usage)
        }
        if let empty = to.first(where: { !topology.nodesWithMemory.contains($0) }) {
            throw Terminal.fail("--to node \(empty) has no memory; nothing was changed", .usage)
        }
        let snapshot: ProcessSnapshot
        do {
            snapshot = try ProcessReader(root: root).read(pid: pid, memory: true, threads: false, numaEnabled: topology.numaEnabled)
        } catch {
            switch error {
            case .noSuchProcess, .vanished, .zombie: throw Terminal.fail(error.description, .noInput)
            case .permissionDenied, .host: throw Terminal.fail(error.description, .incomplete)
            }
        }
        let claims = loaded.map { WorkloadClaims(root: root).workloads(claiming: pid, among: $0.policy.workloads) } ?? []
        let guarded = claims.first { $0.protected }
        var protection = guarded.map { "\(snapshot.comm) (PID \(pid)) belongs to protected workload \($0.name) of \(loaded?.file ?? "")" }
        if protection == nil, protect.contains(String(pid)) || protect.contains(snapshot.comm) {
            protection = "PID \(pid) (\(snapshot.comm)) is protected by --protect"
        }
        let target = ProcessTarget(pid: pid, startTime: snapshot.identity.startTime, comm: snapshot.comm, uid: snapshot.uid,
                                   workload: claims.first?.name, protected: protection != nil)
        var before: [Int: Int] = [:]
        if let tally = snapshot.memory {
            for node in tally.nodes { before[node] = tally.bytes(.anonymous, on: node) }
        }
        // With a policy or --protect, shared pages stay put: they may be a protected process's.
        let action = Migration.action(target, from: from, to: to, before: Migration.describe(before), protection: protection,
                                      onlyUnshared: loaded?.policy.workloads.contains { $0.protected } == true || !protect.isEmpty)
        let journal = try change.openJournal()
        let applier = Applier(actuator: LiveActuator(), privileges: .current(), journal: journal, command: "migrate",
                              run: Journal.runID(time: Journal.now()))
        try change.finish(applier.apply([action]))
    }
}
