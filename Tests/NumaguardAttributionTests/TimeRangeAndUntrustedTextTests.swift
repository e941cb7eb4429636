@testable import NumaguardAttribution
import NumaguardCore
import NumaguardOutput
import XCTest

/// The review's findings: times outside what Int64 nanoseconds hold (a trap in the span
/// computations, a 19-digit epoch wrapped to "before"), file text reaching the terminal raw,
/// U+001F in a segment value, and the joined-row cap.
final class TimeRangeAndUntrustedTextTests: XCTestCase {
    private let second: Int64 = 1_000_000_000

    private func timeError(_ text: String) -> FieldError? {
        var column = TimeColumn()
        let bytes = Array(text.utf8)
        do {
            _ = try bytes.withUnsafeBufferPointer { (buffer) throws(FieldError) in try column.parse(buffer, line: 2) }
            return nil
        } catch {
            return error
        }
    }

    private func read(_ text: String, format: TelemetryFormat, segments: [String] = []) -> Result<[TelemetryRow], AttributionError> {
        var reader = TelemetryReader(file: "f", format: format, columns: TelemetryColumns(value: "v", segments: segments))
        var rows: [TelemetryRow] = []
        do {
            try Array(text.utf8).withUnsafeBufferPointer { (buffer) throws(AttributionError) in
                try reader.feed(buffer) { row in rows.append(row) }
            }
            try reader.finish { row in rows.append(row) }
            return .success(rows)
        } catch {
            return .failure(error)
        }
    }

    func testTimesOutside1970To2262AreRefused() {
        XCTAssertEqual(timeError("1700-01-01T00:00:00Z")?.message.contains("is before 1970"), true)
        XCTAssertEqual(timeError("1969-12-31T23:59:59.999Z")?.message.contains("is before 1970"), true)
        XCTAssertEqual(timeError("1970-01-01T00:30:00+01:00")?.message.contains("is before 1970"), true, "the zone is applied first")
        XCTAssertEqual(timeError("2262-04-11T00:00:00Z")?.message.contains("is past 2262"), true)
        XCTAssertEqual(timeError("9999-12-31T23:59:59Z")?.message.contains("is past 2262"), true)
        XCTAssertNil(timeError("1970-01-01T00:00:00Z"))
        XCTAssertNil(timeError("2261-12-31T23:59:59.999999999Z"))
        // Epochs: 10 digits of seconds reach 2286, 13 of milliseconds too.
        XCTAssertEqual(timeError("9999999999")?.message.contains("is past 2262"), true)
        XCTAssertEqual(timeError("9999999999999")?.message.contains("is past 2262"), true)
        XCTAssertNil(timeError("9214646399"))
    }

    func testNineteenDigitEpochPastInt64IsRefusedNotWrapped() {
        for text in ["9223372036854775808", "9999999999999999999", "9223372036854775807", "9214646400000000000"] {
            XCTAssertEqual(timeError(text)?.message, "\"\(text)\" is past 2262: times are read from \(TimeColumn.range)", text)
        }
        XCTAssertNil(timeError("9214646399999999999"))
        // In a file: refused at the field's line and column, never counted as "before".
        guard case let .failure(error) = read("v,ts\n1,9999999999999999999\n", format: .csv) else { return XCTFail("accepted") }
        XCTAssertEqual(error.place, "f:2:3")
        XCTAssertTrue(error.message.contains("column \"ts\": \"9999999999999999999\" is past 2262"), error.message)
    }

