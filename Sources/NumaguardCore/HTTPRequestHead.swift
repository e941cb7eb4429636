/// The head of an HTTP/1.x request (request line and header fields, up to the blank line),
/// parsed from the bytes a client has sent so far, as `numaguard watch`'s /metrics server
/// reads it. Pure, so the fuzzer runs it on arbitrary bytes: anyone on the host (or the
/// network, with `--listen 0.0.0.0:PORT`) can send anything.
///
/// Strict where it costs nothing (RFC 9112): one space between the request line's three
/// parts, a method of token characters, a target of visible ASCII, `HTTP/1.x`; field names
/// of token characters with the colon right after them; no control characters but a tab in
/// a value; no line folding. A bare LF ends a line as CRLF does (RFC 9112 §2.2 allows it).
/// Field values are checked, not kept: the server answers by method and path alone.
public struct HTTPRequestHead: Equatable, Sendable {
    public var method: String
    /// As sent: `/metrics?x=1`.
    public var target: String
    /// `HTTP/1.0` or `HTTP/1.1`.
    public var version: String
    /// How many bytes the head took, through its blank line; what follows (a body, a
    /// pipelined request) is not the head's.
    public var length: Int

    public init(method: String, target: String, version: String, length: Int) {
        self.method = method
        self.target = target
        self.version = version
        self.length = length
    }

    /// The target without its query.
    public var path: Substring { target.prefix { $0 != "?" } }

    /// Longer heads are refused (431): a scrape's is a few hundred bytes.
    public static let maximumBytes = 8192
    /// More header fields are refused (431). Bounds the lines examined, whatever their size.
    public static let maximumFields = 64

    public enum Outcome: Equatable, Sendable {
        /// No blank line yet, and nothing wrong so far: wait for more bytes.
        case incomplete
        case complete(HTTPRequestHead)
        case refused(HTTPRequestRefusal)
    }

    /// Reads `bytes` (everything the client sent so far) from the start. Linear in
    /// `min(bytes.count, maximumBytes)`; a malformed line is refused as soon as it ends,
    /// without waiting for the rest of the head.
    public static func parse(_ bytes: [UInt8]) -> Outcome {
        let end = min(bytes.count, maximumBytes)
        var requestLine: (method: String, target: String, version: String)?
        var fields = 0
        var lineStart = 0
        var index = 0
        while index < end {
            defer { index += 1 }
            guard bytes[index] == lf else { continue }
            var lineEnd = index
            if lineEnd > lineStart && bytes[lineEnd - 1] == cr { lineEnd -= 1 }
            let line = bytes[lineStart..<lineEnd]
            lineStart = index + 1
            guard let parts = requestLine else {
                switch parseRequestLine(line) {
                case let .success(parts): requestLine = parts
                case let .failure(refusal): return .refused(refusal)
                }
                continue
            }
            if line.isEmpty {
                return .complete(HTTPRequestHead(method: parts.method, target: parts.target, version: parts.version, length: index + 1))
            }
            if let refusal = checkField(line) { return .refused(refusal) }
            fields += 1
            if fields > maximumFields {
                return .refused(HTTPRequestRefusal(status: 431, reason: "more than \(maximumFields) header fields"))
            }
        }
        if bytes.count > maximumBytes {
            return .refused(HTTPRequestRefusal(status: 431, reason: "request head longer than \(maximumBytes) bytes"))
        }
        return .incomplete
    }

    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09

    private static func parseRequestLine(_ line: ArraySlice<UInt8>) -> Result<(method: String, target: String, version: String), HTTPRequestRefusal> {
        func bad(_ reason: String) -> Result<(method: String, target: String, version: String), HTTPRequestRefusal> {
            .failure(HTTPRequestRefusal(status: 400, reason: reason))
        }
        let words = line.split(separator: space, maxSplits: 2, omittingEmptySubsequences: false)
        guard words.count == 3 else { return bad("the request line is not METHOD TARGET VERSION") }
        let (method, target, version) = (words[0], words[1], words[2])
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { return bad("the method is not a token") }
        guard !target.isEmpty, target.allSatisfy({ $0 > space && $0 < 0x7F }) else { return bad("the target is empty or holds a space or a control character") }
        let prefix = Array("HTTP/".utf8)
        guard version.count == 8, version.starts(with: prefix) else { return bad("the version is not HTTP/x.y") }
        let major = version[version.startIndex + 5], dot = version[version.startIndex + 6], minor = version[version.startIndex + 7]
        guard isDigit(major), dot == 0x2E, isDigit(minor) else { return bad("the version is not HTTP/x.y") }
        guard major == 0x31 else {
            return .failure(HTTPRequestRefusal(status: 505, reason: "only HTTP/1.x is served"))
        }
        return .success((ascii(method), ascii(target), ascii(version)))
    }

    /// `name: value`: a token, a colon, then anything but control characters (a tab is allowed).
    private static func checkField(_ line: ArraySlice<UInt8>) -> HTTPRequestRefusal? {
        guard let colon = line.firstIndex(of: 0x3A) else {
            return HTTPRequestRefusal(status: 400, reason: "a header line without a colon (or a folded line)")
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
            return HTTPRequestRefusal(status: 400, reason: "a header name that is not a token")
        }
        let value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == tab || ($0 >= space && $0 != 0x7F) }) else {
            return HTTPRequestRefusal(status: 400, reason: "a control character in a header value")
        }
        return nil
    }

    /// RFC 9110 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Only called on bytes already checked to be ASCII.
    private static func ascii(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// Why a request head was refused: the HTTP status to answer with (400, 431, 505) and why.
public struct HTTPRequestRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status): \(reason)" }
}
