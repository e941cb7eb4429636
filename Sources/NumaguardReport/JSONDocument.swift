#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NumaguardCore
import NumaguardOutput

/// The JSON documents built from Encodable values: Foundation's encoder, sorted and pretty
/// printed (the layout their golden files pin), inside an envelope whose `format_version`
/// and `kind` come from DocumentKind, so consumers can refuse a layout they do not know
/// instead of misreading it. Hand-written documents (run's, watch's) use JSONText.
public enum JSONDocument {
    struct Envelope<Body: Encodable>: Encodable {
        let formatVersion: Int
        let kind: String
        let body: Body

        enum CodingKeys: String, CodingKey { case formatVersion = "format_version", kind }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(formatVersion, forKey: .formatVersion)
            try container.encode(kind, forKey: .kind)
            try body.encode(to: encoder)
        }
    }

    /// Sorted keys and pretty printing: stable output for golden tests and diffs.
    public static func render<Body: Encodable>(kind: DocumentKind, _ body: Body) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(Envelope(formatVersion: kind.formatVersion, kind: kind.name, body: body))
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// Why a file is not a document numaguard can read back (a snapshot given to diff).
public enum DocumentError: Error, Sendable, CustomStringConvertible {
    case notJSON(String)
    case wrongKind(expected: String, found: String?)
    /// `reads`: the one version this numaguard reads for the kind.
    case unsupportedVersion(found: Int?, reads: Int)
    case invalid(String)

    public var description: String {
        switch self {
        case let .notJSON(reason):
            "not a JSON document (\(reason))"
        case let .wrongKind(expected, found):
            "not a \(expected): its kind is \(found.map { "\"\($0)\"" } ?? "missing")"
        case let .unsupportedVersion(found, reads):
            "format_version \(found.map(String.init) ?? "missing") is not one this numaguard reads "
                + "(it reads \(reads)); use the numaguard that wrote it"
        case let .invalid(reason):
            "invalid: \(reason)"
        }
    }
}

extension JSONDocument {
    private struct Header: Decodable {
        let formatVersion: Int?
        let kind: String?
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version", kind }
    }

    /// Reads back a document `render` wrote, refusing another kind or format version
    /// before looking at the body, so an old tool never misreads a newer layout.
    public static func decode<Body: Decodable>(_ type: Body.Type, kind: DocumentKind, from bytes: [UInt8]) throws(DocumentError) -> Body {
        let decoder = JSONDecoder()
        let data = Data(bytes)
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            throw .notJSON(describe(error))
        }
        guard header.kind == kind.name else { throw .wrongKind(expected: kind.name, found: header.kind) }
        guard header.formatVersion == kind.formatVersion else {
            throw .unsupportedVersion(found: header.formatVersion, reads: kind.formatVersion)
        }
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw .invalid(describe(error))
        }
    }

    /// Where in the document decoding failed, as a dotted path, and why.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func place(_ path: [any CodingKey]) -> String {
            let dotted = path.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
            return dotted.isEmpty ? "the document" : dotted
        }
        switch error {
        case let .keyNotFound(key, context): return "\(place(context.codingPath + [key])) is missing"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "\(place(context.codingPath)): \(context.debugDescription)"
        case let .dataCorrupted(context): return "\(place(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// The body of `numaguard topology --format json`.
public struct TopologyDocument: Encodable {
    public var topology: Topology
    public var kernel: KernelState?
    public init(topology: Topology, kernel: KernelState?) {
        self.topology = topology
        self.kernel = kernel
    }
}

/// The body of `numaguard inspect --format json`: the processes read and, apart, those
/// that could not be, each with its PID and reason.
public struct InspectDocument: Encodable {
    public struct Failure: Encodable, Equatable, Sendable {
        public enum Kind: String, Encodable, Sendable {
            /// A requested PID that does not exist, or a pattern that matched nothing.
            case missing
            /// The process exited while (or before) it was being read.
            case gone
            /// The kernel refused a read; `error` says what access is needed.
            case permission
            /// Anything else: an unreadable or malformed file.
            case error
        }

        public var pid: Int?
        public var kind: Kind
        public var error: String
        public init(pid: Int?, kind: Kind, error: String) {
            self.pid = pid
            self.kind = kind
            self.error = error
        }
    }

    public var processes: [InspectReport]
    public var failures: [Failure]
    public init(processes: [InspectReport], failures: [Failure]) {
        self.processes = processes
        self.failures = failures
    }
}
