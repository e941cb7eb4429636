#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore
import NumaguardHost
import NumaguardPolicy

public struct WatchOptions: Sendable {
    public var policyPath: String
    public var root: HostRoot
    /// Serve /metrics here (the policy's `watch.listen` when nil).
    public var listen: ListenAddress?
    /// Also write the metrics to this node_exporter textfile after every sample.
    public var textfile: String?
    /// Append events here instead of stdout.
    public var eventsPath: String?
    /// Append one `watch_sample` line per sample here (`-`: stdout).
    public var seriesPath: String?
    /// Rotate the series file to PATH.1 before it would grow past this many bytes.
    public var seriesMaxSize = SeriesSink.defaultSize
    /// Stop cleanly after this many samples.
    public var count: Int?
    /// Overrides the policy's `watch.interval`.
    public var interval: Double?

    public init(policyPath: String, root: HostRoot, listen: ListenAddress? = nil, textfile: String? = nil,
                eventsPath: String? = nil, count: Int? = nil, interval: Double? = nil) {
        self.policyPath = policyPath
        self.root = root
        self.listen = listen
        self.textfile = textfile
        self.eventsPath = eventsPath
        self.count = count
        self.interval = interval
    }
}

/// Why watch could not start (it never stops for a failure once running). The stage says
/// what failed; the command line turns it into an exit status (numaguard-tool's ErrorStatus).
public struct WatchFailure: Error, Sendable, CustomStringConvertible {
    public enum Stage: Sendable {
        /// The topology could not be read.
        case topology
        /// The signalfd could not be made.
        case signals
        /// --textfile can never be written.
        case textfile
        /// --events could not be opened.
        case events
        /// --series could not be opened.
        case series
        /// The /metrics socket could not be bound or listened on (in use, not permitted,
        /// an address this host does not have).
        case listen
        /// The command line asks for something impossible that only the opened files show
        /// (--series and --events spelled differently but one file).
        case usage
    }

    public var description: String
    public var stage: Stage
}

/// `numaguard watch`: samples the host every interval on one thread, in a poll() loop that
/// also takes signals (signalfd: SIGTERM and SIGINT stop, SIGHUP reloads the policy) and
/// serves /metrics. Nothing accumulates: events are written as they happen, and the state
/// kept is the last reading, the regime machine and the protected processes being watched.
public final class WatchService {
    let options: WatchOptions
    var loaded: LoadedPolicy
    var thresholds: RegimeThresholds
    var machine: RegimeMachine
    var status = WatchStatus()
    let sampler: WatchSampler
    let protected: ProtectedWatch
    let isolation: IsolationWatch
    let events: EventSink
    let series: SeriesSink?
    /// Monotonic time of the last sample (the series' window when the counters could not be read).
    var lastSampleTime: Double?
    /// The --series write failure already reported.
    var seriesProblem: String?
    var previous: (reading: CounterReading, time: Double)?
    var knob: Int?
    var knobKnown = false
    /// Reported once each until they read again, so a file unreadable for a day is one event.
    /// Keyed by bytes, as paths are: messages name cgroups and files any user may name, and
    /// two only canonically equal are two problems (String's `==` would report one of them).
    var unreadable: Set<PathKey> = []
    var outputProblem: String?
    /// The --events (or stdout) write failure already reported on stderr.
    var eventsProblem: String?
    /// The loop's own failures (poll, the signalfd, accept), each reported once until it
    /// works again.
    var loopProblems: Set<String> = []
    /// Until when the signalfd is left alone after a read of it failed.
    var signalsPausedUntil: Double?
    /// How long a failing poll() or signalfd read is left alone: a failure that repeats at
    /// once must not spin the loop.
    static let backoffSeconds = 1.0

