import ArgumentParser
import Foundation
import NumaguardAttribution
import NumaguardCore
import NumaguardHost

/// `numaguard attribute gate`: a candidate period judged against a baseline, like for like.
struct AttributeGateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Pass a candidate period only if its quantiles are no worse than the baseline's, segment by segment.",
        discussion: """
            Each DIR holds one period's (or host's) files: *.jsonl whose first line is a watch_sample are series, \
            every other *.csv, *.jsonl, *.ndjson or *.json is telemetry; other files are ignored. A quantile passes \
            when the upper end of the 95% bootstrap interval of candidate/baseline - 1 is within --max-worse. \
            Exit codes: 0 pass; 1 fail (the reasons on stdout); 64 usage; 65 bad data; 66 a directory or file \
            missing or unreadable, or a directory without series or telemetry.
            """
    )

    @Option(help: ArgumentHelp("The reference period's directory.", valueName: "dir")) var baseline: String
    @Option(help: ArgumentHelp("The period to judge.", valueName: "dir")) var candidate: String
    @Option(name: .customLong("metric"), help: ArgumentHelp("A quantile to judge, repeatable: p95, p99, p99.9 (default: p95 and p99).", valueName: "pNN"))
    var metrics: [String] = []
    @Option(name: .customLong("max-worse"), help: ArgumentHelp("How much worse a quantile may be (default 5%).", valueName: "percent"))
    var maxWorse = "5%"
    @Option(name: .customLong("max-completion-drop"), help: ArgumentHelp("How many fewer rows a segment may have (default 1%).", valueName: "percent"))
    var maxCompletionDrop = "1%"
    @OptionGroup var columns: TelemetryOptions

    func validate() throws {
        for metric in metrics where GateSettings.metric(metric) == nil {
            throw ValidationError("--metric \(metric): expected a quantile such as p95, p99 or p99.9")
        }
        for (option, text) in [("--max-worse", maxWorse), ("--max-completion-drop", maxCompletionDrop)] {
            if case let .failure(error) = Quantity.percent(text) { throw ValidationError("\(option): \(error)") }
        }
    }

    func run() throws {
        let settings = GateSettings(probabilities: metrics.isEmpty ? [0.95, 0.99] : metrics.compactMap(GateSettings.metric),
                                    maxWorse: ((try? Quantity.percent(maxWorse).get()) ?? 5) / 100,
                                    maxCompletionDrop: ((try? Quantity.percent(maxCompletionDrop).get()) ?? 1) / 100)
        let (baselineBuilder, baselineSide) = try side(baseline)
        let (candidateBuilder, candidateSide) = try side(candidate)
        let report: GateReport
        do {
            report = try AttributionGate.judge(baseline: baselineBuilder, baselineSide: baselineSide, candidate: candidateBuilder,
                                               candidateSide: candidateSide, settings: settings)
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        switch columns.format {
        case .text: FileHandleWriter.write(1, GateText.render(report))
        case .json: FileHandleWriter.write(1, GateJSON.render(report))
        }
        if !report.passed { throw ExitCode(ExitStatus.violations.rawValue) }
    }

    private func side(_ directory: String) throws -> (AttributionBuilder, GateSide) {
        let (series, telemetry) = try GateDirectory.classify(directory)
        let builder = try AttributionInputs.join(series: series, telemetry: telemetry, columns)
        return (builder, GateSide(directory: directory, seriesFiles: series, telemetry: builder.files, rows: builder.rows,
                                  joined: builder.joined, outside: builder.outside, noValue: builder.noValue))
    }
}

/// What a gate directory holds: series (a .jsonl/.ndjson/.json file whose first line is a
/// watch_sample) and telemetry (every other .csv, .jsonl, .ndjson or .json). Hidden files and
/// other names are ignored; files are taken in name order.
enum GateDirectory {
    static func classify(_ directory: String) throws(ExitCode) -> (series: [String], telemetry: [String]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw Terminal.fail("cannot read the directory \(AttributionError.path(directory)): \((error as NSError).localizedDescription)", .noInput)
        }
        var series: [String] = [], telemetry: [String] = []
        for name in names where !name.hasPrefix(".") {
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
            let lower = name.lowercased()
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if lower.hasSuffix(".csv") {
                telemetry.append(path)
            } else if [".jsonl", ".ndjson", ".json"].contains(where: { lower.hasSuffix($0) }) {
                if try firstLineIsSample(path) { series.append(path) } else { telemetry.append(path) }
            }
        }
        guard !series.isEmpty else { throw Terminal.fail("\(AttributionError.path(directory)): no series (a .jsonl file of watch_sample lines, from watch --series)", .noInput) }
        guard !telemetry.isEmpty else { throw Terminal.fail("\(AttributionError.path(directory)): no telemetry (.csv, or JSON lines that are not watch samples)", .noInput) }
        return (series, telemetry)
    }

    private struct Enough: Error {}

    private static func firstLineIsSample(_ path: String) throws(ExitCode) -> Bool {
        var head: [UInt8] = []
        do {
            _ = try HostRoot.streamFile(atPath: path, limit: AttributionInputs.maximumFileBytes) { (chunk) throws(Enough) in
                head.append(contentsOf: chunk.prefix(64 * 1024 - head.count))
                if head.contains(0x0A) || head.count >= 64 * 1024 { throw Enough() }
            }
        } catch {
            throw Terminal.fail("cannot read \(AttributionError.path(path)): \(error.errno?.description ?? error.description)", ExitStatus(inputFile: error))
        }
        return WatchSeriesReader.isSeries(firstLine: Array(head.prefix { $0 != 0x0A }))
    }
}
