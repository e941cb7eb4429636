import NumaguardCore
import NumaguardOutput

/// `attribute gate`: the playbook's validation protocol. A candidate period (or host) is
/// judged against a baseline, segment by segment so the comparison is like for like, on the
/// value's quantiles and on completion (rows per segment).
///
/// A quantile passes only when the upper end of the bootstrap interval of its degradation
/// (candidate / baseline − 1) is within --max-worse: a non-inferiority test. The candidate
/// has to show it is no worse; a point estimate inside the bound with an interval reaching
/// past it is "inconclusive", and fails, because a gate that passes whatever it cannot tell
/// apart passes regressions hidden in noise. The cure for an inconclusive result is more
/// rows, not a looser bound.
public struct GateSettings: Sendable {
    public var probabilities: [Double]
    /// Fractions: 0.05 is 5%.
    public var maxWorse: Double
    public var maxCompletionDrop: Double

    public init(probabilities: [Double] = [0.95, 0.99], maxWorse: Double = 0.05, maxCompletionDrop: Double = 0.01) {
        self.probabilities = probabilities
        self.maxWorse = maxWorse
        self.maxCompletionDrop = maxCompletionDrop
    }

    /// `p99`, `p95`, `p99.9`, `p50`: a quantile to judge.
    public static func metric(_ text: String) -> Double? {
        guard text.hasPrefix("p"), let percent = Double(text.dropFirst()), text.dropFirst().allSatisfy({ $0.isNumber || $0 == "." }),
              percent > 0, percent < 100 else { return nil }
        return percent / 100
    }

    /// A quantile is judged only when each side has at least this many rows above it: below
    /// that the quantile is one of the few largest values and its interval says nothing.
    public static let minimumTailRows = 10.0
}

public struct GateMetric: Sendable {
    public enum Verdict: String, Sendable {
        case pass, worse, inconclusive
        case tooFewRows = "too few rows"
        case undefined = "undefined"
    }

    public var probability: Double
    public var baseline: Double?
    public var candidate: Double?
    public var degradation: Double?
    public var interval: (low: Double, high: Double)?
    public var verdict: Verdict

    public var name: String { GateMetric.name(probability) }

    static func name(_ probability: Double) -> String {
        let percent = probability * 100
        return "p" + (percent == percent.rounded() ? String(Int(percent)) : String(percent))
    }
}

public struct GateSegment: Sendable {
    public var values: [String]
    public var baselineRows: Int
    public var candidateRows: Int
    /// 1 − candidate/baseline rows (negative: more rows).
    public var completionDrop: Double?
    public var completionPassed: Bool
    public var metrics: [GateMetric]
}

public struct GateReport: Sendable {
    public var settings: GateSettings
    public var segmentColumns: [String]
    public var baseline: GateSide
    public var candidate: GateSide
    public var segments: [GateSegment]
    /// Segments only the candidate has: shown, not judged (no baseline to compare with).
    public var newSegments: [[String]]
    public var reasons: [String]
    public var passed: Bool { reasons.isEmpty }
}

/// One side's inputs, for the report.
public struct GateSide: Sendable {
    public var directory: String
    public var seriesFiles: [String]
    public var telemetry: [TelemetryFileSummary]
    public var rows: Int, joined: Int, outside: Int, noValue: Int

    public init(directory: String, seriesFiles: [String], telemetry: [TelemetryFileSummary], rows: Int, joined: Int, outside: Int, noValue: Int) {
        self.directory = directory
        self.seriesFiles = seriesFiles
        self.telemetry = telemetry
        self.rows = rows
        self.joined = joined
        self.outside = outside
        self.noValue = noValue
    }
}

