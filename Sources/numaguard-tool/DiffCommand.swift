import ArgumentParser
import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardReport
import NumaguardSnapshot

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed between two snapshots that matters to NUMA placement, and nothing else.",
        discussion: """
            Changes are grouped by meaning (topology, kernel knobs, boot arguments, device locality, cgroup \
            cpusets, placement actors), each with its old and new value. Exit codes: 0 nothing relevant changed; \
            1 something did; 3 nothing relevant changed among what both snapshots hold, but something could not \
            be compared; 64 usage; 65 a file that is not a numaguard snapshot of this format; 66 a snapshot file \
            is missing or cannot be read.
            """
    )

    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @Argument(help: ArgumentHelp("The earlier snapshot (numaguard snapshot --out).", valueName: "old")) var old: String
    @Argument(help: ArgumentHelp("The later snapshot.", valueName: "new")) var new: String

    func run() throws {
        let diff = SnapshotComparison.diff(old: try SnapshotFile.load(old), oldFile: old, new: try SnapshotFile.load(new), newFile: new)
        switch format {
        case .text: FileHandleWriter.write(1, DiffText.render(diff))
        case .json: FileHandleWriter.write(1, try JSONDocument.render(kind: .diff, diff))
        }
        if diff.status != .success { throw ExitCode(diff.status.rawValue) }
    }
}

/// Reading a snapshot file the same way in diff and audit --baseline: the message names
/// the file and what is wrong with it.
enum SnapshotFile {
    static func load(_ path: String, fail: (String, ExitStatus) -> ExitCode = Terminal.fail) throws -> Snapshot {
        let bytes: [UInt8]
        do {
            bytes = try HostRoot.readFile(atPath: path)
        } catch {
            throw fail("cannot read the snapshot \(DiffText.shown(path)): \(DiffText.shown(error.errno?.description ?? error.description))",
                       ExitStatus(inputFile: error))
        }
        do {
            return try SnapshotDocument.parse(bytes)
        } catch {
            // The document's own words (its kind, a key) are in the error: shown escaped.
            throw fail("\(DiffText.shown(path)) is not a snapshot numaguard can read: \(DiffText.shown(error.description))", ExitStatus(error))
        }
    }
}
