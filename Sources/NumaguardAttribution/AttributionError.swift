import NumaguardCore
import NumaguardOutput

/// Why attribution stopped: what is wrong and where, so an operator can open the file at the
/// place. `kind` picks the exit status in the CLI (ErrorStatus.swift), never the message.
public struct AttributionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A file was read and is not what it should be (65).
        case data
        /// The command asked for something impossible (64).
        case usage
        /// A scratch file could not be made, written or read (73): an output problem, not
        /// the input's.
        case scratch
    }

    public var kind: Kind
    public var file: String
    /// 1-based; nil when the problem is the file as a whole.
    public var line: Int?
    /// 1-based byte column in that line, where known.
    public var column: Int?
    public var message: String

    public init(_ kind: Kind = .data, file: String, line: Int? = nil, column: Int? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var place: String {
        Self.path(file) + (line.map { ":\($0)" } ?? "") + (column.map { ":\($0)" } ?? "")
    }

    public var description: String { place + ": " + message }
}

extension AttributionError {
    /// A path as messages and the text reports show it: escaped (UntrustedText), since `attribute
    /// gate` takes names from a directory listing; bounded only by PATH_MAX.
    public static func path(_ path: String) -> String {
        UntrustedText.escaped(path, limit: 4096)
    }

    /// Paths joined for a message.
    public static func paths(_ paths: [String]) -> String {
        paths.map(path).joined(separator: ", ")
    }
}

/// A problem found inside one record, before the file and line are known: the record's
/// reader adds them.
struct FieldError: Error {
    /// 0-based byte offset in the record.
    var offset: Int
    var message: String

    /// Bytes of the record as a message quotes them (UntrustedText): only the first KiB is
    /// decoded, which holds more than the 240 scalars shown whatever the encoding.
    static func quoted(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        UntrustedText.quoted(String(decoding: UnsafeBufferPointer(rebasing: bytes.prefix(1024)), as: UTF8.self))
    }
}