    func testSeriesFromEitherEndOfTimeDoNotTrap() throws {
        // What the library accepts from a caller is not bounded by TimeColumn: a span past
        // Int64.max is computed in Double, never trapped on.
        let coverage = Coverage([WatchSample(end: -9_000_000_000 * second, interval: 86_400 * second, regime: .stable),
                                 WatchSample(end: 9_000_000_000 * second, interval: 86_400 * second, regime: .shock),
                                 WatchSample(end: .max, interval: second, regime: .safe)])
        var builder = AttributionBuilder(coverage: coverage, clockOffset: 3600 * second, plot: true)
        for (time, value) in [(Int64.max, 1.0), (9_000_000_000 * second - 7200 * second, 2), (.min, 3)] {
            try builder.add(TelemetryRow(time: time, value: value, segment: nil, line: 1), file: "f")
        }
        XCTAssertEqual([builder.joined, builder.before, builder.after], [2, 1, 0], "Int64.max + 1 h saturates inside the last sample")
        let report = try Attribution.report(builder, seriesFiles: ["s"])
        XCTAssertGreaterThan(report.windowSeconds, 0)
        XCTAssertTrue(AttributionText.render(report).contains("joined 2 of 3 rows"))
        XCTAssertTrue(TimelinePlot.render(report, valueName: "v").hasSuffix("</svg>\n"))
    }

    func testUntrustedTextEscapesControlsBidiAndIsBounded() {
        XCTAssertEqual(UntrustedText.escaped("a\u{1B}[31mb\\c\u{202E}d\u{85}\u{7F}\u{2028}\u{2066}\u{0}é"),
                       "a\\x1b[31mb\\x5cc\\u{202e}d\\x85\\x7f\\u{2028}\\u{2066}\\x00é")
        XCTAssertEqual(UntrustedText.escaped(String(repeating: "x", count: 240)), String(repeating: "x", count: 240))
        XCTAssertEqual(UntrustedText.escaped(String(repeating: "x", count: 241)), String(repeating: "x", count: 240) + "…")
        XCTAssertEqual(UntrustedText.quoted("\u{1B}", limit: 4), "\"\\x1b\"")
    }

