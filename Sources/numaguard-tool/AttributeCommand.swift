import ArgumentParser
import Foundation
import NumaguardAttribution
import NumaguardCore
import NumaguardHost

/// `numaguard attribute`: telemetry joined to watch's series, figures by regime. A thin
/// layer: the files are read here (streamed), everything else is NumaguardAttribution's.
struct AttributeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribute",
        abstract: "Join order or decision telemetry to watch's regimes: what NUMA shocks cost in your own numbers.",
        discussion: """
            Each telemetry row (CSV with a header, or JSON lines) is joined to the watch --series sample covering \
            its time; rows outside the series are counted. Per regime: count, mean, p50, p95, p99, the share of \
            the worst 1%; the uplift of p95/p99 over STABLE with a 95% bootstrap interval; a linear fit on the rates. \
            Exit codes: 0 done; 64 usage; 65 bad data (a file that is not a series or telemetry, with file:line:column; \
            series and telemetry that do not overlap in time); 66 an input file missing or unreadable; 73 --plot \
            cannot be written.
            """,
        subcommands: [AttributeGateCommand.self]
    )

    @Option(name: .customLong("series"), parsing: .upToNextOption,
            help: ArgumentHelp("Files written by watch --series (JSON lines of watch_sample).", valueName: "file"))
    var series: [String] = []
    @Option(name: .customLong("telemetry"), parsing: .upToNextOption,
            help: ArgumentHelp("Telemetry files: CSV with a header, or JSON lines.", valueName: "file"))
    var telemetry: [String] = []
    @OptionGroup var columns: TelemetryOptions
    @Option(help: ArgumentHelp("Also draw the timeline (regime bands, rates, the value's p99) as SVG here.", valueName: "file.svg"))
    var plot: String?

    func run() throws {
        // Checked here, not in validate(): ArgumentParser validates this command also on the
        // way to `attribute gate`, which takes neither option.
        guard !series.isEmpty else { throw Terminal.fail("--series FILE is required (written by numaguard watch --series)", .usage) }
        guard !telemetry.isEmpty else { throw Terminal.fail("--telemetry FILE is required", .usage) }
        // `-` is standard output, where the report goes: the SVG would be mixed into it.
        if plot == "-" { throw Terminal.fail("--plot -: the report is written to standard output; give --plot a file", .usage) }
        let builder = try AttributionInputs.join(series: series, telemetry: telemetry, columns, plot: plot != nil)
        let report: AttributionReport
        do {
            report = try Attribution.report(builder, seriesFiles: series)
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        // The plot first: when it cannot be written (73), no report is printed as if all went well.
        if let plot {
            do {
                try OutputFile.write(TimelinePlot.render(report, valueName: report.telemetry.first?.valueColumn ?? "value"), to: plot)
            } catch {
                throw Terminal.fail(error.description, ExitStatus(error))
            }
        }
        switch columns.format {
        case .text: FileHandleWriter.write(1, AttributionText.render(report))
        case .json: FileHandleWriter.write(1, AttributionJSON.render(report))
        }
    }
}

/// The telemetry options `attribute` and `attribute gate` share.
struct TelemetryOptions: ParsableArguments {
    @Option(name: .customLong("time-column"),
            help: ArgumentHelp("The telemetry's time column: RFC 3339 or epoch s/ms/µs/ns (default: time, timestamp or ts).", valueName: "name"))
    var timeColumn: String?
    @Option(name: .customLong("value-column"), help: ArgumentHelp("The numeric column to attribute (default: value).", valueName: "name"))
    var valueColumn: String?
    @Option(name: .customLong("segment"), help: ArgumentHelp("A column to segment by (repeatable): venue, strategy, ...", valueName: "name"))
    var segment: [String] = []
    @Option(name: .customLong("clock-offset"),
            help: ArgumentHelp("Added to every telemetry time before the join: 250ms, -1.5ms, 40us (telemetry clock behind watch's: positive).",
                               valueName: "duration"))
    var clockOffset: String?
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @Option(name: .customLong("scratch-dir"),
            help: ArgumentHelp("Where joins beyond 1Mi rows keep their sorted values, in unnamed files (default: $TMPDIR, else /var/tmp).",
                               valueName: "dir"))
    var scratchDirectory: String?

