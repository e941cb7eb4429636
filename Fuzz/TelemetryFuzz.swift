// `attribute`'s readers (Sources/NumaguardAttribution: TelemetryReader for CSV and JSON lines,
// WatchSeriesReader for watch --series), fuzzed in the policy binary (scripts/fuzz.sh, target
// "policy") like the journal and snapshot readers: every input goes to all of them.
//
// Contract: any bytes give rows or an AttributionError naming `fuzz` with a line inside the
// input and a 1-based column; the result does not depend on where the file was cut into the
// chunks it is read in (a real file arrives in 1 MiB reads that end anywhere); a row's time
// is inside the accepted range and its value finite.

import NumaguardAttribution

/// Rows as text (line, time, value bits, segment), or the error.
func readTelemetry(_ bytes: [UInt8], _ format: TelemetryFormat, _ columns: TelemetryColumns, cut: Int) -> Result<[String], AttributionError> {
    var reader = TelemetryReader(file: "fuzz", format: format, columns: columns)
    var rows: [String] = []
    let sink = { (row: TelemetryRow) in
        rows.append("\(row.line) \(row.time) \(row.value.map { String($0.bitPattern) } ?? "-") \(row.segment ?? "-")")
    }
    let fed: Result<Void, AttributionError> = bytes.withUnsafeBufferPointer { all in
        Result { () throws(AttributionError) in
            try reader.feed(UnsafeBufferPointer(rebasing: all[..<cut]), sink)
            try reader.feed(UnsafeBufferPointer(rebasing: all[cut...]), sink)
            try reader.finish(sink)
        }
    }
    return fed.map { rows }
}

func readSeries(_ bytes: [UInt8], cut: Int) -> Result<[WatchSample], AttributionError> {
    var reader = WatchSeriesReader(file: "fuzz")
    return bytes.withUnsafeBufferPointer { all in
        Result { () throws(AttributionError) in
            try reader.feed(UnsafeBufferPointer(rebasing: all[..<cut]))
            try reader.feed(UnsafeBufferPointer(rebasing: all[cut...]))
            return try reader.finish()
        }
    }
}

/// An error must point inside the input: `fuzz`, a line no later than the last, a column ≥ 1.
func checkPlace(_ error: AttributionError, lines: Int, _ text: String) {
    guard error.file == "fuzz" else { violation("error names \(error.file), not the file", text) }
    if let line = error.line, line < 1 || line > lines { violation("error line \(line) outside 1...\(lines): \(error)", text) }
    if let column = error.column, column < 1 { violation("error column \(column): \(error)", text) }
}

func checkTelemetry(_ bytes: [UInt8], _ text: String) {
    let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let settings: [(TelemetryFormat, TelemetryColumns)] = [
        (.csv, TelemetryColumns()), (.csv, TelemetryColumns(time: "ts", value: "v", segments: ["s", "t"])),
        (.jsonLines, TelemetryColumns()), (.jsonLines, TelemetryColumns(time: "ts", value: "v", segments: ["s"])),
    ]
    for (format, columns) in settings {
        let whole = readTelemetry(bytes, format, columns, cut: 0)
        let split = readTelemetry(bytes, format, columns, cut: cut)
        switch (whole, split) {
        case let (.success(a), .success(b)) where a == b:
            for row in a {
                let parts = row.split(separator: " ")
                guard parts.count >= 3, let line = Int(parts[0]), line >= 1, line <= lines else { violation("row line outside the input: \(row)", text) }
                if parts[2] != "-", let bits = UInt64(parts[2]), !Double(bitPattern: bits).isFinite { violation("non-finite value: \(row)", text) }
            }
        case let (.failure(a), .failure(b)) where a == b:
            checkPlace(a, lines: lines, text)
        default:
            violation("\(format.rawValue) \(columns.segments): reading in two chunks cut at \(cut) differs from one", text)
        }
    }
    switch (readSeries(bytes, cut: 0), readSeries(bytes, cut: cut)) {
    case let (.success(a), .success(b)) where a == b:
        break
    case let (.failure(a), .failure(b)) where a == b:
        checkPlace(a, lines: lines, text)
    default:
        violation("watch series: reading in two chunks cut at \(cut) differs from one", text)
    }
}