    public init(options: WatchOptions, policy: LoadedPolicy) throws(WatchFailure) {
        self.options = options
        loaded = policy
        thresholds = Self.thresholds(policy, options)
        let now = SystemClock.monotonic()
        machine = RegimeMachine(thresholds: thresholds, start: now)
        let topology: Topology
        do {
            topology = try TopologyReader.read(options.root)
        } catch {
            throw WatchFailure(description: "cannot read the topology: \(error)", stage: .topology)
        }
        // A kernel without NUMA has no node directories: no per-node counters to read, and
        // their absence is not unreadable sampling.
        sampler = WatchSampler(root: options.root, nodes: topology.numaEnabled ? topology.onlineNodes.members : [])
        protected = ProtectedWatch(root: options.root, topology: topology)
        isolation = IsolationWatch(root: options.root, topology: topology)
        // Judged by what writes it at every sample: a path refused then stops the start (73).
        if let textfile = options.textfile {
            do {
                try OutputFile.check(textfile)
            } catch {
                throw WatchFailure(description: "--textfile: \(error)", stage: .textfile)
            }
        }
        do {
            events = try EventSink(path: options.eventsPath)
        } catch {
            throw WatchFailure(description: "cannot open --events \(options.eventsPath ?? "-"): \(error.reason)", stage: .events)
        }
        if let path = options.seriesPath {
            do {
                series = try SeriesSink(path: path, maxSize: options.seriesMaxSize)
            } catch {
                throw WatchFailure(description: "cannot open --series \(path): \(error.reason)", stage: .series)
            }
            if series?.isSameFile(as: events.fd) == true {
                throw WatchFailure(description: "--series \(path) is the same file as --events \(options.eventsPath ?? "-"): "
                                   + "give the samples a file of their own (it is rotated)", stage: .usage)
            }
        } else {
            series = nil
        }
        status.kernelRelease = (try? KernelReader.read(options.root).release) ?? ""
    }

    static func thresholds(_ loaded: LoadedPolicy, _ options: WatchOptions) -> RegimeThresholds {
        var thresholds = RegimeThresholds(loaded.policy.watch)
        if let interval = options.interval { thresholds.intervalSeconds = interval }
        // The command line and the policy loader refuse a shorter interval; this holds for
        // any other way in (a library caller), since sampling is the loop's whole time then.
        thresholds.intervalSeconds = max(thresholds.intervalSeconds, DurationLimits.watchInterval.minimum)
        return thresholds
    }

    /// `watch.isolation_period` (default 10s, at least 1s whatever the caller).
    var isolationPeriod: Double {
        max(loaded.policy.watch?.isolationPeriodSeconds ?? 10, DurationLimits.isolationPeriod.minimum)
    }

