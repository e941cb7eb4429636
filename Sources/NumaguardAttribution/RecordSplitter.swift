/// Cuts a byte stream, fed chunk by chunk as it is read, into records: lines for JSON lines,
/// RFC 4180 records for CSV (a newline inside a quoted field does not end the record). A
/// record is handed over in place when it lies inside one chunk, and copied only when it
/// straddles two, so a 10-million-row file costs no allocation per row. A record longer than
/// `maximumRecordBytes` is refused at its line: a file without newlines (a binary, a
/// truncated dump) is not read whole into memory.
struct RecordSplitter {
    static let maximumRecordBytes = 1 << 20

    let file: String
    /// CSV: quotes hide newlines.
    let quoted: Bool
    private var carry: [UInt8] = []
    /// CSV's place in the record: at a field's start, in an unquoted field, in a quoted one,
    /// or just after a quote inside a quoted one (an escaped quote or the closing one). Only a
    /// quote at a field's start opens a quoted field, so a stray quote inside an unquoted field
    /// cannot swallow the rest of the file (CSVFields reports it at its column).
    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }
    private var state = State.fieldStart
    private var inQuotes: Bool { state == .quoted }
    /// Line where the pending record starts, and newlines seen inside it so far.
    private(set) var line = 1
    private var innerNewlines = 0

    init(file: String, quoted: Bool) {
        self.file = file
        self.quoted = quoted
    }

    /// `body(record, line)`: a record without its line end (LF or CRLF).
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>,
                       _ body: (UnsafeBufferPointer<UInt8>, Int) throws(AttributionError) -> Void) throws(AttributionError) {
        var start = 0
        var index = 0
        let count = chunk.count
        while index < count {
            let byte = chunk[index]
            if byte == 0x0A {
                if inQuotes {
                    innerNewlines += 1
                } else {
                    if carry.isEmpty {
                        try check(index - start)
                        try emit(UnsafeBufferPointer(rebasing: chunk[start..<index]), body)
                    } else {
                        try check(carry.count + index - start)
                        carry.append(contentsOf: chunk[start..<index])
                        let whole = carry
                        carry.removeAll(keepingCapacity: true)
                        try whole.withUnsafeBufferPointer { (buffer) throws(AttributionError) in try emit(buffer, body) }
                    }
                    start = index + 1
                }
            } else if quoted {
                switch state {
                case .fieldStart: state = byte == 0x22 ? .quoted : byte == 0x2C ? .fieldStart : .unquoted
                case .unquoted: if byte == 0x2C { state = .fieldStart }
                case .quoted: if byte == 0x22 { state = .quoteInQuoted }
                case .quoteInQuoted: state = byte == 0x22 ? .quoted : byte == 0x2C ? .fieldStart : .unquoted
                }
            }
            index += 1
        }
        if start < count {
            try check(carry.count + count - start)
            carry.append(contentsOf: chunk[start..<count])
        }
    }

    /// The last record when the file does not end with a newline.
    mutating func finish(_ body: (UnsafeBufferPointer<UInt8>, Int) throws(AttributionError) -> Void) throws(AttributionError) {
        if inQuotes {
            throw AttributionError(file: file, line: line, "a quoted field is never closed (RFC 4180: a quote inside one is written \"\")")
        }
        guard !carry.isEmpty else { return }
        let whole = carry
        carry.removeAll()
        try whole.withUnsafeBufferPointer { (buffer) throws(AttributionError) in try emit(buffer, body) }
    }

    private func check(_ length: Int) throws(AttributionError) {
        if length > Self.maximumRecordBytes {
            throw AttributionError(file: file, line: line, "a record longer than \(Self.maximumRecordBytes >> 20) MiB: not a telemetry or series file")
        }
    }

    private mutating func emit(_ record: UnsafeBufferPointer<UInt8>,
                               _ body: (UnsafeBufferPointer<UInt8>, Int) throws(AttributionError) -> Void) throws(AttributionError) {
        let end = record.count > 0 && record[record.count - 1] == 0x0D ? record.count - 1 : record.count
        let recordLine = line
        state = .fieldStart
        line += 1 + innerNewlines
        innerNewlines = 0
        try body(UnsafeBufferPointer(rebasing: record[0..<end]), recordLine)
    }

    /// Line and column (1-based) of byte `offset` of a record that starts at `line`: a quoted
    /// CSV field may hold newlines, so the column counts from the last one before it.
    static func place(of offset: Int, in record: UnsafeBufferPointer<UInt8>, line: Int) -> (line: Int, column: Int) {
        var line = line
        var lineStart = 0
        let end = min(offset, record.count)
        var index = 0
        while index < end {
            if record[index] == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return (line, offset - lineStart + 1)
    }
}
