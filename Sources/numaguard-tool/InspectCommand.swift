import ArgumentParser
import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardReport

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show where processes run and where their memory is (numastat -p and more).",
        discussion: """
            Exit codes: 0 every process inspected; 3 a process exited mid-read or could not be read \
            for lack of permission (the others are still reported); 66 no such PID, or --name matched \
            nothing; 64 usage; 71 the host's /proc or /sys could not be read.
            """
    )

    @OptionGroup var host: HostOptions
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @Option(name: .customLong("name"), help: ArgumentHelp(
        "Inspect every process whose comm or command line matches this regular expression.", valueName: "pattern"))
    var pattern: String?
    @Flag(help: "Inspect every user-space process (kernel threads are skipped).") var all = false
    @Argument(help: "Process IDs to inspect.") var pids: [String] = []

    func validate() throws {
        let selections = [!pids.isEmpty, pattern != nil, all].filter { $0 }.count
        if selections == 0 { throw ValidationError("give one or more PIDs, --name PATTERN or --all") }
        if selections > 1 { throw ValidationError("give only one of: PIDs, --name PATTERN, --all") }
        for text in pids where Int(text).map({ $0 <= 0 }) ?? true {
            throw ValidationError("\"\(text)\" is not a PID (a positive integer)")
        }
    }

    func run() throws {
        let selection: InspectSelection = all ? .all : pattern.map { .pattern($0) } ?? .pids(pids.compactMap { Int($0) })
        let command = QuickCommand.inspect(root: host.root, format: format == .json ? .json : .text, selection: selection)
        let status = command.execute()
        if status != ExitStatus.success.rawValue { throw ExitCode(status) }
    }
}
