import ArgumentParser
import NumaguardCore
import NumaguardHost

struct Numaguard: ParsableCommand {
    static let version = NumaguardVersion.string

    static let configuration = CommandConfiguration(
        commandName: "numaguard",
        abstract: "Keep latency-critical Linux hosts NUMA-correct.",
        discussion: """
            Exit codes: 0 success; 1 violations; 3 incomplete (something could not be read: \
            permission, a process that exited mid-read); 64 usage; 65 bad data (a snapshot, plan or journal \
            that is not one); 66 an input missing (a policy, snapshot, plan or journal file, a process, no \
            match); 69 numaguard-tool missing beside numaguard; 71 host unreadable; 73 an output (--out, \
            --textfile, --events, --journal, --listen) cannot be created; 78 invalid policy. plan: 2 changes \
            pending. apply/undo/migrate: 77 missing \
            privilege. run: the program's own status; 125 numaguard \
            failed before exec; 126 not executable; 127 not found.
            """,
        version: version,
        subcommands: [AuditCommand.self, CertifyCommand.self, PolicyCommand.self, TopologyCommand.self, InspectCommand.self,
                      RunHelp.self, SnapshotCommand.self, DiffCommand.self, CaptureCommand.self, WatchCommand.self,
                      PlanCommand.self, ApplyCommand.self, UndoCommand.self, MigrateCommand.self, AttributeCommand.self,
                      FleetCommand.self]
    )
}

/// Options every host-reading command takes.
struct HostOptions: ParsableArguments {
    @Option(name: .customLong("host-root"), help: ArgumentHelp(
        "Read /proc and /sys under this directory instead of / (a captured or recorded host).",
        valueName: "dir"))
    var hostRoot: String = "/"

    var root: HostRoot { HostRoot(path: hostRoot) }

    func validate() throws {
        guard root.holdsHost else {
            throw ValidationError("--host-root \(hostRoot): no proc/ or sys/ under it")
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The only place the CLI writes to stderr and picks an exit status.
enum Terminal {
    static func fail(_ message: String, _ status: ExitStatus) -> ExitCode {
        printError("numaguard: \(message)")
        return ExitCode(status.rawValue)
    }

    static func printError(_ message: String) {
        var stream = StandardError()
        print(message, to: &stream)
    }

    struct StandardError: TextOutputStream {
        mutating func write(_ string: String) {
            FileHandleWriter.write(2, string)
        }
    }
}
