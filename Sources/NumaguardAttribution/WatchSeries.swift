import NumaguardCore
import NumaguardOutput

/// The four regimes of `watch`, in its order. Named here rather than imported from
/// NumaguardWatch so attribution stays pure (no host, no sampler): the series file is the
/// contract between the two, by name.
public enum AttributionRegime: Int, CaseIterable, Sendable, Comparable {
    case stable, watch, shock, safe

    public var key: String {
        switch self {
        case .stable: "stable"
        case .watch: "watch"
        case .shock: "shock"
        case .safe: "safe"
        }
    }

    public var name: String { key.uppercased() }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One line of `watch --series`: the regime and rates of the interval (end − interval, end].
public struct WatchSample: Sendable, Equatable {
    /// Nanoseconds since the epoch.
    public var end: Int64
    public var interval: Int64
    public var regime: AttributionRegime
    /// nil where watch could not read the counter (PREEMPT_RT has no hint faults).
    public var hintFaultsPerSecond: Double?
    public var pagesMigratedPerSecond: Double?
    public var balancingMigratedPerSecond: Double?

    public init(end: Int64, interval: Int64, regime: AttributionRegime, hintFaultsPerSecond: Double? = nil,
                pagesMigratedPerSecond: Double? = nil, balancingMigratedPerSecond: Double? = nil) {
        self.end = end
        self.interval = interval
        self.regime = regime
        self.hintFaultsPerSecond = hintFaultsPerSecond
        self.pagesMigratedPerSecond = pagesMigratedPerSecond
        self.balancingMigratedPerSecond = balancingMigratedPerSecond
    }
}

/// Reads series files (JSON lines, `kind: watch_sample`, `format_version` 1), refusing
/// anything else by file:line:column.
public struct WatchSeriesReader {
    public static let kind = "watch_sample"
    public static let formatVersion = 1
    /// A month of 100 ms samples; more is not a series this tool was asked to join.
    public static let maximumSamples = 30_000_000

    public private(set) var samples: [WatchSample] = []
    private var splitter: RecordSplitter
    private let file: String

    public init(file: String) {
        self.file = file
        splitter = RecordSplitter(file: file, quoted: false)
    }

    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>) throws(AttributionError) {
        var parsed: [WatchSample] = []
        try splitter.feed(chunk) { (record, line) throws(AttributionError) in
            if let sample = try Self.sample(record, line: line, file: file) { parsed.append(sample) }
        }
        try append(parsed)
    }

    public mutating func finish() throws(AttributionError) -> [WatchSample] {
        var parsed: [WatchSample] = []
        try splitter.finish { (record, line) throws(AttributionError) in
            if let sample = try Self.sample(record, line: line, file: file) { parsed.append(sample) }
        }
        try append(parsed)
        guard !samples.isEmpty else { throw AttributionError(file: file, "holds no watch_sample line") }
        return samples
    }

    private mutating func append(_ parsed: [WatchSample]) throws(AttributionError) {
        samples.append(contentsOf: parsed)
        if samples.count > Self.maximumSamples {
            throw AttributionError(file: file, line: splitter.line, "more than \(Self.maximumSamples) samples")
        }
    }

