import NumaguardCore
import NumaguardOutput

/// Telemetry: one row per order or decision, with a time and a numeric value, as CSV (a
/// header row naming the columns, RFC 4180 quoting) or JSON lines (one flat object a line).
/// The reader is fed the file chunk by chunk and hands each row to the join as it goes: no row
/// is kept, so memory does not grow with the file beyond the values the statistics need.
public enum TelemetryFormat: String, Sendable {
    case csv, jsonLines = "json lines"

    /// By name (`.csv`; `.jsonl`, `.ndjson`, `.json`), else by the first byte: `{` is JSON lines.
    public static func detect(path: String, firstByte: UInt8?) -> TelemetryFormat {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") { return .jsonLines }
        return firstByte == 0x7B ? .jsonLines : .csv
    }
}

/// Which columns to read. nil time/value: the defaults below.
public struct TelemetryColumns: Sendable, Equatable {
    public static let defaultTimeNames = ["time", "timestamp", "ts"]
    public static let defaultValueNames = ["value"]

    public var time: String?
    public var value: String?
    public var segments: [String]

    public init(time: String? = nil, value: String? = nil, segments: [String] = []) {
        self.time = time
        self.value = value
        self.segments = segments
    }
}

/// What was read from one telemetry file, for the report.
public struct TelemetryFileSummary: Sendable {
    public var path: String
    public var format: TelemetryFormat
    public var timeColumn: String
    public var valueColumn: String
    public var unit: TimeUnit?
    public var rows: Int
}

/// One row as the join receives it: nanoseconds since the epoch, the value (nil when the
/// row has none: an empty field or null), the segment's values joined by U+001F (nil
/// without --segment), and where the row is, for errors the join finds.
public struct TelemetryRow {
    public var time: Int64
    public var value: Double?
    public var segment: String?
    public var line: Int
}

public struct TelemetryReader {
    /// U+001F (unit separator) joins a row's segment values into one key. A value holding it
    /// would be split in the wrong place (two segments merged, values shifted between
    /// columns), so it is refused where it stands rather than escaped: no telemetry has a
    /// reason to carry it.
    static let segmentSeparator: UInt8 = 0x1F
    static let segmentSeparatorText = "\u{1F}"

    /// A segment key's values, one per --segment column.
    static func segmentValues(_ key: String) -> [String] {
        key.split(separator: Character(segmentSeparatorText), omittingEmptySubsequences: false).map(String.init)
    }

    static func separatorError(at offset: Int, name: String) -> FieldError {
        FieldError(offset: offset, message: "segment \"\(name)\": the value holds U+001F (unit separator), which numaguard joins segment "
                   + "values with; a segment value cannot contain it")
    }

    public let file: String
    public let format: TelemetryFormat
    let columns: TelemetryColumns
    private var splitter: RecordSplitter
    private var timeColumn = TimeColumn()
    /// CSV: the header's positions of time, value and each segment; JSON lines: resolved names.
    private var timeIndex = -1, valueIndex = -1
    private var segmentIndexes: [Int] = []
    private var timeName: String?, valueName: String?
    private var header = true
    private var fields: [CSVField] = []
    /// JSON lines: the member names tried, as bytes (the defaults until the first row settles them).
    private var timeCandidates: [[UInt8]], valueCandidates: [[UInt8]]
    private let segmentNames: [[UInt8]]
    public private(set) var rows = 0

    public init(file: String, format: TelemetryFormat, columns: TelemetryColumns) {
        self.file = file
        self.format = format
        self.columns = columns
        splitter = RecordSplitter(file: file, quoted: format == .csv)
        timeName = columns.time
        valueName = columns.value
        timeCandidates = (columns.time.map { [$0] } ?? TelemetryColumns.defaultTimeNames).map { Array($0.utf8) }
        valueCandidates = (columns.value.map { [$0] } ?? TelemetryColumns.defaultValueNames).map { Array($0.utf8) }
        segmentNames = columns.segments.map { Array($0.utf8) }
    }

