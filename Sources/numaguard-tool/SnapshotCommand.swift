#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardCore
import NumaguardHost
import NumaguardReport
import NumaguardSnapshot

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Record everything on the host that matters to NUMA placement, as JSON, for a later diff.",
        discussion: """
            Exit codes: 0 complete; 3 something exists but could not be read (listed under "unreadable" \
            in the snapshot and on stderr; debugfs needs root); 64 usage; 71 the host's topology could not \
            be read; 73 --out could not be written.
            """
    )

    @OptionGroup var host: HostOptions
    @Option(help: ArgumentHelp("Write the snapshot here (atomically) instead of to stdout.", valueName: "file")) var out: String?

    func run() throws {
        let snapshot: Snapshot
        do {
            snapshot = try SnapshotReader.read(host.root, toolVersion: Numaguard.version, takenAt: SystemClock.now().iso)
        } catch {
            // Its path is the host's and its parse error escaped what it quoted: controls only.
            throw Terminal.fail(DiffText.controlsShown(error.description), ExitStatus(host: error))
        }
        let json = try SnapshotDocument.render(snapshot)
        if let out {
            do {
                try OutputFile.write(json, to: out)
            } catch {
                throw Terminal.fail(error.description, ExitStatus(error))
            }
        } else {
            FileHandleWriter.write(1, json)
        }
        for item in snapshot.unreadable {
            // Read just now (or from a capture's manifest): controls escaped, the rest as the host
            // spells it; an error quoting a file escaped that part already.
            Terminal.printError("numaguard: \(DiffText.controlsShown(item.path)): \(DiffText.controlsShown(item.error)): "
                                + "\(DiffText.controlsShown(item.id)) is not in the snapshot")
        }
        if !snapshot.unreadable.isEmpty { throw ExitCode(ExitStatus.incomplete.rawValue) }
    }
}
