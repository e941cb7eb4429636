import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import XCTest

/// `numaguard attribute` and `attribute gate` end to end, over the watch_sample series
/// replayed from the counters recorded in the 6.1 guest (Tests/Fixtures/attribution): exit
/// codes, both formats, the plot, and refusals that name file:line:column.
final class AttributeCommandTests: XCTestCase {
    private var directory: URL!
    private let series = Command.fixture("attribution/series-6.1-2node.jsonl")

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-attr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    private func write(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: file(name)).deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
        return file(name)
    }

    /// The series' samples as (start, end, regime) in epoch seconds.
    private func samples() throws -> [(Double, Double, String)] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return try String(contentsOfFile: series, encoding: .utf8).split(separator: "\n").map { line in
            let object = try Command.json(String(line))
            let end = try XCTUnwrap(formatter.date(from: try XCTUnwrap(object["time"] as? String))).timeIntervalSince1970
            return (end - (try XCTUnwrap(object["interval_s"] as? Double)), end, try XCTUnwrap(object["regime"] as? String))
        }
    }

    /// Rows every 3 ms over the series (epoch ms), value 100 + exponential (mean 10) from a
    /// seeded LCG, plus `planted` in SHOCK samples; two venues alternating.
    private func telemetry(planted: Double, seed: UInt64) throws -> String {
        let samples = try samples()
        var state = seed
        var text = "ts,latency_us,venue\n"
        var time = samples[0].0 + 0.0005
        var row = 0
        while time <= samples[samples.count - 1].1 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let u = (Double(state >> 11) + 0.5) / Double(1 << 53)
            var value = 100 - 10 * log(u)
            if samples.first(where: { $0.0 < time && time <= $0.1 })?.2 == "shock" { value += planted }
            text += "\(Int((time * 1000).rounded(.down))),\(String(format: "%.3f", value)),\(row % 2 == 0 ? "XLON" : "XNAS")\n"
            time += 0.003
            row += 1
        }
        return text
    }

    func testPlantedShockUpliftTextJSONAndPlot() throws {
        let csv = try write("t.csv", try telemetry(planted: 40, seed: 1))
        let text = try Command.numaguard(["attribute", "--series", series, "--telemetry", csv, "--value-column", "latency_us",
                                          "--plot", file("plot.svg")])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("time column `ts`: epoch milliseconds; value column `latency_us`"), text.stdout)
        let shock = try XCTUnwrap(text.stdout.split(separator: "\n").first { $0.hasPrefix("  SHOCK p95:") })
        XCTAssertFalse(shock.contains("within noise"), String(shock))
        let svg = try String(contentsOfFile: file("plot.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<?xml") && svg.contains("<title>SHOCK</title>") && svg.contains("watch&apos;s regimes"))
        XCTAssertNoThrow(try XMLDocument(data: Data(svg.utf8)))

        let json = try Command.numaguard(["attribute", "--series", series, "--telemetry", csv, "--value-column", "latency_us", "--format", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let document = try Command.json(json.stdout)
        XCTAssertEqual(document["format_version"] as? Int, 1)
        XCTAssertEqual(document["kind"] as? String, "attribution")
        let regimes = try XCTUnwrap(document["regimes"] as? [String: Any])
        XCTAssertEqual(Set(regimes.keys), ["stable", "watch", "shock", "safe"])
        for name in ["stable", "shock"] {
            let regime = try XCTUnwrap(regimes[name] as? [String: Any])
            for key in ["count", "p50", "p95", "p99"] { XCTAssertNotNil(regime[key] as? Double, "\(name).\(key)") }
        }
        let uplift = try XCTUnwrap((document["uplift"] as? [String: Any])?["shock"] as? [String: Any])
        let p95 = try XCTUnwrap(uplift["p95"] as? [String: Any])
        let ci = try XCTUnwrap(p95["ci"] as? [Double])
        XCTAssertTrue(ci[0] <= 40 && 40 <= ci[1], "\(ci)")
    }

    func testGatePassesTheCleanCandidateAndFailsTheReverse() throws {
        try write("planted/series.jsonl", try String(contentsOfFile: series, encoding: .utf8))
        try write("planted/orders.csv", try telemetry(planted: 40, seed: 2))
        try write("clean/series.jsonl", try String(contentsOfFile: series, encoding: .utf8))
        try write("clean/orders.csv", try telemetry(planted: 0, seed: 3))
        try write("clean/notes.txt", "ignored")
        let pass = try Command.numaguard(["attribute", "gate", "--baseline", file("planted"), "--candidate", file("clean"),
                                          "--value-column", "latency_us", "--segment", "venue"])
        XCTAssertEqual(pass.status, 0, pass.stdout + pass.stderr)
        XCTAssertTrue(pass.stdout.hasSuffix("PASS: the candidate is no worse than the baseline within the bounds\n"), pass.stdout)
        let fail = try Command.numaguard(["attribute", "gate", "--baseline", file("clean"), "--candidate", file("planted"),
                                          "--value-column", "latency_us", "--segment", "venue", "--format", "json"])
        XCTAssertEqual(fail.status, 1, fail.stdout + fail.stderr)
        let document = try Command.json(fail.stdout)
        XCTAssertEqual(document["kind"] as? String, "attribution_gate")
        XCTAssertEqual(document["passed"] as? Bool, false)
        let reasons = try XCTUnwrap(document["reasons"] as? [String])
        XCTAssertTrue(reasons.contains { $0.hasPrefix("venue=XLON: p99 ") && $0.hasSuffix("worse beyond 5.0%") }, "\(reasons)")

        let empty = try Command.numaguard(["attribute", "gate", "--baseline", file("nothing"), "--candidate", file("clean"), "--value-column", "latency_us"])
        XCTAssertEqual(empty.status, 66, empty.stderr)
        XCTAssertTrue(empty.stderr.contains(file("nothing")), empty.stderr)
        let metric = try Command.numaguard(["attribute", "gate", "--baseline", file("clean"), "--candidate", file("clean"), "--metric", "q99"])
        XCTAssertEqual(metric.status, 64, metric.stderr)
    }

    func testBadInputNamesFileLineAndColumn() throws {
        let cases: [(String, String, Int32, String)] = [
            ("value.csv", "ts,latency_us\n1796226610000,12\n1796226611000,abc\n", 65, "value.csv:3:15: column \"latency_us\": \"abc\" is not a number"),
            ("time.csv", "ts,latency_us\n1796226610000,12\n2026-12-02T15:50:1,13\n", 65, "time.csv:3:18: column \"ts\": \"2026-12-02T15:50:1\" is not an RFC 3339 time"),
            ("mixed.csv", "ts,latency_us\n1796226610000,12\n1796226611000000,13\n", 65,
             "mixed.csv:3:1: column \"ts\": \"1796226611000000\" reads as epoch microseconds, but the column's times are epoch milliseconds (decided by line 2)"),
            ("column.csv", "time,lat\n1796226610000,12\n", 65, "column.csv:1: no column \"latency_us\" for the value; the header has \"time\", \"lat\""),
            ("short.csv", "ts,latency_us\n1796226610000\n", 65, "short.csv:2:14: the row has 1 fields"),
            ("quote.csv", "ts,latency_us\n1796226610000,1\"2\n", 65, "quote.csv:2:16: a quote inside an unquoted field"),
            ("rows.jsonl", "{\"ts\":\"2026-12-02T15:50:10.5Z\",\"latency_us\":12}\n{\"ts\":\"2026-12-02T15:50:11Z\",\"latency_us\":\"x1\"}\n", 65,
             "rows.jsonl:2:43: member \"latency_us\": \"x1\" is not a number"),
            ("late.csv", "ts,latency_us\n1696226610000,12\n", 65, "does not overlap the series"),
        ]
        for (name, contents, status, message) in cases {
            let path = try write(name, contents)
            let result = try Command.numaguard(["attribute", "--series", series, "--telemetry", path, "--value-column", "latency_us"])
            XCTAssertEqual(result.status, status, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(name): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", name)
        }
    }

    func testSeriesRefusalsMissingFilesUsageAndPlotOutput() throws {
        let csv = try write("t.csv", "ts,latency_us\n1796226610000,12\n")
        let event = try write("event.jsonl", "{\"format_version\":1,\"kind\":\"watch_event\",\"time\":\"2026-12-02T15:50:11Z\"}\n")
        var result = try Command.numaguard(["attribute", "--series", event, "--telemetry", csv, "--value-column", "latency_us"])
        XCTAssertEqual(result.status, 65)
        XCTAssertTrue(result.stderr.contains("event.jsonl:1:1: kind \"watch_event\" is not a watch_sample"), result.stderr)
        let future = try write("v2.jsonl", "{\"format_version\":2,\"kind\":\"watch_sample\",\"time\":\"2026-12-02T15:50:11Z\",\"interval_s\":1,\"regime\":\"stable\",\"figures\":{}}\n")
        result = try Command.numaguard(["attribute", "--series", future, "--telemetry", csv, "--value-column", "latency_us"])
        XCTAssertEqual(result.status, 65)
        XCTAssertTrue(result.stderr.contains("v2.jsonl:1:1: format_version 2 is not one this numaguard reads"), result.stderr)
        let regime = try write("regime.jsonl", "{\"format_version\":1,\"kind\":\"watch_sample\",\"time\":\"2026-12-02T15:50:11Z\",\"interval_s\":1,\"regime\":\"calm\",\"figures\":{}}\n")
        result = try Command.numaguard(["attribute", "--series", regime, "--telemetry", csv, "--value-column", "latency_us"])
        XCTAssertEqual(result.status, 65)
        XCTAssertTrue(result.stderr.contains("regime.jsonl:1:97: regime is not one of stable, watch, shock, safe"), result.stderr)

        result = try Command.numaguard(["attribute", "--series", series, "--telemetry", file("absent.csv")])
        XCTAssertEqual(result.status, 66)
        XCTAssertTrue(result.stderr.contains("cannot read \(file("absent.csv")): "), result.stderr)
        result = try Command.numaguard(["attribute", "--telemetry", csv])
        XCTAssertEqual(result.status, 64)
        result = try Command.numaguard(["attribute", "--series", series, "--telemetry", csv, "--clock-offset", "5 parsecs"])
        XCTAssertEqual(result.status, 64)
        result = try Command.numaguard(["attribute", "--series", series, "--telemetry", csv, "--value-column", "latency_us",
                                        "--plot", file("no/such/dir/p.svg")])
        XCTAssertEqual(result.status, 73, result.stderr)
        XCTAssertEqual(result.stdout, "", "no report when the plot cannot be written")
    }

    func testClockOffsetMovesRowsIntoTheSeries() throws {
        // One row 1 h after the series: outside; with --clock-offset -1h it joins.
        let csv = try write("later.csv", "ts,latency_us\n1796230210000,12\n")
        let outside = try Command.numaguard(["attribute", "--series", series, "--telemetry", csv, "--value-column", "latency_us"])
        XCTAssertEqual(outside.status, 65, outside.stderr)
        let joined = try Command.numaguard(["attribute", "--series", series, "--telemetry", csv, "--value-column", "latency_us",
                                            "--clock-offset=-1h", "--format", "json"])
        XCTAssertEqual(joined.status, 0, joined.stderr)
        let telemetry = try XCTUnwrap(try Command.json(joined.stdout)["telemetry"] as? [String: Any])
        XCTAssertEqual(telemetry["joined"] as? Int, 1)
        XCTAssertEqual(telemetry["clock_offset_s"] as? Int, -3600)
    }

    func testTimesPastInt64AreRefusedWithoutATrap() throws {
        // One sample in 1700, one in 2250 and one covering the row: the span passed Int64 and
        // trapped (SIGILL, status 132) before the range check.
        func line(_ time: String) -> String {
            "{\"format_version\":1,\"kind\":\"watch_sample\",\"time\":\"\(time)\",\"interval_s\":1,\"regime\":\"stable\",\"figures\":{}}\n"
        }
        let wide = try write("wide.jsonl", line("1700-01-01T00:00:00Z") + line("2250-01-01T00:00:00Z") + line("2026-12-02T15:50:10.5Z"))
        let csv = try write("mid.csv", "ts,latency_us\n2026-12-02T15:50:10Z,12\n")
        var result = try Command.numaguard(["attribute", "--series", wide, "--telemetry", csv, "--value-column", "latency_us", "--plot", file("p.svg")])
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertTrue(result.stderr.contains("wide.jsonl:1:51: \"1700-01-01T00:00:00Z\" is before 1970: times are read from 1970-01-01T00:00:00Z to 2262-01-01T00:00:00Z"),
                      result.stderr)
        // A 19-digit epoch past Int64.max: refused at its place, not wrapped to "before".
        let epoch = try write("epoch.csv", "ts,latency_us\n1796226610000000000,12\n9999999999999999999,13\n")
        result = try Command.numaguard(["attribute", "--series", series, "--telemetry", epoch, "--value-column", "latency_us"])
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertTrue(result.stderr.contains("epoch.csv:3:1: column \"ts\": \"9999999999999999999\" is past 2262"), result.stderr)
        XCTAssertEqual(result.stdout, "")
    }

    func testFileTextReachesTheTerminalEscaped() throws {
        let escape = "\u{1B}]0;owned\u{7}\u{202E}"
        let csv = try write("venues.csv", "ts,latency_us,venue\n1796226610000,12,X\(escape)\n1796226611000,13,\"Y\u{1B}[2J\"\n")
        var result = try Command.numaguard(["attribute", "--series", series, "--telemetry", csv, "--value-column", "latency_us", "--segment", "venue"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x7 || $0.value == 0x202E }, result.stdout)
        XCTAssertTrue(result.stdout.contains("X\\x1b]0;owned\\x07\\u{202e}") && result.stdout.contains("Y\\x1b[2J"), result.stdout)
        // A time that does not parse, in a file whose name came from a gate directory's listing.
        let name = "bad\u{1B}[2J.csv"
        try write("gate/base/s.jsonl", try String(contentsOfFile: series, encoding: .utf8))
        try write("gate/base/" + name, "ts,latency_us\n1796226610000\(escape),12\n")
        result = try Command.numaguard(["attribute", "gate", "--baseline", file("gate/base"), "--candidate", file("gate/base"),
                                        "--value-column", "latency_us"])
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertFalse(result.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x7 || $0.value == 0x202E }, result.stderr)
        XCTAssertTrue(result.stderr.contains("bad\\x1b[2J.csv:2:14: column \"ts\": \"1796226610000\\x1b]0;owned\\x07\\u{202e}\""), result.stderr)
    }

    func testUnitSeparatorInASegmentAndPlotToStandardOutputAreRefused() throws {
        let csv = try write("us.csv", "ts,latency_us,venue\n1796226610000,12,\"X\u{1F}Y\"\n")
        var result = try Command.numaguard(["attribute", "--series", series, "--telemetry", csv, "--value-column", "latency_us", "--segment", "venue"])
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertTrue(result.stderr.contains("us.csv:2:20: segment \"venue\": the value holds U+001F"), result.stderr)
        let plain = try write("plain.csv", "ts,latency_us\n1796226610000,12\n")
        result = try Command.numaguard(["attribute", "--series", series, "--telemetry", plain, "--value-column", "latency_us", "--plot", "-"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertEqual(result.stdout, "", "neither the SVG nor the report")
        XCTAssertTrue(result.stderr.contains("--plot -: the report is written to standard output"), result.stderr)
    }
}
