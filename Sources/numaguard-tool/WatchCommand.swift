import ArgumentParser
import NumaguardCore
import NumaguardHost
import NumaguardWatch

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch for NUMA drift all day: regimes, events, Prometheus metrics.",
        discussion: """
            Samples /proc/vmstat and the nodes' numastat every interval (the policy's watch.interval), \
            classifies the host STABLE, WATCH, SHOCK or SAFE, and watches the protected workloads' \
            placement and the numa_balancing knob. Events go to stdout (or --events) as JSON lines \
            and to stderr as text; --series appends every sample's figures as JSON lines, rotated to \
            PATH.1 at --series-max-size. SIGTERM or SIGINT stops it cleanly; SIGHUP reloads the policy (an \
            invalid one is refused and the old one kept). The interval is at least \(DurationLimits.watchInterval.minimumSpelling). \
            Exit codes: 0 clean stop; 64 usage; 66 the policy file is missing or unreadable at start; 71 the \
            topology could not be read; 73 --events, --series or --textfile cannot be created (a directory, a missing or \
            read-only directory, a symbolic link), or --listen (or watch.listen) cannot be bound (in use, not \
            permitted); 78 invalid policy at start. A policy that vanished or broke by a SIGHUP is refused and \
            the old one kept.
            """
    )

    @OptionGroup var host: HostOptions
    @Option(help: ArgumentHelp("The policy file (its watch: section sets thresholds; its protected workloads are watched).", valueName: "file"))
    var policy: String
    @Option(help: ArgumentHelp("Serve /metrics at PORT (loopback) or IPV4:PORT; overrides the policy's watch.listen.", valueName: "address"))
    var listen: String?
    @Option(help: ArgumentHelp("Also write the metrics to this node_exporter textfile after every sample, atomically.", valueName: "path"))
    var textfile: String?
    @Option(help: ArgumentHelp("Append events (JSON lines) to this file instead of stdout.", valueName: "path"))
    var events: String?
    @Option(help: ArgumentHelp("Append one JSON line per sample (every figure, the regime, the protected workloads' placement) to this file; - is stdout when --events is a file.", valueName: "path"))
    var series: String?
    @Option(help: ArgumentHelp("Rotate the --series file to PATH.1 before it would grow past this size (default 64MiB, at least 4KiB).", valueName: "size"))
    var seriesMaxSize: String?
    @Option(help: ArgumentHelp("Sampling interval, overriding the policy's watch.interval (e.g. 500ms, 1s; at least \(DurationLimits.watchInterval.minimumSpelling)).", valueName: "duration"))
    var interval: String?
    @Option(help: ArgumentHelp("Stop cleanly after this many samples.", valueName: "n"))
    var count: Int?

    func validate() throws {
        if let listen, case let .failure(invalid) = ListenAddress.parse(listen) { throw ValidationError("--listen: \(invalid.message)") }
        if let interval {
            if case let .failure(invalid) = Quantity.seconds(interval, within: DurationLimits.watchInterval) {
                throw ValidationError("--interval: \(invalid.message)")
            }
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if series == "-" && (events ?? "-") == "-" {
            throw ValidationError("--series - needs --events PATH: events already go to stdout")
        }
        if let series, series != "-", series == events {
            throw ValidationError("--series and --events name the same file: give the samples a file of their own (it is rotated)")
        }
        if let seriesMaxSize {
            if series == nil { throw ValidationError("--series-max-size needs --series") }
            switch Quantity.size(seriesMaxSize) {
            case let .failure(invalid): throw ValidationError("--series-max-size: \(invalid.message)")
            case let .success(bytes) where bytes < SeriesSink.minimumSize:
                throw ValidationError("--series-max-size: \"\(seriesMaxSize)\" is below the minimum of 4KiB")
            case .success: break
            }
        }
    }

    func run() throws {
        let loaded = try PolicyFile.load(policy)
        var options = WatchOptions(policyPath: policy, root: host.root, textfile: textfile, eventsPath: events, count: count)
        if let listen, case let .success(address) = ListenAddress.parse(listen) { options.listen = address }
        if let interval, case let .success(seconds) = Quantity.seconds(interval) { options.interval = seconds }
        options.seriesPath = series
        if let seriesMaxSize, case let .success(bytes) = Quantity.size(seriesMaxSize) { options.seriesMaxSize = bytes }
        do {
            let service = try WatchService(options: options, policy: loaded)
            let status = try service.run()
            if status != .success { throw ExitCode(status.rawValue) }
        } catch let failure as WatchFailure {
            throw Terminal.fail("watch: \(failure.description)", ExitStatus(failure))
        }
    }
}
