import NumaguardCore
import NumaguardOutput

/// `attribute --plot`: one SVG a person opens in a browser. Regime bands behind everything
/// (one rectangle per run of samples in the same regime), the rates on the upper panel (each
/// scaled to its own maximum, printed in the legend), the value's p99 per window on the
/// lower panel with its own axis. Every text is XML-escaped; the size is fixed.
public enum TimelinePlot {
    static let width = 1100.0, height = 520.0
    static let left = 90.0, right = 20.0, top = 50.0
    static let ratesTop = 50.0, ratesHeight = 170.0, valueTop = 260.0, valueHeight = 200.0

    static let colors: [AttributionRegime: String] = [.stable: "#e8f5e9", .watch: "#fff8e1", .shock: "#ffebee", .safe: "#ede7f6"]

    static func n(_ value: Double) -> String { value.formatted(1) }

    public static func render(_ report: AttributionReport, valueName: String) -> String {
        let coverage = report.coverage
        guard let first = coverage.first, let last = coverage.last, last > first else { return "" }
        // Times as Double nanoseconds from here on: `last − first` can pass Int64.max.
        let start = Double(first)
        let span = Double(last) - start
        let plotWidth = width - left - right
        func x(_ time: Int64) -> Double { at(Double(time)) }
        func at(_ time: Double) -> Double { left + (time - start) / span * plotWidth }
        var svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
        svg += "font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        svg += "<text x=\"\(n(left))\" y=\"22\" font-size=\"15\">\(XML.text("numaguard attribute: \(valueName) against watch's regimes"))</text>\n"
        // Regime bands: consecutive samples in one regime drawn as one rectangle.
        var index = 0
        let samples = coverage.samples
        while index < samples.count {
            var end = index
            while end + 1 < samples.count, samples[end + 1].regime == samples[index].regime, coverage.starts[end + 1] == samples[end].end { end += 1 }
            let x0 = x(coverage.starts[index]), x1 = x(samples[end].end)
            svg += "<rect x=\"\(n(x0))\" y=\"\(n(top))\" width=\"\(n(max(x1 - x0, 0.5)))\" height=\"\(n(valueTop + valueHeight - top))\" "
            svg += "fill=\"\(colors[samples[index].regime] ?? "#fff")\"><title>\(samples[index].regime.name)</title></rect>\n"
            index = end + 1
        }
        // Legend for the bands.
        var legendX = left + 380
        for regime in AttributionRegime.allCases {
            svg += "<rect x=\"\(n(legendX))\" y=\"30\" width=\"12\" height=\"12\" fill=\"\(colors[regime] ?? "#fff")\" stroke=\"#999\"/>"
            svg += "<text x=\"\(n(legendX + 16))\" y=\"40\">\(regime.name)</text>\n"
            legendX += 80
        }
        // Rates, each scaled to its own maximum.
        let rates: [(String, String, (WatchSample) -> Double?)] = [
            ("hint faults/s", "#1565c0", { $0.hintFaultsPerSecond }), ("pages migrated/s", "#e65100", { $0.pagesMigratedPerSecond }),
        ]
        svg += "<text x=\"\(n(left - 8))\" y=\"\(n(ratesTop + 12))\" text-anchor=\"end\">rates</text>\n"
        for (position, (name, color, figure)) in rates.enumerated() {
            let maximum = samples.compactMap(figure).max() ?? 0
            var points: [String] = []
            for sample in samples {
                guard let value = figure(sample) else { continue }
                let y = ratesTop + ratesHeight - (maximum > 0 ? value / maximum : 0) * ratesHeight
                points.append("\(n(x(sample.end))),\(n(y))")
            }
            if !points.isEmpty {
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
            }
            svg += "<text x=\"\(n(width - right))\" y=\"\(n(ratesTop + 14 + Double(position) * 15))\" text-anchor=\"end\" fill=\"\(color)\">"
            svg += XML.text("\(name) (top = \(AttributionText.short(maximum)))") + "</text>\n"
        }
        // The value's p99 per window.
        let values = report.windowP99.compactMap { $0 }
        let low = min(values.min() ?? 0, 0), high = values.max() ?? 1
        let range = high > low ? high - low : 1
        var path: [String] = []
        for (window, value) in report.windowP99.enumerated() {
            guard let value else { continue }
            let time = start + (Double(window) + 0.5) * report.windowSeconds * 1e9
            path.append("\(n(at(time))),\(n(valueTop + valueHeight - (value - low) / range * valueHeight))")
        }
        if !path.isEmpty {
            svg += "<polyline fill=\"none\" stroke=\"#b71c1c\" stroke-width=\"1.5\" points=\"\(path.joined(separator: " "))\"/>\n"
        }
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(valueTop))\" x2=\"\(n(left))\" y2=\"\(n(valueTop + valueHeight))\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(n(left - 6))\" y=\"\(n(valueTop + 4))\" text-anchor=\"end\">\(XML.text(AttributionText.short(high)))</text>\n"
        svg += "<text x=\"\(n(left - 6))\" y=\"\(n(valueTop + valueHeight))\" text-anchor=\"end\">\(XML.text(AttributionText.short(low)))</text>\n"
        svg += "<text x=\"\(n(width - right))\" y=\"\(n(valueTop + 14))\" text-anchor=\"end\" fill=\"#b71c1c\">"
        svg += XML.text("\(valueName): p99 per \(AttributionText.short(report.windowSeconds)) s window") + "</text>\n"
        // Time axis: start, middle, end (UTC).
        let axisY = valueTop + valueHeight
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(axisY))\" x2=\"\(n(width - right))\" y2=\"\(n(axisY))\" stroke=\"#333\"/>\n"
        for (fraction, anchor) in [(0.0, "start"), (0.5, "middle"), (1.0, "end")] {
            let time = start + span * fraction
            svg += "<text x=\"\(n(at(time)))\" y=\"\(n(axisY + 18))\" text-anchor=\"\(anchor)\">"
            svg += XML.text(UTCTime.text(time / 1e9, milliseconds: true)) + "</text>\n"
        }
        return svg + "</svg>\n"
    }
}
