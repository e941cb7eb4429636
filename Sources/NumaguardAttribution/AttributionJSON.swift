import NumaguardCore
import NumaguardOutput

/// `attribute --format json` (kind `attribution`, DocumentKind): written by hand through
/// JSONText like watch's events, so the layout is what this file says, member by member.
public enum AttributionJSON {
    public static func render(_ report: AttributionReport) -> String {
        JSONText.object(JSONText.header(.attribution) + members(report))
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func time(_ nanoseconds: Int64?) -> String {
        nanoseconds.map { JSONText.quoted(UTCTime.text(Double($0) / 1e9, milliseconds: true)) } ?? "null"
    }

    static func interval(_ interval: (low: Double, high: Double)?) -> String {
        interval.map { "[\(number($0.low)), \(number($0.high))]" } ?? "null"
    }

    static func stats(_ stats: GroupStats, extra: [(String, String)] = []) -> String {
        JSONText.compact([("count", String(stats.count)), ("mean", number(stats.mean)), ("p50", number(stats.p50)),
                          ("p95", number(stats.p95)), ("p99", number(stats.p99)), ("worst_share", number(stats.worstShare))] + extra)
    }

    /// One regime's (or one segment's) uplifts: `{"p95": {...}, "p99": {...}}`.
    static func uplifts(_ entries: [Uplift]) -> String {
        var members: [(String, String)] = []
        for entry in entries {
            let fields: [(String, String)] = [
                ("stable", number(entry.stable)), ("regime", number(entry.value)), ("difference", number(entry.difference)),
                ("ci", interval(entry.interval)), ("ratio", number(entry.ratio)), ("ratio_ci", interval(entry.ratioInterval)),
                ("significant", entry.significant ? "true" : "false"),
            ]
            members.append((entry.probability == 0.95 ? "p95" : "p99", JSONText.compact(fields)))
        }
        return JSONText.compact(members)
    }

    static func members(_ report: AttributionReport) -> [(String, String)] {
        let coverage = report.coverage
        let series = JSONText.compact([
            ("files", "[" + report.seriesFiles.map(JSONText.quoted).joined(separator: ",") + "]"),
            ("samples", String(coverage.samples.count)), ("start", time(coverage.first)), ("end", time(coverage.last)),
            ("covered_s", number(coverage.coveredSeconds)), ("duplicates", String(coverage.duplicates)),
            ("overlaps", String(coverage.overlaps)), ("gaps", String(coverage.gaps)),
            ("regime_s", JSONText.compact(AttributionRegime.allCases.map { ($0.key, number(report.regimeSeconds[$0.rawValue])) })),
        ])
        let files = report.telemetry.map { file in
            JSONText.compact([("path", JSONText.quoted(file.path)), ("format", JSONText.quoted(file.format.rawValue)),
                              ("time_column", JSONText.quoted(file.timeColumn)), ("time_unit", JSONText.optional(file.unit?.description)),
                              ("value_column", JSONText.quoted(file.valueColumn)), ("rows", String(file.rows))])
        }
        let telemetry = JSONText.compact([
            ("files", "[" + files.joined(separator: ",") + "]"), ("rows", String(report.rows)), ("joined", String(report.joined)),
            ("outside", JSONText.compact([("before", String(report.before)), ("after", String(report.after)), ("gaps", String(report.inGaps))])),
            ("no_value", String(report.noValue)), ("clock_offset_s", number(Double(report.clockOffset) / 1e9)),
            ("segment_columns", "[" + report.segmentColumns.map(JSONText.quoted).joined(separator: ",") + "]"),
        ])
        let regimes = JSONText.compact(AttributionRegime.allCases.map { regime in
            var extra = [("c_numa_mean", number(report.cNuma[regime.rawValue]))]
            if !report.segmentColumns.isEmpty {
                let segments = report.segments[regime.rawValue].map { segment in
                    let values = JSONText.compact(zip(report.segmentColumns, segment.values).map { ($0, JSONText.quoted($1)) })
                    return stats(segment.stats, extra: [("segment", values)] + (segment.uplifts.isEmpty ? [] : [("uplift", uplifts(segment.uplifts))]))
                }
                extra.append(("segments", "[" + segments.joined(separator: ",") + "]"))
            }
            return (regime.key, stats(report.regimes[regime.rawValue], extra: extra))
        })
        let worst = JSONText.compact([("threshold", number(report.worstThreshold)), ("rows", String(report.worstRows)),
                                      ("outside_stable", number(report.worstOutsideStable)),
                                      ("definition", JSONText.quoted(Attribution.worstDefinition))])
        var uplift: [(String, String)] = []
        for regime in AttributionRegime.allCases.dropFirst() {
            let entries = report.uplifts.filter { $0.regime == regime }
            uplift.append((regime.key, entries.isEmpty ? "null" : uplifts(entries)))
        }
        let bootstrap = JSONText.compact([("resamples", String(Bootstrap.resamples)), ("seed", String(Bootstrap.seed)),
                                          ("confidence", number(Bootstrap.confidence)),
                                          ("max_resample_rows", String(Bootstrap.maximumResampleRows)),
                                          ("segments_with_intervals", String(Bootstrap.maximumSegmentIntervals)),
                                          ("segment_max_resample_rows", String(Bootstrap.maximumSegmentResampleRows)),
                                          ("method", JSONText.quoted("percentile bootstrap; groups over max_resample_rows resampled m out of n, "
                                                                      + "spread scaled by sqrt(m/n)"))])
        let fit: String = report.fit.map { fit in
            JSONText.compact([
                ("model", JSONText.quoted("value = intercept + b1*hint_faults_per_s + b2*pages_migrated_per_s (OLS)")),
                ("rows", String(fit.rows)), ("samples", String(fit.samples)), ("r_squared", number(fit.rSquared)),
                ("terms", JSONText.compact(fit.terms.map { ($0.name, JSONText.compact([("coefficient", number($0.coefficient)),
                                                                                        ("standard_error", number($0.standardError))])) })),
                ("dropped", "[" + fit.dropped.map(JSONText.quoted).joined(separator: ",") + "]"),
                ("verdict", JSONText.quoted(fit.verdict)),
            ])
        } ?? "null"
        return [("series", series), ("telemetry", telemetry), ("quantiles", JSONText.quoted(Attribution.quantileDefinition)),
                ("regimes", regimes), ("worst", worst), ("uplift", JSONText.compact(uplift)), ("bootstrap", bootstrap), ("fit", fit)]
    }
}