    /// One line; nil for a blank one.
    static func sample(_ record: UnsafeBufferPointer<UInt8>, line: Int, file: String) throws(AttributionError) -> WatchSample? {
        if JSONScanner.skipSpace(record, 0, record.count) == record.count { return nil }
        var version: Int?, kind: String?, time: Int64?, interval: Double?, regime: AttributionRegime?
        var hint: Double?, pages: Double?, balancing: Double?
        func fail(_ offset: Int, _ message: String) -> AttributionError {
            let (line, column) = RecordSplitter.place(of: offset, in: record, line: line)
            return AttributionError(file: file, line: line, column: column, message)
        }
        do throws(FieldError) {
            try JSONScanner.members(record, 0..<record.count) { (member) throws(FieldError) in
                let name = JSONScanner.keyText(member, in: record)
                let value = UnsafeBufferPointer(rebasing: record[member.valueStart..<member.valueEnd])
                // Where the value starts, its opening quote included.
                let at = member.valueStart - (member.kind == .string ? 1 : 0)
                switch name {
                case "format_version":
                    guard member.kind == .number, let number = Numbers.decimal(value, json: true) else {
                        throw FieldError(offset: at, message: "format_version is not a number")
                    }
                    version = Int(exactly: number) ?? -1
                case "kind":
                    guard member.kind == .string else { throw FieldError(offset: at, message: "kind is not a string") }
                    kind = JSONScanner.valueText(member, in: record)
                case "time":
                    guard member.kind == .string else { throw FieldError(offset: at, message: "time is not an RFC 3339 string") }
                    do throws(FieldError) { time = try TimeColumn.rfc3339(value) } catch { throw FieldError(offset: member.valueStart + error.offset, message: error.message) }
                case "interval_s":
                    guard member.kind == .number, let seconds = Numbers.decimal(value, json: true), seconds > 0, seconds <= 86_400 else {
                        throw FieldError(offset: at, message: "interval_s is not a number of seconds in (0, 86400]")
                    }
                    interval = seconds
                case "regime":
                    let text = member.kind == .string ? JSONScanner.valueText(member, in: record) : ""
                    guard let known = AttributionRegime.allCases.first(where: { $0.key == text }) else {
                        throw FieldError(offset: at, message: "regime is not one of stable, watch, shock, safe")
                    }
                    regime = known
                case "figures":
                    guard member.kind == .object else { throw FieldError(offset: at, message: "figures is not an object") }
                    try JSONScanner.members(record, member.valueStart..<member.valueEnd) { (figure) throws(FieldError) in
                        let figureName = JSONScanner.keyText(figure, in: record)
                        guard ["hint_faults_per_s", "pages_migrated_per_s", "balancing_migrated_per_s"].contains(figureName) else { return }
                        let number: Double?
                        if JSONScanner.isNull(figure, in: record) {
                            number = nil
                        } else {
                            guard figure.kind == .number,
                                  let parsed = Numbers.decimal(UnsafeBufferPointer(rebasing: record[figure.valueStart..<figure.valueEnd]), json: true),
                                  parsed >= 0 else {
                                throw FieldError(offset: figure.valueStart, message: "\(figureName) is neither a rate (a number >= 0) nor null")
                            }
                            number = parsed
                        }
                        switch figureName {
                        case "hint_faults_per_s": hint = number
                        case "pages_migrated_per_s": pages = number
                        default: balancing = number
                        }
                    }
                default:
                    break // members added within format_version 1 are ignored
                }
            }
        } catch {
            throw fail(error.offset, error.message)
        }
        guard let kind else { throw fail(0, "no kind: not a watch_sample line") }
        guard kind == Self.kind else { throw fail(0, "kind \(UntrustedText.quoted(kind)) is not a watch_sample (numaguard watch --series writes those)") }
        guard let version, version == Self.formatVersion else {
            throw fail(0, "format_version \(version.map(String.init) ?? "missing") is not one this numaguard reads (\(Self.formatVersion))")
        }
        guard let time else { throw fail(0, "no time") }
        guard let interval else { throw fail(0, "no interval_s") }
        guard let regime else { throw fail(0, "no regime") }
        return WatchSample(end: time, interval: Int64((interval * 1e9).rounded()), regime: regime,
                           hintFaultsPerSecond: hint, pagesMigratedPerSecond: pages, balancingMigratedPerSecond: balancing)
    }
}

extension WatchSeriesReader {
    /// Whether a file's first line is a watch_sample (attribute gate tells series from telemetry so).
    public static func isSeries(firstLine: [UInt8]) -> Bool {
        var kind: String?
        firstLine.withUnsafeBufferPointer { bytes in
            try? JSONScanner.members(bytes, 0..<bytes.count) { (member) throws(FieldError) in
                if member.kind == .string, JSONScanner.keyText(member, in: bytes) == "kind" { kind = JSONScanner.valueText(member, in: bytes) }
            }
        }
        return kind == Self.kind
    }
}
