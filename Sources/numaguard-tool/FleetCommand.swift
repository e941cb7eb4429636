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
            contrib/ansible/certify.yml fetches them). The host is named by DIR's base name. The digest \
            catches a certificate changed after certify wrote certificate.sha256, not a host that lies: both \
            files come from the host. A certificate whose sha256 does not match certificate.sha256, one \
            byte-identical to another host's, or one carrying another host's machine_id or boot_id is \
            tampered; one without certificate.sha256 is unverified; one refused (a link, too large) or that \
            is not a certificate this numaguard reads (another kind or format_version, malformed) is \
            unreadable; a DIR without certificate.json has no certificate; one older than --max-age is \
            stale: all fail the fleet, and every other host is still judged. A certificate naming another \
            hostname than its DIR gets a note. Exit codes: 0 every host certified; 1 any host not \
            certified, tampered, unverified, unreadable, without a certificate or stale; 3 otherwise any \
            incomplete; 64 usage (a DIR given twice included); 66 a DIR missing or not a directory; 73 --out \
            could not be written.
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
        // The same directory twice would be two rows of one name (and two Prometheus series of
        // one label set, which the textfile collector refuses whole).
        if let repeated = Self.firstRepeated(directories) {
            throw ValidationError("the host directory \(Shown.text(repeated)) is given twice")
        }
        // Bounded so the seconds convert to an Int (about 126 years).
        guard case let .success(seconds) = Quantity.seconds(maxAge), seconds >= 1, seconds <= 4e9 else {
            throw ValidationError("--max-age \"\(Shown.text(maxAge))\" must be a duration from 1s to 1000000h, e.g. 24h")
        }
        if let now, Timestamp.epochSeconds(now) == nil {
            throw ValidationError("--now \"\(Shown.text(now))\" is not an RFC 3339 UTC time such as 2026-12-02T06:00:00Z")
        }
    }

    func run() throws {
        guard case let .success(seconds) = Quantity.seconds(maxAge) else { throw ValidationError("--max-age") }
        let instant = now.flatMap(Timestamp.epochSeconds) ?? SystemClock.now().epoch
        let report: FleetReport
        do {
            report = try FleetReport.make(reading: directories, now: instant, maxAge: Int(seconds.rounded(.down)))
        } catch {
            throw Terminal.fail("cannot read the host directory \(Shown.text(error.path)): \(Shown.text(error.reason))", .noInput)
        }
        if let out {
            do {
                let directory = try OutputFile.makeDirectory(out)
                defer { _ = close(directory) }
                for (name, format) in [("fleet.txt", AuditFormat.text), ("fleet.json", .json), ("fleet.junit.xml", .junit), ("fleet.prom", .prometheus)] {
                    try OutputFile.write(try render(report, format), in: directory, name: name, path: "\(out)/\(name)")
                }
            } catch let error as OutputError {
                throw Terminal.fail("cannot write the fleet report to \(Shown.text(out)): \(Shown.text("\(error)"))", ExitStatus(error))
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

    /// The first value given twice, in one pass.
    static func firstRepeated(_ values: [String]) -> String? {
        var seen = Set<String>()
        seen.reserveCapacity(values.count)
        return values.first { !seen.insert($0).inserted }
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
            A file that is not a numaguard snapshot of this format is that host's problem: it is listed as \
            not compared and the others are compared. Exit codes: 0 every host agrees; 1 some fact differs; \
            3 nothing differs among what was compared, but some host's fact or snapshot could not be \
            compared; 64 usage (a snapshot given twice included); 65 not one of the files is a numaguard \
            snapshot of this format; 66 a snapshot file missing or unreadable.
            """
    )

    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @Argument(help: ArgumentHelp("Two or more snapshots (numaguard snapshot --out), one per host.", valueName: "snapshot"))
    var snapshots: [String]

    func validate() throws {
        guard snapshots.count >= 2 else { throw ValidationError("fleet diff needs at least two snapshots to compare") }
        if let repeated = FleetReportCommand.firstRepeated(snapshots) {
            throw ValidationError("the snapshot \(Shown.text(repeated)) is given twice")
        }
    }

    func run() throws {
        let names = FleetNames.forSnapshots(snapshots)
        var loaded: [(name: String, file: String, snapshot: Snapshot)] = []
        var refused: [FleetDiff.NotCompared] = []
        var firstRefusal: (file: String, error: DocumentError)?
        for (file, name) in zip(snapshots, names) {
            let bytes: [UInt8]
            do {
                bytes = try HostRoot.readFile(atPath: file)
            } catch {
                throw Terminal.fail("cannot read the snapshot \(Shown.text(file)): \(Shown.text(error.errno?.description ?? error.description))",
                                    ExitStatus(inputFile: error))
            }
            do {
                loaded.append((name, file, try SnapshotDocument.parse(bytes)))
            } catch {
                firstRefusal = firstRefusal ?? (file, error)
                refused.append(FleetDiff.NotCompared(id: FleetDiff.wholeSnapshot, host: name, path: file,
                                                     error: "not a snapshot numaguard can read: \(error)"))
            }
        }
        // Not one snapshot among them: the files given are the wrong ones, not a host's problem.
        if loaded.isEmpty, let (file, error) = firstRefusal {
            throw Terminal.fail("\(Shown.text(file)) is not a snapshot numaguard can read: \(Shown.text("\(error)")) (nor is any other file given)",
                                ExitStatus(error))
        }
        let diff = FleetDiff.make(loaded, refused: refused)
        switch format {
        case .text: FileHandleWriter.write(1, FleetDiffText.render(diff))
        case .json: FileHandleWriter.write(1, try JSONDocument.render(kind: .fleetDiff, diff))
        }
        if diff.status != .success { throw ExitCode(diff.status.rawValue) }
    }
}
