#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardCore
import NumaguardFleet
import NumaguardHost
import NumaguardReport
import NumaguardSnapshot

struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Judge many hosts together: their certificates (report) or their snapshots (diff).",
        subcommands: [FleetReportCommand.self, FleetDiffCommand.self]
    )
}

struct FleetReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "One report over many hosts' certify output: each certificate verified, hosts grouped by verdict, failures by check.",
        discussion: """
            Each DIR holds one host's certify output (certificate.json, certificate.sha256, exit-status; \
            contrib/ansible/certify.yml fetches them). The host is named by DIR's base name. A certificate \
            whose sha256 does not match certificate.sha256, or that is another host's copy, is tampered; one \
            without certificate.sha256 is unverified; a DIR without certificate.json has no certificate; one \
            older than --max-age is stale: all fail the fleet. Exit codes: 0 every host certified; 1 any host \
            not certified, tampered, unverified, unreadable, without a certificate or stale; 3 otherwise any \
            incomplete; 64 usage; 65 a verified certificate of a kind or format_version this numaguard does \
            not read; 66 a DIR missing or not a directory; 73 --out could not be written.
            """
    )

    @Option(help: "Output format: text, json, junit or prometheus.") var format: AuditFormat = .text
    @Option(help: ArgumentHelp("Also write fleet.txt, fleet.json, fleet.junit.xml and fleet.prom here (created if missing).", valueName: "dir"))
    var out: String?
    @Option(name: .customLong("max-age"), help: ArgumentHelp("A certificate older than this is stale, e.g. 24h or 90m.", valueName: "duration"))
    var maxAge: String = "24h"
    @Option(help: ArgumentHelp("Measure ages from this instant (RFC 3339 UTC, e.g. 2026-12-02T06:00:00Z) instead of now.", valueName: "time"))
    var now: String?
    @Argument(help: ArgumentHelp("One directory per host, holding its certify output.", valueName: "dir")) var directories: [String]

    func validate() throws {
        guard !directories.isEmpty else { throw ValidationError("name at least one host directory") }
        // Bounded so the seconds convert to an Int (about 126 years).
        guard case let .success(seconds) = Quantity.seconds(maxAge), seconds >= 1, seconds <= 4e9 else {
            throw ValidationError("--max-age \"\(maxAge)\" must be a duration from 1s to 1000000h, e.g. 24h")
        }
        if let now, Timestamp.epochSeconds(now) == nil {
            throw ValidationError("--now \"\(now)\" is not an RFC 3339 UTC time such as 2026-12-02T06:00:00Z")
        }
    }

    func run() throws {
        guard case let .success(seconds) = Quantity.seconds(maxAge) else { throw ValidationError("--max-age") }
        let instant = now.flatMap(Timestamp.epochSeconds) ?? SystemClock.now().epoch
        let collected: [CollectedHost]
        do {
            collected = try CollectedHostReader.read(directories)
        } catch {
            throw Terminal.fail("cannot read the host directory \(error.path): \(error.reason)", .noInput)
        }
        let report: FleetReport
        do {
            report = try FleetReport.make(collected, now: instant, maxAge: Int(seconds.rounded(.down)))
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error.error))
        }
        if let out {
            do {
                let directory = try OutputFile.makeDirectory(out)
                defer { _ = close(directory) }
                for (name, format) in [("fleet.txt", AuditFormat.text), ("fleet.json", .json), ("fleet.junit.xml", .junit), ("fleet.prom", .prometheus)] {
                    try OutputFile.write(try render(report, format), in: directory, name: name, path: "\(out)/\(name)")
                }
            } catch let error as OutputError {
                throw Terminal.fail("cannot write the fleet report to \(out): \(error)", ExitStatus(error))
            }
        }
        FileHandleWriter.write(1, try render(report, format))
        if report.status != .success { throw ExitCode(report.status.rawValue) }
    }

    /// Only the formats asked for are rendered: at thousands of hosts each costs as much as reading them.
    func render(_ report: FleetReport, _ format: AuditFormat) throws -> String {
        switch format {
        case .text: FleetReportText.render(report)
        case .json: try JSONDocument.render(kind: .fleetReport, report)
        case .junit: FleetReportJUnit.render(report)
        case .prometheus: FleetReportPrometheus.render(report)
        }
    }

    /// The options that take a value, for `main` below.
    static let valuedOptions: Set<String> = ["--format", "--out", "--max-age", "--now"]

    /// `fleet report` with the directories set aside before ArgumentParser parses the rest:
    /// it appends each positional value by copying the array parsed so far, which is quadratic
    /// (2.8 s for 5000 directories on the development machine, 0.07 s for 500), and a fleet
    /// report should be linear in its hosts. The options and the first directory go through
    /// ArgumentParser as usual (its help, errors and exit codes); the directories are then
    /// set on the parsed command. `--` ends the options, as ArgumentParser's own rule.
    static func main(splitting arguments: [String]) -> Never {
        var options: [String] = []
        var directories: [String] = []
        var index = 0
        var terminated = false
        while index < arguments.count {
            let argument = arguments[index]
            if terminated || argument == "-" || !argument.hasPrefix("-") {
                directories.append(argument)
            } else if argument == "--" {
                terminated = true
            } else {
                options.append(argument)
                if valuedOptions.contains(argument), index + 1 < arguments.count {
                    options.append(arguments[index + 1])
                    index += 1
                }
            }
            index += 1
        }
        do {
            let parsed = try Numaguard.parseAsRoot(["fleet", "report"] + options + ["--"] + directories.prefix(1))
            guard var command = parsed as? FleetReportCommand else {
                var other = parsed
                try other.run()
                Numaguard.exit()
            }
            command.directories = directories
            try command.validate()
            try command.run()
            Numaguard.exit()
        } catch {
            Numaguard.exit(withError: error)
        }
    }
}

struct FleetDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "The facts on which hosts of one role differ from the majority, naming the outliers.",
        discussion: """
            Compares the placement-relevant facts `diff` compares (topology, kernel knobs, boot arguments, \
            device locality, cgroup cpusets, placement actors) across two or more snapshots. A host is named \
            by its file's base name without .json, or by its directory's for a file called snapshot.json. \
            Exit codes: 0 every host agrees; 1 some fact differs; 3 nothing differs among what was compared, \
            but some host's fact could not be compared; 64 usage; 65 a file that is not a numaguard snapshot \
            of this format; 66 a snapshot file missing or unreadable.
            """
    )

    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @Argument(help: ArgumentHelp("Two or more snapshots (numaguard snapshot --out), one per host.", valueName: "snapshot"))
    var snapshots: [String]

    func validate() throws {
        guard snapshots.count >= 2 else { throw ValidationError("fleet diff needs at least two snapshots to compare") }
    }

    func run() throws {
        let names = FleetNames.forSnapshots(snapshots)
        var loaded: [(name: String, file: String, snapshot: Snapshot)] = []
        for (file, name) in zip(snapshots, names) { loaded.append((name, file, try SnapshotFile.load(file))) }
        let diff = FleetDiff.make(loaded)
        switch format {
        case .text: FileHandleWriter.write(1, FleetDiffText.render(diff))
        case .json: FileHandleWriter.write(1, try JSONDocument.render(kind: .fleetDiff, diff))
        }
        if diff.status != .success { throw ExitCode(diff.status.rawValue) }
    }
}
