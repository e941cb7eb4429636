import NumaguardCore

/// The /metrics server's answers, whole, as bytes: pure, so they are tested without sockets.
/// Every answer closes the connection (one request per connection, as Prometheus scrapes).
enum MetricsResponse {
    /// The answer to a complete, well-formed request head.
    static func to(_ head: HTTPRequestHead, metrics: () -> String) -> [UInt8] {
        guard head.method == "GET" || head.method == "HEAD" else {
            return message("405 Method Not Allowed", "only GET /metrics\n", extra: ["Allow: GET, HEAD"])
        }
        let headOnly = head.method == "HEAD"
        switch head.path {
        case "/metrics":
            return message("200 OK", metrics(), type: "text/plain; version=0.0.4; charset=utf-8", headOnly: headOnly)
        case "/":
            return message("200 OK", "numaguard watch: metrics at /metrics\n", headOnly: headOnly)
        default:
            return message("404 Not Found", "not found: \(head.path); metrics are at /metrics\n")
        }
    }

    /// The answer to a head refused by the parser (400, 431, 505), saying why.
    static func refusing(_ refusal: HTTPRequestRefusal) -> [UInt8] {
        let status = switch refusal.status {
        case 431: "431 Request Header Fields Too Large"
        case 505: "505 HTTP Version Not Supported"
        default: "400 Bad Request"
        }
        return message(status, refusal.reason + "\n")
    }

    /// For a client beyond the server's connection limit: answered at once, not dropped,
    /// so a scraper records a failed scrape with a reason rather than a reset or a hang.
    static let busy = message("503 Service Unavailable", "too many connections to /metrics at once; retry later\n",
                              extra: ["Retry-After: 1"])

    /// For a client that had not finished its request head when its place was needed.
    static let timedOut = message("408 Request Timeout", "the request head took too long\n")

    /// A whole HTTP/1.1 response; `headOnly` (HEAD) leaves the body out but keeps its length.
    static func message(_ status: String, _ body: String, type: String = "text/plain; charset=utf-8",
                        headOnly: Bool = false, extra: [String] = []) -> [UInt8] {
        let bytes = Array(body.utf8)
        let fields = ["Content-Type: \(type)", "Content-Length: \(bytes.count)"] + extra + ["Connection: close"]
        let header = "HTTP/1.1 \(status)\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n"
        return Array(header.utf8) + (headOnly ? [] : bytes)
    }
}
