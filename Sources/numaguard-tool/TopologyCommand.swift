import ArgumentParser
import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardReport

struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Show nodes, CPUs, memory, distances, huge pages and isolated CPUs (numactl --hardware and more)."
    )

    @OptionGroup var host: HostOptions
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() throws {
        let command = QuickCommand.topology(root: host.root, format: format == .json ? .json : .text)
        let status = command.execute()
        if status != ExitStatus.success.rawValue { throw ExitCode(status) }
    }
}
