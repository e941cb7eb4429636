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
        let status = Self.execute(root: host.root, format: format, selection: selection)
        if status != ExitStatus.success.rawValue { throw ExitCode(status) }
    }

    /// The command itself, shared by the ArgumentParser path and `FastPath`.
    static func execute(root: HostRoot, format: OutputFormat, selection: InspectSelection) -> Int32 {
        let outcome: InspectOutcome
        do {
            outcome = try Inspection.run(root: root, selection: selection)
        } catch {
            return Terminal.fail(error.description, ExitStatus(error)).rawValue
        }
        switch format {
        case .text:
            FileHandleWriter.write(1, outcome.reports.map(InspectText.render).joined(separator: "\n"))
        case .json:
            do {
                FileHandleWriter.write(1, try JSONDocument.render(
                    kind: .inspect, InspectDocument(processes: outcome.reports, failures: outcome.failures)))
            } catch {
                return Terminal.fail("cannot encode the report: \(error)", .hostUnreadable).rawValue
            }
        }
        for failure in outcome.failures { Terminal.printError("numaguard: \(failure.error)") }
        return outcome.status.rawValue
    }
}
