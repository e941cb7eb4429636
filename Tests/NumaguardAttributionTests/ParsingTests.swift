@testable import NumaguardAttribution
import XCTest

/// The telemetry and series parsers: RFC 4180 quoting, JSON lines, the time column's unit,
/// and refusals at file:line:column.
final class ParsingTests: XCTestCase {
    /// Rows read from `text` fed in chunks of `chunk` bytes (records straddle chunks).
    private func rows(_ text: String, format: TelemetryFormat = .csv, columns: TelemetryColumns = TelemetryColumns(value: "v"),
                      chunk: Int = 7) throws -> ([TelemetryRow], TelemetryReader) {
        var reader = TelemetryReader(file: "f", format: format, columns: columns)
        var rows: [TelemetryRow] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            try bytes[start..<end].withUnsafeBufferPointer { (buffer) throws(AttributionError) in
                try reader.feed(buffer) { (row) throws(AttributionError) in rows.append(row) }
            }
            start = end
        }
        try reader.finish { (row) throws(AttributionError) in rows.append(row) }
        return (rows, reader)
    }

    private func error(_ text: String, format: TelemetryFormat = .csv, columns: TelemetryColumns = TelemetryColumns(value: "v")) -> AttributionError? {
        do {
            _ = try rows(text, format: format, columns: columns)
            return nil
        } catch let error as AttributionError {
            return error
        } catch {
            return nil
        }
    }

    func testCSVQuotingNewlinesInsideFieldsAndCRLF() throws {
        let text = "time,\"v\",desk\r\n1796226610,1.5,\"a \"\"b\"\", c\"\r\n1796226611,\"2\",\"two\nlines\"\r\n1796226612,,x\n1796226613,+3e1,y"
        let (rows, reader) = try rows(text, columns: TelemetryColumns(value: "v", segments: ["desk"]))
        XCTAssertEqual(rows.map(\.value), [1.5, 2, nil, 30])
        XCTAssertEqual(rows.map(\.segment), ["a \"b\", c", "two\nlines", "x", "y"])
        XCTAssertEqual(rows.map(\.line), [2, 3, 5, 6])
        XCTAssertEqual(rows.map(\.time), [1_796_226_610, 1_796_226_611, 1_796_226_612, 1_796_226_613].map { Int64($0) * 1_000_000_000 })
        XCTAssertEqual(reader.summary.unit, .seconds)
        XCTAssertEqual(reader.summary.timeColumn, "time")
    }

    func testEpochUnitsByMagnitudeAndFractions() throws {
        for (value, unit, nanoseconds) in [("1796226610.25", TimeUnit.seconds, Int64(1_796_226_610_250_000_000)),
                                           ("1796226610250", .milliseconds, 1_796_226_610_250_000_000),
                                           ("1796226610250001", .microseconds, 1_796_226_610_250_001_000),
                                           ("1796226610250001002", .nanoseconds, 1_796_226_610_250_001_002)] {
            let (rows, reader) = try rows("ts,v\n\(value),1\n")
            XCTAssertEqual(rows.first?.time, nanoseconds, value)
            XCTAssertEqual(reader.summary.unit, unit, value)
        }
        XCTAssertEqual(error("ts,v\n17962266102,1\n")?.description.hasPrefix("f:2:1: column \"ts\": \"17962266102\" is not an epoch time in any unit"), true)
        XCTAssertEqual(error("ts,v\n1796226610,1\n2026-12-02T15:50:00Z,1\n")?.description,
                       "f:3:1: column \"ts\": \"2026-12-02T15:50:00Z\" reads as RFC 3339, but the column's times are epoch seconds (decided by line 2): one unit for the whole column")
    }

    func testRFC3339ZonesAndFractions() throws {
        let (rows, reader) = try rows("ts,v\n2026-12-02T15:50:00.5Z,1\n2026-12-02T17:50:00+02:00,1\n2026-12-02 15:50:00.000000001z,1\n")
        XCTAssertEqual(rows.map(\.time), [1_796_226_600_500_000_000, 1_796_226_600_000_000_000, 1_796_226_600_000_000_001])
        XCTAssertEqual(reader.summary.unit, .rfc3339)
        XCTAssertEqual(error("ts,v\n2026-02-30T00:00:00Z,1\n")?.description, "f:2:9: column \"ts\": \"2026-02-30T00:00:00Z\" is not an RFC 3339 time: day 30 of month 2")
        XCTAssertEqual(error("ts,v\n2026-12-02T15:50:00,1\n")?.description, "f:2:20: column \"ts\": \"2026-12-02T15:50:00\" is not an RFC 3339 time: a zone (Z or +HH:MM) is required")
    }

    func testJSONLinesEscapesNullsAndDefaults() throws {
        let text = "{\"timestamp\":\"2026-12-02T15:50:00Z\",\"value\":12.5,\"extra\":{\"nested\":[1,2,{\"a\":null}]},\"venue\":\"X\\u00e9\\\"\"}\n"
            + "\n{\"value\":null,\"timestamp\":\"2026-12-02T15:50:01Z\",\"venue\":\"Y\"}\n"
        let (rows, reader) = try rows(text, format: .jsonLines, columns: TelemetryColumns(segments: ["venue"]))
        XCTAssertEqual(rows.map(\.value), [12.5, nil])
        XCTAssertEqual(rows.map(\.segment), ["Xé\"", "Y"])
        XCTAssertEqual(reader.summary.timeColumn, "timestamp")
        XCTAssertEqual(reader.summary.valueColumn, "value")
        XCTAssertEqual(error("{\"ts\":1796226610,\"v\":1}\n{\"ts\":1796226611}\n", format: .jsonLines)?.description,
                       "f:2:1: no member \"v\" for the value")
        XCTAssertEqual(error("{\"ts\":1796226610,\"v\":1,}\n", format: .jsonLines)?.description, "f:1:24: expected a member name in quotes")
        XCTAssertEqual(error("{\"ts\":1796226610,\"v\":nan}\n", format: .jsonLines)?.description, "f:1:22: not a JSON value")
    }

    func testCSVRefusals() {
        XCTAssertEqual(error("ts,v\n1796226610,1\"2\n")?.description, "f:2:13: a quote inside an unquoted field (RFC 4180: quote the whole field and write \"\")")
        XCTAssertEqual(error("ts,v\n1796226610,\"12\"x\n")?.description, "f:2:16: after a quoted field's closing quote comes a comma or the end of the record")
        XCTAssertEqual(error("ts,v\n1796226610,\"12\n")?.description, "f:2: a quoted field is never closed (RFC 4180: a quote inside one is written \"\")")
        XCTAssertEqual(error("ts,v,v\n")?.description, "f:1:6: the header names column \"v\" twice: which one is the value is ambiguous")
        XCTAssertEqual(error("")?.description, "f: is empty: a CSV file starts with a header naming its columns")
        XCTAssertEqual(error("ts,v\n1796226610,0x10\n")?.description, "f:2:12: column \"v\": \"0x10\" is not a number")
        let long = "ts,v\n" + String(repeating: "1", count: RecordSplitter.maximumRecordBytes + 10) + "\n"
        XCTAssertEqual(error(long)?.description, "f:2: a record longer than 1 MiB: not a telemetry or series file")
    }

    func testNumbers() {
        func parse(_ text: String) -> Double? { Array(text.utf8).withUnsafeBufferPointer { Numbers.decimal($0) } }
        XCTAssertEqual(parse("0.1"), 0.1)
        XCTAssertEqual(parse("-12.5e-3"), -0.0125)
        XCTAssertEqual(parse("123456789012345678901234"), 123456789012345678901234.0)
        XCTAssertEqual(parse("0.30000000000000004441"), 0.30000000000000004441)
        for bad in ["", "-", "1.", ".5", "1e", "inf", "nan", "1,5", "0x1"] { XCTAssertNil(parse(bad), bad) }
    }

    func testClockOffsets() {
        XCTAssertEqual(ClockOffset.parse("250ms"), 250_000_000)
        XCTAssertEqual(ClockOffset.parse("-1.5ms"), -1_500_000)
        XCTAssertEqual(ClockOffset.parse("40us"), 40_000)
        XCTAssertEqual(ClockOffset.parse("+2s"), 2_000_000_000)
        XCTAssertEqual(ClockOffset.parse("-1h"), -3_600_000_000_000)
        for bad in ["", "5", "5 parsecs", "25h", "1e3s", "-ms"] { XCTAssertNil(ClockOffset.parse(bad), bad) }
    }
}
