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
        let facts: HostFacts
        do { facts = try HostFacts.read(host.root) } catch { throw Terminal.fail(error.description, ExitStatus(host: error)) }
        let (topology, kernel) = (facts.topology, facts.kernel)
        switch format {
        case .text:
            FileHandleWriter.write(1, TopologyText.render(topology))
        case .json:
            FileHandleWriter.write(1, try JSONDocument.render(kind: .topology, TopologyDocument(topology: topology, kernel: kernel)))
        }
    }
}
