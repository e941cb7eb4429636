#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NumaguardCore
// The Foundation-free part (inspect, topology, their documents' bodies) is NumaguardView, which
// the front links; everything that imports NumaguardReport sees it too.
@_exported import NumaguardView
// JSONDocument.render is in NumaguardOutput (Foundation-free, so the front can write JSON);
// reading documents back (decode) needs Foundation's decoder and stays here.
@_exported import NumaguardOutput

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
