#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardPolicy
import NumaguardReport

enum AuditFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, junit, prometheus
}

/// `--fail-on` takes warning or critical: `info` findings never fail, so it is not offered.
extension Severity: ExpressibleByArgument {
    public static var allValueStrings: [String] { [Severity.warning.rawValue, Severity.critical.rawValue] }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Compare the live host with a policy and report every check.",
        discussion: """
            Exit codes: 0 compliant; 1 violations (a failure at or above --fail-on; with --baseline, also any \
            drift); 3 incomplete (something could not be inspected: the report says what and which privilege \
            would fix it); 64 usage; 65 a --baseline that is not a numaguard snapshot; 66 the policy, \
            --baseline or --launch-records missing or unreadable; 71 host unreadable; 73 --textfile could not \
            be written; 78 invalid policy (nothing is inspected).
            """
    )

    @OptionGroup var host: HostOptions
    @OptionGroup var judgement: JudgementOptions
    @Option(help: "Output format: text, json, junit or prometheus.") var format: AuditFormat = .text
    @Option(help: ArgumentHelp(
        "Also write the Prometheus metrics to this node_exporter textfile, atomically (temp file and rename).",
        valueName: "path"))
    var textfile: String?
    @Option(help: ArgumentHelp(
        "Also report every placement-relevant change since this snapshot (numaguard snapshot) as a drift.* finding.",
        valueName: "snapshot"))
    var baseline: String?

    func run() throws {
        let now = Double(SystemClock.epochSeconds())
        /// Before failing, every output asked for says the audit did not run and why.
        func fail(_ message: String, _ status: ExitStatus) -> ExitCode {
            let reason: AuditFailure.Reason = switch status {
            case .invalidPolicy: .invalidPolicy
            case .hostUnreadable: .hostUnreadable
            default: .inputUnreadable
            }
            let failure = AuditFailure(reason: reason, message: message, policyFile: judgement.policy, exitStatus: status)
            switch format {
            case .text: break
            case .json: FileHandleWriter.write(1, (try? JSONDocument.render(kind: .audit, failure)) ?? "")
            case .junit: FileHandleWriter.write(1, failure.junit(timestamp: UTCTime.text(now)))
            case .prometheus: FileHandleWriter.write(1, failure.prometheus(timestamp: now))
            }
            if let textfile { try? OutputFile.write(failure.prometheus(timestamp: now), to: textfile) }
            return Terminal.fail(message, status)
        }
        let loaded = try PolicyFile.load(judgement.policy, fail: fail)
        let day = try SystemClock.day(judgement.today)
        let records = try judgement.records(fail: fail)
        let before = try baseline.map { Evaluation.Baseline(snapshot: try SnapshotFile.load($0, fail: fail), file: $0) }
        let report: AuditReport
        do {
            // One read of the host for the policy's checks and the drift's snapshot alike.
            report = try Auditor.audit(root: host.root, policy: loaded, today: day, failOn: judgement.failOn,
                                       launchRecords: records, baseline: before).report
        } catch {
            throw fail(error.description, ExitStatus(error))
        }
        switch format {
        case .text: FileHandleWriter.write(1, AuditText.render(report, color: Terminal.wantsColor(1)))
        case .json: FileHandleWriter.write(1, try JSONDocument.render(kind: .audit, report))
        case .junit: FileHandleWriter.write(1, JUnitRenderer.render(report, timestamp: UTCTime.text(now)))
        case .prometheus: FileHandleWriter.write(1, PrometheusRenderer.render(report, timestamp: now))
        }
        if let textfile {
            do {
                try OutputFile.write(PrometheusRenderer.render(report, timestamp: now), to: textfile)
            } catch {
                throw Terminal.fail("--textfile: \(error)", ExitStatus(error))
            }
        }
        if report.status != .success { throw ExitCode(report.status.rawValue) }
    }
}

/// What audit and certify judge against, and how strictly.
struct JudgementOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The policy file.", valueName: "file")) var policy: String
    @Option(name: .customLong("fail-on"), help: "Lowest severity of failure that makes the exit status 1: warning or critical.")
    var failOn: Severity = .warning
    @Option(help: ArgumentHelp("Judge waiver expiry as of this day (YYYY-MM-DD) instead of today (UTC).", valueName: "date"))
    var today: String?
    @Option(name: .customLong("launch-records"), help: ArgumentHelp(
        "The directory `numaguard run --record` writes to: each workload process is checked for a launch record.",
        valueName: "dir"))
    var launchRecords: String?

    /// The launch records, read once; an unreadable directory ends the command (exit 66).
    func records(fail: (String, ExitStatus) -> ExitCode = Terminal.fail) throws -> LaunchRecords? {
        guard let launchRecords else { return nil }
        do {
            return try LaunchRecords.read(directory: launchRecords)
        } catch {
            throw fail("--launch-records: \(error)", ExitStatus(inputFile: error))
        }
    }

    func validate() throws {
        if failOn == .info { throw ValidationError("--fail-on takes warning or critical") }
    }
}

/// Loading a policy the same way in every command: any mistake is printed with its
/// location and the command exits 78 before touching the host; a file that cannot be read
/// at all exits 66 with the path and the errno (there is no line or column to give).
enum PolicyFile {
    /// `fail` prints the last line and picks the status; audit's also writes its documents.
    /// The loading and the words are PolicyCheck's (NumaguardView), shared with `policy check`.
    static func load(_ path: String, fail: (String, ExitStatus) -> ExitCode = Terminal.fail) throws(ExitCode) -> LoadedPolicy {
        switch PolicyCheck.load(path) {
        case let .success(loaded):
            return loaded
        case let .failure(failure):
            if let diagnostics = failure.diagnostics { Terminal.printError(diagnostics) }
            throw fail(failure.message, failure.status)
        }
    }
}