    public var summary: TelemetryFileSummary {
        TelemetryFileSummary(path: file, format: format, timeColumn: timeName ?? "-", valueColumn: valueName ?? "-",
                             unit: timeColumn.unit, rows: rows)
    }

    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ sink: (TelemetryRow) throws(AttributionError) -> Void) throws(AttributionError) {
        var splitter = self.splitter
        defer { self.splitter = splitter }
        try splitter.feed(chunk) { (record, line) throws(AttributionError) in try self.record(record, line, sink) }
    }

    public mutating func finish(_ sink: (TelemetryRow) throws(AttributionError) -> Void) throws(AttributionError) {
        var splitter = self.splitter
        defer { self.splitter = splitter }
        try splitter.finish { (record, line) throws(AttributionError) in try self.record(record, line, sink) }
        if format == .csv, header { throw AttributionError(file: file, "is empty: a CSV file starts with a header naming its columns") }
    }

    private mutating func record(_ record: UnsafeBufferPointer<UInt8>, _ line: Int,
                                 _ sink: (TelemetryRow) throws(AttributionError) -> Void) throws(AttributionError) {
        do {
            switch format {
            case .csv:
                try CSVFields.split(record, into: &fields)
                if header {
                    try readHeader(record, line)
                    header = false
                    return
                }
                if record.isEmpty { return }
                try csvRow(record, line, sink)
            case .jsonLines:
                if JSONScanner.skipSpace(record, 0, record.count) == record.count { return }
                try jsonRow(record, line, sink)
            }
        } catch let error as FieldError {
            let (line, column) = RecordSplitter.place(of: error.offset, in: record, line: line)
            throw AttributionError(file: file, line: line, column: column, error.message)
        } catch let error as AttributionError {
            throw error
        } catch {
            throw AttributionError(file: file, line: line, "\(error)")
        }
    }

    private mutating func readHeader(_ record: UnsafeBufferPointer<UInt8>, _ line: Int) throws {
        let names = fields.map { CSVFields.text($0, in: record).trimmingSpaces }
        func index(of wanted: String?, defaults: [String], what: String, option: String) throws(AttributionError) -> (Int, String) {
            let candidates = wanted.map { [$0] } ?? defaults
            for name in candidates {
                let matches = names.indices.filter { names[$0] == name }
                if matches.count > 1 {
                    throw AttributionError(file: file, line: line, column: column(matches[1], record),
                                           "the header names column \"\(name)\" twice: which one is the \(what) is ambiguous")
                }
                if let found = matches.first { return (found, name) }
            }
            // The header is the file's: each name escaped and cut short, and at most 32 listed.
            let listed = names.prefix(32).map { UntrustedText.quoted($0, limit: 64) }.joined(separator: ", ")
                + (names.count > 32 ? ", ... (\(names.count) columns)" : "")
            let asked = wanted.map { "no column \"\($0)\"" } ?? "no column named \(defaults.map { "\"\($0)\"" }.joined(separator: " or ")) (name it with \(option))"
            throw AttributionError(file: file, line: line, "\(asked) for the \(what); the header has \(listed)")
        }
        (timeIndex, timeName) = try index(of: columns.time, defaults: TelemetryColumns.defaultTimeNames, what: "time", option: "--time-column")
        (valueIndex, valueName) = try index(of: columns.value, defaults: TelemetryColumns.defaultValueNames, what: "value", option: "--value-column")
        segmentIndexes = []
        for segment in columns.segments {
            segmentIndexes.append(try index(of: segment, defaults: [], what: "segment", option: "--segment").0)
        }
    }

    private func column(_ field: Int, _ record: UnsafeBufferPointer<UInt8>) -> Int {
        fields[field].start + (fields[field].quoted ? 0 : 1)
    }

    private mutating func csvRow(_ record: UnsafeBufferPointer<UInt8>, _ line: Int,
                                 _ sink: (TelemetryRow) throws(AttributionError) -> Void) throws {
        let needed = max(timeIndex, valueIndex, segmentIndexes.max() ?? 0)
        guard fields.count > needed else {
            throw AttributionError(file: file, line: line, column: record.count + 1,
                                   "the row has \(fields.count) fields; the header has column \(needed + 1), \"\(columnName(needed))\"")
        }
        let timeField = fields[timeIndex]
        let time: Int64
        do throws(FieldError) {
            time = try timeColumn.parse(UnsafeBufferPointer(rebasing: record[timeField.start..<timeField.end]), line: line)
        } catch {
            throw FieldError(offset: timeField.start + error.offset, message: "column \"\(timeName ?? "")\": " + error.message)
        }
        let valueField = fields[valueIndex]
        let value = try number(UnsafeBufferPointer(rebasing: record[valueField.start..<valueField.end]), at: valueField.start)
        var segment: String?
        if !segmentIndexes.isEmpty {
            for (position, index) in segmentIndexes.enumerated() {
                if let separator = record[fields[index].start..<fields[index].end].firstIndex(of: Self.segmentSeparator) {
                    throw Self.separatorError(at: separator, name: columns.segments[position])
                }
            }
            // One column (the usual case): its text, without an array and a join per row.
            segment = segmentIndexes.count == 1 ? CSVFields.text(fields[segmentIndexes[0]], in: record)
                : segmentIndexes.map { CSVFields.text(fields[$0], in: record) }.joined(separator: Self.segmentSeparatorText)
        }
        rows += 1
        try sink(TelemetryRow(time: time, value: value, segment: segment, line: line))
    }

    private func columnName(_ index: Int) -> String {
        if index == timeIndex { return timeName ?? "" }
        if index == valueIndex { return valueName ?? "" }
        if let position = segmentIndexes.firstIndex(of: index) { return columns.segments[position] }
        return ""
    }

    /// A value field: a number, or empty (no value).
    private func number(_ raw: UnsafeBufferPointer<UInt8>, at offset: Int) throws(FieldError) -> Double? {
        let text = Numbers.trimmed(raw)
        if text.isEmpty { return nil }
        guard let value = Numbers.decimal(text) else {
            throw FieldError(offset: offset, message: "column \"\(valueName ?? "")\": \(FieldError.quoted(text)) is not a number")
        }
        return value
    }

    private mutating func jsonRow(_ record: UnsafeBufferPointer<UInt8>, _ line: Int,
                                  _ sink: (TelemetryRow) throws(AttributionError) -> Void) throws {
        var time: Int64?
        var value: Double?
        var sawValue = false
        var segmentValues = [String?](repeating: nil, count: columns.segments.count)
        let timeCandidates = self.timeCandidates, valueCandidates = self.valueCandidates, segmentNames = self.segmentNames
        var timeColumn = self.timeColumn
        var resolvedTime = timeName, resolvedValue = valueName
        do {
            try JSONScanner.members(record, 0..<record.count) { (member) throws(FieldError) in
                if time == nil, let match = timeCandidates.firstIndex(where: { JSONScanner.key(member, in: record, is: $0) }) {
                    guard member.kind == .string || member.kind == .number else {
                        throw FieldError(offset: member.valueStart, message: "member \"\(String(decoding: timeCandidates[match], as: UTF8.self))\": a time is a string or a number")
                    }
                    do throws(FieldError) {
                        time = try timeColumn.parse(UnsafeBufferPointer(rebasing: record[member.valueStart..<member.valueEnd]), line: line)
                    } catch {
                        throw FieldError(offset: member.valueStart + error.offset,
                                         message: "member \"\(String(decoding: timeCandidates[match], as: UTF8.self))\": " + error.message)
                    }
                    resolvedTime = String(decoding: timeCandidates[match], as: UTF8.self)
                } else if !sawValue, let match = valueCandidates.firstIndex(where: { JSONScanner.key(member, in: record, is: $0) }) {
                    sawValue = true
                    resolvedValue = String(decoding: valueCandidates[match], as: UTF8.self)
                    if JSONScanner.isNull(member, in: record) { return }
                    let raw = UnsafeBufferPointer(rebasing: record[member.valueStart..<member.valueEnd])
                    guard member.kind == .number || member.kind == .string, let parsed = Numbers.decimal(raw, json: member.kind == .number) else {
                        throw FieldError(offset: member.valueStart - (member.kind == .string ? 1 : 0),
                                         message: "member \"\(resolvedValue ?? "")\": \(FieldError.quoted(raw)) is not a number")
                    }
                    value = parsed
                } else if !segmentNames.isEmpty, let match = segmentNames.firstIndex(where: { JSONScanner.key(member, in: record, is: $0) }) {
                    let text = JSONScanner.valueText(member, in: record)
                    if text.unicodeScalars.contains(Unicode.Scalar(Self.segmentSeparator)) {
                        throw Self.separatorError(at: member.valueStart, name: columns.segments[match])
                    }
                    segmentValues[match] = text
                }
            }
        } catch {
            self.timeColumn = timeColumn
            throw error
        }
        self.timeColumn = timeColumn
        guard let time else {
            let names = timeCandidates.map { "\"\(String(decoding: $0, as: UTF8.self))\"" }.joined(separator: " or ")
            throw AttributionError(file: file, line: line, column: 1, "no member \(names) for the time\(timeName == nil ? " (name it with --time-column)" : "")")
        }
        guard sawValue else {
            let names = valueCandidates.map { "\"\(String(decoding: $0, as: UTF8.self))\"" }.joined(separator: " or ")
            throw AttributionError(file: file, line: line, column: 1, "no member \(names) for the value\(valueName == nil ? " (name it with --value-column)" : "")")
        }
        if timeName == nil || valueName == nil {
            timeName = resolvedTime
            valueName = resolvedValue
            self.timeCandidates = [Array((resolvedTime ?? "").utf8)]
            self.valueCandidates = [Array((resolvedValue ?? "").utf8)]
        }
        var segment: String?
        if !segmentNames.isEmpty {
            if let missing = segmentValues.firstIndex(where: { $0 == nil }) {
                throw AttributionError(file: file, line: line, column: 1, "no member \"\(columns.segments[missing])\" for the segment")
            }
            segment = segmentValues.map { $0 ?? "" }.joined(separator: Self.segmentSeparatorText)
        }
        rows += 1
        try sink(TelemetryRow(time: time, value: value, segment: segment, line: line))
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