public enum AttributionGate {
    public static func judge(baseline: AttributionBuilder, baselineSide: GateSide, candidate: AttributionBuilder, candidateSide: GateSide,
                             settings: GateSettings) throws(AttributionError) -> GateReport {
        var segments: [GateSegment] = []
        var reasons: [String] = []
        let candidateIDs = Dictionary(candidate.segmentKeys.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let columns = baseline.segmentColumns
        func label(_ values: [String]) -> String {
            // Reasons are printed as they are by the text report: the file's values escaped here.
            columns.isEmpty ? "all rows" : zip(columns, values).map { "\($0)=\(UntrustedText.escaped($1))" }.joined(separator: ", ")
        }
        var judged = 0
        for (id, key) in baseline.segmentKeys.enumerated() {
            let values = TelemetryReader.segmentValues(key)
            let base = try baseline.segmentColumn(id)
            let other = try candidateIDs[key].map { (id) throws(AttributionError) in try candidate.segmentColumn(id) } ?? .empty
            guard base.count > 0 else { continue }
            let drop = 1 - Double(other.count) / Double(base.count)
            let completionPassed = drop <= settings.maxCompletionDrop
            if !completionPassed {
                reasons.append("\(label(values)): completion dropped \(AttributionText.percent(drop)) (\(base.count) rows -> \(other.count)), "
                               + "beyond \(AttributionText.percent(settings.maxCompletionDrop))")
            }
            var metrics: [GateMetric] = []
            let baseReplicates = try Bootstrap.replicates(base, settings.probabilities, label: "baseline\u{1F}" + key)
            let otherReplicates = try Bootstrap.replicates(other, settings.probabilities, label: "candidate\u{1F}" + key)
            for (position, p) in settings.probabilities.enumerated() {
                var metric = GateMetric(probability: p, baseline: try Quantile.type7(base, p), candidate: try Quantile.type7(other, p),
                                        degradation: nil, interval: nil, verdict: .tooFewRows)
                let tail = min(Double(base.count), Double(other.count)) * (1 - p)
                if tail >= GateSettings.minimumTailRows, let b = metric.baseline, let c = metric.candidate {
                    if b > 0 {
                        metric.degradation = c / b - 1
                        metric.interval = Bootstrap.interval(zip(otherReplicates[position], baseReplicates[position]).map { $1 > 0 ? $0 / $1 - 1 : .nan })
                        judged += 1
                        let high = metric.interval?.high ?? .infinity
                        if high <= settings.maxWorse {
                            metric.verdict = .pass
                        } else {
                            metric.verdict = (metric.degradation ?? 0) > settings.maxWorse ? .worse : .inconclusive
                            reasons.append("\(label(values)): \(metric.name) \(AttributionText.short(b)) -> \(AttributionText.short(c)) "
                                           + "(\(signedPercent(metric.degradation)), \(Int(Bootstrap.confidence * 100))% CI up to \(signedPercent(high))): "
                                           + (metric.verdict == .worse ? "worse beyond" : "not shown to be within")
                                           + " \(AttributionText.percent(settings.maxWorse))")
                        }
                    } else {
                        metric.verdict = .undefined
                        reasons.append("\(label(values)): baseline \(metric.name) is \(AttributionText.short(b)): a relative bound needs a positive baseline")
                    }
                }
                metrics.append(metric)
            }
            segments.append(GateSegment(values: values, baselineRows: base.count, candidateRows: other.count, completionDrop: drop,
                                        completionPassed: completionPassed, metrics: metrics))
        }
        if judged == 0 {
            reasons.append("no quantile could be judged: each needs at least \(Int(GateSettings.minimumTailRows)) rows above it on both sides "
                           + "(p99: 1000 rows a segment)")
        }
        let baselineKeys = Set(baseline.segmentKeys)
        let newSegments = candidate.segmentKeys.enumerated()
            .filter { !baselineKeys.contains($0.element) && candidate.segmentRows($0.offset) > 0 }
            .map { TelemetryReader.segmentValues($0.element) }
        return GateReport(settings: settings, segmentColumns: columns, baseline: baselineSide, candidate: candidateSide,
                          segments: segments, newSegments: newSegments, reasons: reasons)
    }

    static func signedPercent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        return (value >= 0 ? "+" : "") + AttributionText.percent(value)
    }
}
