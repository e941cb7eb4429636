/// One CSV record's fields (RFC 4180): comma-separated; a field may be quoted, with `""` for
/// a quote inside it and newlines allowed; a quote anywhere else is refused at its column
/// rather than guessed at. Fields are byte ranges into the record, decoded only when asked.
struct CSVField {
    var start: Int
    var end: Int
    var quoted: Bool
}

enum CSVFields {
    /// Splits `record` into `fields` (reused between rows to spare an allocation per row).
    static func split(_ record: UnsafeBufferPointer<UInt8>, into fields: inout [CSVField]) throws(FieldError) {
        fields.removeAll(keepingCapacity: true)
        let count = record.count
        var index = 0
        while true {
            if index < count, record[index] == 0x22 {
                let start = index + 1
                index = start
                var closed = false
                while index < count {
                    if record[index] == 0x22 {
                        if index + 1 < count, record[index + 1] == 0x22 {
                            index += 2
                            continue
                        }
                        closed = true
                        break
                    }
                    index += 1
                }
                guard closed else { throw FieldError(offset: start - 1, message: "a quoted field is never closed") }
                fields.append(CSVField(start: start, end: index, quoted: true))
                index += 1
                if index < count, record[index] != 0x2C {
                    throw FieldError(offset: index, message: "after a quoted field's closing quote comes a comma or the end of the record")
                }
            } else {
                let start = index
                while index < count, record[index] != 0x2C {
                    if record[index] == 0x22 {
                        throw FieldError(offset: index, message: "a quote inside an unquoted field (RFC 4180: quote the whole field and write \"\")")
                    }
                    index += 1
                }
                fields.append(CSVField(start: start, end: index, quoted: false))
            }
            if index >= count { return }
            index += 1 // the comma
        }
    }

    /// The field's text, `""` unescaped.
    static func text(_ field: CSVField, in record: UnsafeBufferPointer<UInt8>) -> String {
        let slice = UnsafeBufferPointer(rebasing: record[field.start..<field.end])
        guard field.quoted, slice.contains(0x22) else { return String(decoding: slice, as: UTF8.self) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(slice.count)
        var index = 0
        while index < slice.count {
            bytes.append(slice[index])
            index += slice[index] == 0x22 ? 2 : 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
