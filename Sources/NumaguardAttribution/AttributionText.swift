import NumaguardCore
import NumaguardOutput

/// `attribute`'s text report: what was joined, the table by regime, the uplifts with their
/// intervals in words, the fit with its verdict.
public enum AttributionText {
    /// Values as a person reads them: a few significant digits, whatever the unit.
    static func short(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        let magnitude = abs(value)
        return value.formatted(magnitude >= 1000 ? 0 : magnitude >= 10 ? 1 : magnitude >= 0.1 ? 3 : 6)
    }

    static func percent(_ share: Double?) -> String {
        share.map { ($0 * 100).formatted(1) + "%" } ?? "-"
    }

    static func signed(_ value: Double) -> String { (value > 0 ? "+" : "") + short(value) }

    static func table(_ rows: [[String]]) -> String {
        let widths = rows.reduce(into: [Int](repeating: 0, count: rows.first?.count ?? 0)) { widths, row in
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == 0 ? cell + String(repeating: " ", count: widths[index] - cell.count)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// A segment's values as the text reports show them: each escaped and bounded
    /// (UntrustedText), since they are the telemetry file's text.
    static func segmentName(_ values: [String]) -> String {
        values.map { UntrustedText.escaped($0) }.joined(separator: "/")
    }

    /// `SHOCK p99: 151 vs 110: +41 [+38, +44] (+37.3%)`, or the same ending "within noise".
    static func line(_ uplift: Uplift) -> String {
        let name = uplift.probability == 0.95 ? "p95" : "p99"
        var text = "\(uplift.regime.name) \(name): \(short(uplift.value)) vs \(short(uplift.stable)): \(signed(uplift.difference))"
        if let interval = uplift.interval { text += " [\(signed(interval.low)), \(signed(interval.high))]" }
        if let ratio = uplift.ratio { text += " (\(ratio >= 0 ? "+" : "")\(percent(ratio)))" }
        return text + (uplift.significant ? "\n" : ": within noise (the interval holds 0)\n")
    }

    public static func render(_ report: AttributionReport) -> String {
        let coverage = report.coverage
        var text = "numaguard attribute\n"
        text += "series: \(AttributionError.paths(report.seriesFiles)): \(coverage.samples.count) samples, "
        text += "\(coverage.first.map { UTCTime.text(Double($0) / 1e9, milliseconds: true) } ?? "-") to "
        text += "\(coverage.last.map { UTCTime.text(Double($0) / 1e9, milliseconds: true) } ?? "-") "
        text += "(\(coverage.coveredSeconds.formatted(1)) s covered; duplicates \(coverage.duplicates), overlaps \(coverage.overlaps), "
        text += "gaps \(coverage.gaps))\n"
        for file in report.telemetry {
            text += "telemetry: \(AttributionError.path(file.path)): \(file.format.rawValue), \(file.rows) rows; "
            text += "time column `\(UntrustedText.escaped(file.timeColumn))`: \(file.unit?.description ?? "no rows"); "
            text += "value column `\(UntrustedText.escaped(file.valueColumn))`\n"
        }
        text += "joined \(report.joined) of \(report.rows) rows; outside the series \(report.before + report.after + report.inGaps) "
        text += "(before \(report.before), after \(report.after), in gaps \(report.inGaps)); without a value \(report.noValue)"
        if report.clockOffset != 0 { text += "; clock offset \((Double(report.clockOffset) / 1e9).formatted(6)) s added" }
        text += "\n\n"
        var rows = [["regime", "seconds", "rows", "mean", "p50", "p95", "p99", "worst 1%", "C_numa"]]
        for regime in AttributionRegime.allCases {
            let stats = report.regimes[regime.rawValue]
            rows.append([regime.name, report.regimeSeconds[regime.rawValue].formatted(1), String(stats.count), short(stats.mean),
                         short(stats.p50), short(stats.p95), short(stats.p99), percent(stats.worstShare), short(report.cNuma[regime.rawValue])])
            for segment in report.segments[regime.rawValue] {
                let s = segment.stats
                rows.append(["  " + segmentName(segment.values), "", String(s.count), short(s.mean), short(s.p50),
                             short(s.p95), short(s.p99), percent(s.worstShare), ""])
            }
        }
        text += table(rows)
        text += "worst 1%: \(report.worstRows) rows at or above \(short(report.worstThreshold)); "
        text += "\(percent(report.worstOutsideStable)) of them outside STABLE\n"
        text += "quantiles: \(Attribution.quantileDefinition)\n\n"
        text += "uplift over STABLE (\(Int(Bootstrap.confidence * 100))% percentile bootstrap, \(Bootstrap.resamples) resamples, "
        text += "seed 0x\(String(Bootstrap.seed, radix: 16)), at most \(Bootstrap.maximumResampleRows) rows a resample):\n"
        if report.uplifts.isEmpty { text += "  none: STABLE or every other regime has no rows\n" }
        for uplift in report.uplifts { text += "  " + line(uplift) }
        let bySegment = report.segments.joined().filter { !$0.uplifts.isEmpty }
        if !bySegment.isEmpty {
            text += "by segment, over the segment's own STABLE (the \(Bootstrap.maximumSegmentIntervals) segments with the most rows; "
            text += "at most \(Bootstrap.maximumSegmentResampleRows) rows a resample):\n"
            for segment in bySegment {
                for uplift in segment.uplifts { text += "  \(segmentName(segment.values)) " + line(uplift) }
            }
        }
        text += "\n"
        if let fit = report.fit {
            text += "fit over \(fit.rows) rows in \(fit.samples) samples: value = "
            text += fit.terms.map { term in
                (term.name == "intercept" ? "" : "") + "\(short(term.coefficient)) (±\(short(term.standardError)))"
                    + (term.name == "intercept" ? "" : "·\(term.name)")
            }.joined(separator: " + ") + "\n"
            if !fit.dropped.isEmpty { text += "  not fitted: \(fit.dropped.joined(separator: ", "))\n" }
            text += "  \(fit.verdict)\n"
        } else {
            text += "fit: none (fewer than 3 rows in samples with both hint_faults_per_s and pages_migrated_per_s)\n"
        }
        return text
    }
}