    func testFileTextInMessagesAndReportsIsEscaped() throws {
        let escape = "\u{1B}]0;owned\u{7}\u{202E}"
        // A time and a value that do not parse, and a series line's kind.
        let escaped = "\\x1b]0;owned\\x07\\u{202e}"
        for (text, format, shown) in [("ts,v\n2026-12-02T15:50:01\(escape),1\n", TelemetryFormat.csv, escaped),
                                      ("ts,v\n1796226610000,\(escape)\n", .csv, escaped),
                                      // The raw spelling is quoted, its backslash escaped too.
                                      ("{\"ts\":1796226610000,\"v\":\"\\u001b[2J\"}\n", .jsonLines, "\"\\x5cu001b[2J\" is not a number")] {
            guard case let .failure(error) = read(text, format: format) else { return XCTFail("accepted \(text.debugDescription)") }
            XCTAssertFalse(error.description.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x7 || $0.value == 0x202E }, error.description)
            XCTAssertTrue(error.description.contains(shown), error.description)
        }
        // A header's names, listed when the value column is not among them: escaped, at most 32.
        let header = "ts,\(escape)," + (1...40).map { "c\($0)" }.joined(separator: ",") + "\n"
        guard case let .failure(missing) = read(header, format: .csv) else { return XCTFail("accepted") }
        XCTAssertTrue(missing.message.hasSuffix("the header has \"ts\", \"\(escaped)\", \"c1\", " + (2...30).map { "\"c\($0)\"" }.joined(separator: ", ")
                                                + ", ... (42 columns)"), missing.message)
        let line = Array("{\"format_version\":1,\"kind\":\"\\u001b[2J\\u202e\",\"time\":\"2026-12-02T15:50:01Z\",\"interval_s\":1,\"regime\":\"stable\"}".utf8)
        XCTAssertThrowsError(try line.withUnsafeBufferPointer { (buffer) throws(AttributionError) in
            try WatchSeriesReader.sample(buffer, line: 1, file: "s")
        }) { error in
            XCTAssertTrue("\(error)".contains("kind \"\\x1b[2J\\u{202e}\" is not a watch_sample"), "\(error)")
        }
        // Segment values in the text report and the gate's, reasons included.
        let coverage = Coverage([WatchSample(end: 10 * second, interval: 10 * second, regime: .stable)])
        var builder = AttributionBuilder(coverage: coverage, segmentColumns: ["venue"])
        for index in 0..<2000 {
            try builder.add(TelemetryRow(time: Int64(index + 1) * 4_000_000, value: Double(index % 100), segment: "X" + escape, line: index + 2),
                            file: "f\u{1B}c")
        }
        let text = AttributionText.render(try Attribution.report(builder, seriesFiles: ["s\u{9B}2J"]))
        var empty = AttributionBuilder(coverage: coverage, segmentColumns: ["venue"])
        try empty.add(TelemetryRow(time: second, value: 1, segment: "Y" + escape, line: 2), file: "f")
        let side = GateSide(directory: "d\u{1B}", seriesFiles: [], telemetry: [], rows: 0, joined: 0, outside: 0, noValue: 0)
        let gate = GateText.render(try AttributionGate.judge(baseline: builder, baselineSide: side, candidate: empty, candidateSide: side,
                                                         settings: GateSettings()))
        for output in [text, gate] {
            XCTAssertFalse(output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x7 || $0.value == 0x9B || $0.value == 0x202E }, output)
            XCTAssertTrue(output.contains("X\\x1b]0;owned\\x07\\u{202e}"), output)
        }
        XCTAssertTrue(gate.contains("venue=X\\x1b]0;owned\\x07\\u{202e}: completion dropped"), gate)
        XCTAssertTrue(gate.contains("only in the candidate (not judged): Y\\x1b"), gate)
    }

    func testUnitSeparatorInASegmentValueIsRefusedInPlace() {
        guard case let .failure(csv) = read("ts,v,venue\n1796226610000,1,\"a\u{1F}b\"\n", format: .csv, segments: ["venue"]) else {
            return XCTFail("accepted")
        }
        XCTAssertEqual(csv.place, "f:2:19")
        XCTAssertTrue(csv.message.contains("segment \"venue\": the value holds U+001F"), csv.message)
        guard case let .failure(json) = read("{\"ts\":1796226610000,\"v\":1,\"venue\":\"a\\u001fb\"}\n", format: .jsonLines, segments: ["venue"]) else {
            return XCTFail("accepted")
        }
        XCTAssertEqual(json.place, "f:1:36")
        XCTAssertTrue(json.message.contains("U+001F"), json.message)
        // Without the separator two columns still make one key, split back into two values.
        guard case let .success(rows) = read("ts,v,venue,desk\n1796226610000,1,a,b\n", format: .csv, segments: ["venue", "desk"]) else {
            return XCTFail("refused")
        }
        XCTAssertEqual(rows.first.map { TelemetryReader.segmentValues($0.segment ?? "") }, ["a", "b"])
    }

    func testJoinedRowsPastTheCapAreRefusedAtTheRow() throws {
        let coverage = Coverage([WatchSample(end: 10 * second, interval: 10 * second, regime: .stable)])
        var builder = AttributionBuilder(coverage: coverage, maximumJoinedRows: 2)
        try builder.add(TelemetryRow(time: 20 * second, value: 1, segment: nil, line: 2), file: "t.csv")
        for line in 3...4 { try builder.add(TelemetryRow(time: second, value: 1, segment: nil, line: line), file: "t.csv") }
        XCTAssertThrowsError(try builder.add(TelemetryRow(time: second, value: 1, segment: nil, line: 5), file: "t.csv")) { error in
            XCTAssertTrue("\(error)".hasPrefix("t.csv:5: more than 2 rows joined"), "\(error)")
        }
        XCTAssertEqual([builder.joined, builder.after], [2, 1], "rows outside the series do not count against the cap")
        XCTAssertEqual(AttributionBuilder.defaultMaximumJoinedRows, 500_000_000)
    }
}