    /// --scratch-dir, else an absolute $TMPDIR, else /var/tmp: disk, where /tmp is often
    /// tmpfs, whose pages are memory (what the spill is there to save).
    var spill: SpillSettings {
        if let scratchDirectory { return SpillSettings(directory: scratchDirectory) }
        if let environment = getenv("TMPDIR"), case let directory = String(cString: environment), directory.hasPrefix("/") {
            return SpillSettings(directory: directory)
        }
        return SpillSettings(directory: "/var/tmp")
    }

    var offset: Int64 { clockOffset.flatMap(ClockOffset.parse) ?? 0 }

    var telemetryColumns: TelemetryColumns {
        TelemetryColumns(time: timeColumn, value: valueColumn, segments: segment)
    }

    func validate() throws {
        if let clockOffset, ClockOffset.parse(clockOffset) == nil {
            throw ValidationError("--clock-offset \(clockOffset): expected a signed duration under 24h, e.g. 250ms, -1.5ms, 40us, 2s")
        }
        if Set(segment).count != segment.count { throw ValidationError("--segment names a column twice") }
        for name in segment where name == timeColumn || name == valueColumn {
            throw ValidationError("--segment \(name) is the time or value column")
        }
    }
}

/// Reading the files: series first (the join needs them all, sorted), then each telemetry
/// file streamed into the join.
enum AttributionInputs {
    /// The most read from one file: 64 GiB (a day of 10 million rows is ~0.5 GiB).
    static let maximumFileBytes = 64 << 30

    static func join(series: [String], telemetry: [String], _ options: TelemetryOptions, plot: Bool = false,
                     fail: (String, ExitStatus) -> ExitCode = Terminal.fail) throws(ExitCode) -> AttributionBuilder {
        var samples: [WatchSample] = []
        for path in series {
            var reader = WatchSeriesReader(file: path)
            try stream(path, fail) { (chunk) throws(AttributionError) in try reader.feed(chunk) }
            do { samples += try reader.finish() } catch { throw fail(error.description, ExitStatus(error)) }
        }
        var builder = AttributionBuilder(coverage: Coverage(samples), clockOffset: options.offset, segmentColumns: options.segment, plot: plot,
                                         spill: options.spill)
        for path in telemetry {
            var first: UInt8?
            var reader: TelemetryReader?
            try stream(path, fail) { (chunk) throws(AttributionError) in
                if reader == nil {
                    first = chunk.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
                    reader = TelemetryReader(file: path, format: TelemetryFormat.detect(path: path, firstByte: first),
                                             columns: options.telemetryColumns)
                }
                try reader?.feed(chunk) { (row) throws(AttributionError) in try builder.add(row, file: path) }
            }
            var finished = reader ?? TelemetryReader(file: path, format: TelemetryFormat.detect(path: path, firstByte: nil),
                                                     columns: options.telemetryColumns)
            do {
                try finished.finish { (row) throws(AttributionError) in try builder.add(row, file: path) }
            } catch {
                throw fail(error.description, ExitStatus(error))
            }
            builder.noteFile(finished.summary)
        }
        guard builder.rows > 0 else {
            throw fail("\(AttributionError.paths(telemetry)): no telemetry rows", .dataError)
        }
        if builder.joined == 0 && builder.noValue < builder.rows {
            let coverage = builder.coverage
            func time(_ ns: Int64?) -> String { ns.map { UTCTime.text(Double($0) / 1e9, milliseconds: true) } ?? "-" }
            throw fail("\(AttributionError.paths(telemetry)): the telemetry (\(time(builder.firstTime)) to \(time(builder.lastTime))"
                       + (options.offset != 0 ? ", after --clock-offset" : "") + ") does not overlap the series "
                       + "(\(AttributionError.paths(series)): \(time(coverage.first)) to \(time(coverage.last))): no row could be joined; "
                       + "check the time column's unit and zone, or --clock-offset", .dataError)
        }
        return builder
    }

    private static func stream(_ path: String, _ fail: (String, ExitStatus) -> ExitCode,
                               _ body: (UnsafeBufferPointer<UInt8>) throws(AttributionError) -> Void) throws(ExitCode) {
        let result: Result<Void, AttributionError>
        do {
            result = try HostRoot.streamFile(atPath: path, limit: maximumFileBytes, body)
        } catch {
            throw fail("cannot read \(AttributionError.path(path)): \(error.errno?.description ?? error.description)", ExitStatus(inputFile: error))
        }
        if case let .failure(error) = result { throw fail(error.description, ExitStatus(error)) }
    }
}

extension ExitStatus {
    init(_ error: AttributionError) {
        self = switch error.kind {
        case .data: .dataError
        case .usage: .usage
        case .scratch: .cannotCreate
        }
    }
}