    /// Runs until SIGTERM, SIGINT or `count` samples; returns the exit status (0).
    public func run() throws(WatchFailure) -> ExitStatus {
        // A reader of stdout that goes away must not kill the watch with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let signals: Int32
        do {
            signals = try SystemCall.check("signalfd", "SIGTERM SIGINT SIGHUP") {
                [SIGTERM, SIGINT, SIGHUP].withUnsafeBufferPointer { clinux_signalfd($0.baseAddress, Int32($0.count)) }
            }
        } catch {
            throw WatchFailure(description: "\(error)", stage: .signals)
        }
        defer { close(signals) }
        var server: MetricsServer?
        if let address = options.listen ?? loaded.policy.watch?.listen {
            do {
                server = try MetricsServer(address)
            } catch {
                throw WatchFailure(description: "cannot serve /metrics on \(address): \(error)", stage: .listen)
            }
        }
        status.policyDigest = loaded.digest
        status.thresholds = thresholds
        status.regimeSince = SystemClock.wall()
        emit(startEvent(server?.address))

        var next = SystemClock.monotonic()
        while true {
            var now = SystemClock.monotonic()
            if now >= next {
                sample(at: now)
                if let count = options.count, status.samples >= count {
                    stop("stopped after \(count) sample\(count == 1 ? "" : "s") (--count)")
                    return .success
                }
                now = SystemClock.monotonic()
                next += thresholds.intervalSeconds
                // A sample that overran its interval (a slow host) is followed by a whole
                // interval, not by the next sample at once: the watch must not add load to a
                // host already slow to answer it.
                if next <= now { next = now + thresholds.intervalSeconds }
                // No `continue`: signals and /metrics are polled between every two samples,
                // however long the samples take.
            }
            var wake = next
            if let deadline = server?.nextDeadline { wake = min(wake, deadline) }
            if let paused = signalsPausedUntil {
                if now >= paused { signalsPausedUntil = nil } else { wake = min(wake, paused) }
            }
            let watchSignals = signalsPausedUntil == nil
            var descriptors = [pollfd(fd: watchSignals ? signals : -1, events: Int16(POLLIN), revents: 0)]
                + (server?.pollDescriptors(now: now) ?? [])
            let timeout = Int32(max(0, min(60_000, ((wake - now) * 1000).rounded(.up))))
            do {
                try SystemCall.check("poll", "signals and /metrics") {
                    descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeout) }
                }
                loopProblems.remove("poll")
            } catch {
                loopFailure("poll", "\(error); retrying every \(WatchEvent.number(Self.backoffSeconds))s")
                Self.pause(Self.backoffSeconds)
                continue
            }
            if descriptors[0].revents != 0 {
                while true {
                    let signal: Int32
                    do {
                        signal = try SystemCall.check("read", "signalfd") { clinux_signalfd_take(signals) }
                        loopProblems.remove("signalfd")
                    } catch {
                        // Signals stay blocked and queued: they are taken once it reads again.
                        loopFailure("signalfd", "signals cannot be taken: \(error); trying again in \(WatchEvent.number(Self.backoffSeconds))s")
                        signalsPausedUntil = SystemClock.monotonic() + Self.backoffSeconds
                        break
                    }
                    if signal <= 0 { break }
                    if signal == SIGHUP {
                        reload()
                    } else {
                        stop("stopped by \(signal == SIGTERM ? "SIGTERM" : "SIGINT")")
                        return .success
                    }
                }
            }
            if let problem = server?.serve(descriptors.dropFirst(), now: SystemClock.monotonic(), metrics: { WatchMetrics.render(status) }) {
                report(.output, problem)
            }
        }
    }

    /// Reports a failure of the loop's own machinery once, until it works again.
    func loopFailure(_ key: String, _ message: String) {
        guard loopProblems.insert(key).inserted else { return }
        report(.unreadable, "\(key) failed: \(message)")
    }

    static func pause(_ seconds: Double) {
        var interval = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        // Nothing to report if the pause itself fails: the loop goes on either way.
        _ = try? SystemCall.check("nanosleep", "back-off") { nanosleep(&interval, nil) }
    }

    func startEvent(_ address: ListenAddress?) -> WatchEvent {
        let t = thresholds
        var fields = [("policy", loaded.file), ("policy_digest", loaded.digest)]
        if let address { fields.append(("metrics", "http://\(address)/metrics")) }
        if let textfile = options.textfile { fields.append(("textfile", textfile)) }
        // Whether protected processes' numa_maps may be read (the opt-in): it stalls them.
        fields.append(("numa_maps", loaded.policy.watch?.numaMaps == true ? "on" : "off"))
        var figures: [(String, Double?)] = [
            ("interval_s", t.intervalSeconds), ("hint_faults_per_s", t.hintFaultsPerSecond),
            ("pages_migrated_per_s", t.pagesMigratedPerSecond), ("remote_fault_ratio", t.remoteFaultRatio),
            ("migration_failures_per_s", t.migrationFailuresPerSecond), ("dwell_s", t.dwellSeconds),
            ("exit_share", t.exitShare), ("numa_maps_period_s", t.numaMapsPeriodSeconds)]
        if IsolationWatch.applies(loaded.policy) { figures.append(("isolation_period_s", isolationPeriod)) }
        return WatchEvent(
            kind: .start, time: SystemClock.wall(), regime: machine.regime,
            message: "watching every \(WatchEvent.number(t.intervalSeconds))s: WATCH at \(WatchEvent.number(t.hintFaultsPerSecond)) hint faults/s, "
                + "SHOCK at \(WatchEvent.number(t.pagesMigratedPerSecond)) pages/s migrated by NUMA balancing or \(WatchEvent.number(t.remoteFaultRatio * 100))% remote hint faults, "
                + "SAFE at \(WatchEvent.number(t.migrationFailuresPerSecond)) migration failures/s; dwell \(WatchEvent.number(t.dwellSeconds))s, "
                + "exit below \(WatchEvent.number(t.exitShare * 100))%",
            fields: fields, figures: figures)
    }

    /// One interval: counters, knob, protected processes, then the regime machine.
    func sample(at now: Double) {
        // The wall-clock twin of `now` (taken together, before the reads), so consecutive
        // series lines' times are as far apart as their windows say, however long a read takes.
        let wall = SystemClock.wall()
        let sample = sampler.sample()
        status.samples += 1
        status.lastSample = SystemClock.wall()
        var problems = sample.unreadable
        checkKnob(sample.numaBalancing, readable: sample.unreadable.allSatisfy { !$0.contains("numa_balancing") })

        let notes = protected.sample(loaded.policy.workloads, now: now, period: thresholds.numaMapsPeriodSeconds,
                                     numaMaps: loaded.policy.watch?.numaMaps ?? false)
        var changes: [String] = []
        for note in notes {
            if note.kind == .unreadable {
                problems.append(note.message)
                continue
            }
            report(note.kind, note.message, fields: [("workload", note.workload), ("pid", String(note.pid))],
                   figures: note.figures.keys.sorted().map { ($0, note.figures[$0]) })
            if note.isChange { changes.append(note.message) }
        }
        // Interrupts and foreign threads on isolated and reserved CPUs: events and metrics
        // only, never an input of the regime machine.
        let isolationNotes = isolation.sample(loaded.policy, now: now, period: isolationPeriod, members: protected.workloadsByPID)
        for note in isolationNotes {
            if note.kind == .unreadable {
                problems.append(note.message)
                continue
            }
            report(note.kind, note.message, fields: note.fields, figures: note.figures)
        }
        status.isolation = IsolationWatch.applies(loaded.policy) ? isolation.metrics : nil
        status.protected = protected.counts(loaded.policy.workloads)
        status.protectedMemory = protected.memory()
        noteUnreadable(problems)

        var input: RegimeInput?
        // The rates of this sample's window; nil when there is none (the first readable
        // counters) or the counters could not be read.
        var window: WatchRates?
        status.counters = sample.counters
        if let reading = sample.counters {
            status.available = WatchSampler.available(reading)
            if let previous {
                let rates = WatchRates.between(previous.reading, reading, seconds: now - previous.time)
                status.rates = rates
                window = rates
                for counter in rates.resets {
                    report(.counterReset, "\(counter) went backwards: this interval's rate for it is unavailable")
                }
                input = RegimeInput(time: now, rates: rates, unreadable: sample.unreadable, protectedChanges: changes)
            } else if !changes.isEmpty {
                input = RegimeInput(time: now, rates: WatchRates(seconds: 0), protectedChanges: changes)
            }
            previous = (reading, now)
        } else {
            status.rates = nil
            input = RegimeInput(time: now, rates: nil, unreadable: sample.unreadable, protectedChanges: changes)
        }
        if let input, let transition = machine.step(input) {
            status.regime = transition.to
            status.regimeSince = SystemClock.wall()
            status.transitions[transition.to, default: 0] += 1
            report(.regime, "\(transition.from.name) -> \(transition.to.name): \(transition.reasons.joined(separator: "; "))",
                   fields: [("from", transition.from.rawValue), ("to", transition.to.rawValue)],
                   figures: (input.rates ?? WatchRates(seconds: 0)).figures)
        }
        writeSeries(now: now, wall: wall, rates: window, notes: notes)
        lastSampleTime = now
        writeTextfile()
    }

    /// One `watch_sample` line, from every sample but the first (which has no window). Its
    /// window is the rates' own (since the last readable counters), else, when the counters
    /// could not be read, the time since the last sample; it ends at `wall`, when this
    /// sample began.
    func writeSeries(now: Double, wall: Double, rates: WatchRates?, notes: [ProtectedNote]) {
        guard let series, let last = lastSampleTime else { return }
        let memory = status.protectedMemory
        let workloads = status.protected.map { name, processes in
            WatchSample.Workload(name: name, processes: processes,
                                 placement: WatchSample.placement(of: name, processes: processes, notes: notes),
                                 memory: memory.first { $0.workload == name })
        }
        let line = WatchSample(time: wall, interval: rates?.seconds ?? (now - last), regime: machine.regime,
                               figures: WatchSample.figures(rates, nodes: sampler.nodes), workloads: workloads)
        do {
            try series.write(line.jsonLine)
            seriesProblem = nil
        } catch {
            let problem = "cannot write the series: \(error); samples are dropped until it works again"
            if problem != seriesProblem { report(.output, problem) }
            seriesProblem = problem
        }
    }

    func checkKnob(_ value: Int?, readable: Bool) {
        status.numaBalancing = value
        guard readable else { return }
        defer {
            knob = value
            knobKnown = true
        }
        guard knobKnown, value != knob else { return }
        let describe = { (value: Int?) in value.map { KernelState.describeNumaBalancing($0) } ?? "absent" }
        var message = "kernel.numa_balancing changed from \(describe(knob)) to \(describe(value)) (changed by another tool)"
        if loaded.policy.host.kernel.numaBalancing == .off, let value, value != 0 {
            message += "; the policy requires off"
        }
        report(.knob, message, fields: [("from", knob.map(String.init) ?? "absent"), ("to", value.map(String.init) ?? "absent")])
    }

    /// Reports each problem when it first appears; what reads again is forgotten, so it is
    /// reported again if it fails again later.
    func noteUnreadable(_ problems: [String]) {
        for problem in problems where !unreadable.contains(PathKey(problem)) {
            report(.unreadable, problem)
        }
        // Bounded by what one sample reads.
        unreadable = Set(problems.prefix(256).map(PathKey.init))
    }

    /// SIGHUP: the new policy replaces the old only if it loads; otherwise the old one
    /// stays, and the event and stderr say why (file:line:col).
    func reload() {
        do {
            let fresh = try PolicyLoader.load(file: options.policyPath, reading: InputFile.read)
            loaded = fresh
            thresholds = Self.thresholds(fresh, options)
            machine.thresholds = thresholds
            status.thresholds = thresholds
            status.policyDigest = fresh.digest
            protected.rediscover()
            report(.reload, "policy \(fresh.file) reloaded (\(fresh.digest))", fields: [("policy_digest", fresh.digest)])
        } catch {
            // file:line:col: message, without the excerpt and caret lines (or why the file could not be read).
            report(.reload, "policy \(options.policyPath) refused, keeping the previous one (\(loaded.digest)): "
                   + error.summary.joined(separator: "; "), fields: [("policy_digest", loaded.digest), ("refused", "true")])
        }
    }

    /// The stop event is counted before the last textfile is written, so the textfile (all
    /// that remains once the watch has stopped) counts every event; it is written after,
    /// so it is still the last event.
    func stop(_ why: String) {
        let event = WatchEvent(kind: .stop, time: SystemClock.wall(), regime: machine.regime, message: why)
        count(event)
        writeTextfile()
        deliver(event)
    }

    func writeTextfile() {
        guard let textfile = options.textfile else { return }
        do {
            try OutputFile.write(WatchMetrics.render(status), to: textfile, blocking: false, synced: false)
            outputProblem = nil
        } catch {
            let problem = "cannot write the textfile \(textfile): \(error)"
            if problem != outputProblem { report(.output, problem) }
            outputProblem = problem
        }
    }

    func report(_ kind: WatchEvent.Kind, _ message: String, fields: [(String, String)] = [], figures: [(String, Double?)] = []) {
        emit(WatchEvent(kind: kind, time: SystemClock.wall(), regime: machine.regime, message: message, fields: fields, figures: figures))
    }

    func emit(_ event: WatchEvent) {
        count(event)
        deliver(event)
    }

    func count(_ event: WatchEvent) {
        status.events[event.kind, default: 0] += 1
    }

    /// Writes an event already counted.
    func deliver(_ event: WatchEvent) {
        do {
            try events.write(event)
            eventsProblem = nil
        } catch {
            // Not fatal, and not an event of its own (it could not be written either):
            // stderr and the output event count, once until writing works again.
            let problem = "cannot write events to \(options.eventsPath ?? "stdout"): \(error); events go to stderr only until it works again"
            guard problem != eventsProblem else { return }
            eventsProblem = problem
            status.events[.output, default: 0] += 1
            FileHandleWriter.write(2, WatchEvent(kind: .output, time: SystemClock.wall(), regime: machine.regime, message: problem).humanLine)
        }
    }
}

/// Events go to stdout or an append-only file as JSON lines, and to stderr as a line for people.
/// The file is opened by OutputFile.openAppend (O_NOFOLLOW: a symbolic link is refused), and
/// each line goes out in one write(2), never torn (FileHandleWriter.appendLine).
final class EventSink {
    let fd: Int32

    init(path: String?) throws(OutputError) {
        guard let path, path != "-" else {
            fd = 1
            return
        }
        fd = try OutputFile.openAppend(path, mode: 0o644).fd
    }

    deinit {
        if fd != 1 { close(fd) }
    }

    /// stderr is best effort; a failure to write the JSON line is thrown for the watch to report.
    func write(_ event: WatchEvent) throws(SystemCallError) {
        FileHandleWriter.write(2, event.humanLine)
        try SeriesSink.appendLine(fd, event.jsonLine, subject: fd == 1 ? "stdout" : "--events")
    }
}
