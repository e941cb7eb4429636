import NumaguardOutput

/// `attribute gate`'s report, as text and as JSON (kind `attribution_gate`).
public enum GateText {
    public static func render(_ report: GateReport) -> String {
        var text = "numaguard attribute gate\n"
        for (name, side) in [("baseline", report.baseline), ("candidate", report.candidate)] {
            text += "\(name): \(AttributionError.path(side.directory)): \(side.seriesFiles.count) series, \(side.telemetry.count) telemetry files; "
            text += "joined \(side.joined) of \(side.rows) rows (outside the series \(side.outside), without a value \(side.noValue))\n"
        }
        let settings = report.settings
        text += "bounds: each of \(settings.probabilities.map(GateMetric.name).joined(separator: ", ")) no more than "
        text += "\(AttributionText.percent(settings.maxWorse)) worse at the upper end of its \(Int(Bootstrap.confidence * 100))% bootstrap "
        text += "interval; completion (rows a segment) down no more than \(AttributionText.percent(settings.maxCompletionDrop))\n\n"
        var rows = [["segment", "rows", "completion"] + settings.probabilities.map(GateMetric.name)]
        for segment in report.segments {
            let name = report.segmentColumns.isEmpty ? "all rows" : AttributionText.segmentName(segment.values)
            let completion = segment.completionDrop.map { $0 > 0 ? "-" + AttributionText.percent($0) : "+" + AttributionText.percent(-$0) } ?? "-"
            rows.append([name, "\(segment.baselineRows) -> \(segment.candidateRows)", completion + (segment.completionPassed ? "" : " FAIL")]
                        + segment.metrics.map { metric in
                            guard let degradation = metric.degradation else { return metric.verdict.rawValue }
                            let interval = metric.interval.map { " [\(AttributionGate.signedPercent($0.low)), \(AttributionGate.signedPercent($0.high))]" } ?? ""
                            return AttributionGate.signedPercent(degradation) + interval + (metric.verdict == .pass ? "" : " " + metric.verdict.rawValue.uppercased())
                        })
        }
        text += AttributionText.table(rows)
        if !report.newSegments.isEmpty {
            text += "only in the candidate (not judged): \(report.newSegments.map(AttributionText.segmentName).joined(separator: ", "))\n"
        }
        text += "\n"
        if report.passed {
            text += "PASS: the candidate is no worse than the baseline within the bounds\n"
        } else {
            text += "FAIL:\n" + report.reasons.map { "  \($0)\n" }.joined()
        }
        return text
    }
}

public enum GateJSON {
    public static func render(_ report: GateReport) -> String {
        let settings = report.settings
        func side(_ side: GateSide) -> String {
            JSONText.compact([("directory", JSONText.quoted(side.directory)),
                              ("series", "[" + side.seriesFiles.map(JSONText.quoted).joined(separator: ",") + "]"),
                              ("telemetry", "[" + side.telemetry.map { JSONText.quoted($0.path) }.joined(separator: ",") + "]"),
                              ("time_units", "[" + side.telemetry.map { JSONText.optional($0.unit?.description) }.joined(separator: ",") + "]"),
                              ("rows", String(side.rows)), ("joined", String(side.joined)), ("outside", String(side.outside)),
                              ("no_value", String(side.noValue))])
        }
        let segments = report.segments.map { segment in
            JSONText.compact([
                ("segment", JSONText.compact(zip(report.segmentColumns, segment.values).map { ($0, JSONText.quoted($1)) })),
                ("baseline_rows", String(segment.baselineRows)), ("candidate_rows", String(segment.candidateRows)),
                ("completion_drop", AttributionJSON.number(segment.completionDrop)),
                ("completion_passed", segment.completionPassed ? "true" : "false"),
                ("metrics", JSONText.compact(segment.metrics.map { metric in
                    (metric.name, JSONText.compact([("baseline", AttributionJSON.number(metric.baseline)),
                                                    ("candidate", AttributionJSON.number(metric.candidate)),
                                                    ("degradation", AttributionJSON.number(metric.degradation)),
                                                    ("ci", AttributionJSON.interval(metric.interval)),
                                                    ("verdict", JSONText.quoted(metric.verdict.rawValue))]))
                })),
            ])
        }
        return JSONText.object(JSONText.header(.attributionGate) + [
            ("passed", report.passed ? "true" : "false"),
            ("reasons", "[" + report.reasons.map(JSONText.quoted).joined(separator: ",") + "]"),
            ("bounds", JSONText.compact([("metrics", "[" + settings.probabilities.map { JSONText.quoted(GateMetric.name($0)) }.joined(separator: ",") + "]"),
                                         ("max_worse", AttributionJSON.number(settings.maxWorse)),
                                         ("max_completion_drop", AttributionJSON.number(settings.maxCompletionDrop)),
                                         ("rule", JSONText.quoted("pass when the upper end of the bootstrap interval of candidate/baseline - 1 is within max_worse")),
                                         ("confidence", AttributionJSON.number(Bootstrap.confidence)),
                                         ("resamples", String(Bootstrap.resamples)), ("seed", String(Bootstrap.seed))])),
            ("quantiles", JSONText.quoted(Attribution.quantileDefinition)),
            ("segment_columns", "[" + report.segmentColumns.map(JSONText.quoted).joined(separator: ",") + "]"),
            ("baseline", side(report.baseline)), ("candidate", side(report.candidate)),
            ("segments", "[" + segments.joined(separator: ",") + "]"),
            ("new_segments", "[" + report.newSegments.map { "[" + $0.map(JSONText.quoted).joined(separator: ",") + "]" }.joined(separator: ",") + "]"),
        ])
    }
}
