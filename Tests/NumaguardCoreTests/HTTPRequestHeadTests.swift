import NumaguardCore
import XCTest

/// The /metrics request head parser: what a scraper sends is taken, anything malformed is
/// refused with the status to answer, and nothing is waited for past the bound.
final class HTTPRequestHeadTests: XCTestCase {
    private func parse(_ text: String) -> HTTPRequestHead.Outcome { HTTPRequestHead.parse(Array(text.utf8)) }

    private func status(_ text: String) -> Int? {
        guard case let .refused(refusal) = parse(text) else { return nil }
        return refusal.status
    }

    func testAScrapersHead() {
        let prometheus = "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: Prometheus/2.53.0\r\n"
            + "Accept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n"
        XCTAssertEqual(parse(prometheus), .complete(HTTPRequestHead(method: "GET", target: "/metrics?x=1", version: "HTTP/1.1",
                                                                    length: prometheus.utf8.count)))
        guard case let .complete(head) = parse(prometheus + "trailing bytes") else { return XCTFail("a body does not change the head") }
        XCTAssertEqual(head.length, prometheus.utf8.count)
        XCTAssertEqual(head.path, "/metrics")
        // Bare LF ends lines too; a tab is allowed in a value.
        XCTAssertEqual(parse("HEAD / HTTP/1.0\nX:\ta\n\n"), .complete(HTTPRequestHead(method: "HEAD", target: "/", version: "HTTP/1.0", length: 22)))
    }

    func testIncompleteUntilTheBlankLine() {
        XCTAssertEqual(parse(""), .incomplete)
        XCTAssertEqual(parse("GET /metr"), .incomplete)
        XCTAssertEqual(parse("GET /metrics HTTP/1.1\r\n"), .incomplete)
        XCTAssertEqual(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n"), .incomplete)
        XCTAssertEqual(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r"), .incomplete)
    }

    func testMalformedHeadsAreRefusedAsSoonAsTheLineEnds() {
        XCTAssertEqual(status("\r\n"), 400, "an empty request line")
        XCTAssertEqual(status("GET /metrics\r\n"), 400, "HTTP/0.9")
        XCTAssertEqual(status("GET  /metrics HTTP/1.1\r\n"), 400, "two spaces")
        XCTAssertEqual(status("GET /metrics HTTP/1.1 x\r\n"), 400)
        XCTAssertEqual(status("G(T /metrics HTTP/1.1\r\n"), 400, "a method that is not a token")
        XCTAssertEqual(status("GET /met\u{7f}rics HTTP/1.1\r\n"), 400, "a control character in the target")
        XCTAssertEqual(status("GET /metrics HTTP/1.1\r\r\n"), 400, "a bare CR")
        XCTAssertEqual(status("GET /metrics HTTP/1.x\r\n"), 400)
        XCTAssertEqual(status("GET /metrics HTTP/2.0\r\n"), 505)
        XCTAssertEqual(status("GET /metrics HTTP/1.1\r\nHost x\r\n"), 400, "no colon")
        XCTAssertEqual(status("GET /metrics HTTP/1.1\r\nHost : x\r\n"), 400, "space before the colon")
        XCTAssertEqual(status("GET /metrics HTTP/1.1\r\nA: b\r\n  folded\r\n"), 400, "obsolete line folding")
        XCTAssertEqual(status("GET /metrics HTTP/1.1\r\nA: b\u{0}c\r\n"), 400, "NUL in a value")
        XCTAssertEqual(status("GET /metrics HTTP/1.1\r\nA: b\rc\r\n"), 400, "a bare CR in a value")
    }

    func testOversizedHeadsAreRefused431() {
        let longTarget = "GET /" + String(repeating: "a", count: HTTPRequestHead.maximumBytes) + " HTTP/1.1\r\n\r\n"
        XCTAssertEqual(status(longTarget), 431)
        XCTAssertEqual(status(String(repeating: "a", count: HTTPRequestHead.maximumBytes + 1)), 431, "no line end within the bound")
        XCTAssertEqual(parse(String(repeating: "a", count: HTTPRequestHead.maximumBytes)), .incomplete, "at the bound, not past it")
        let manyFields = "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: HTTPRequestHead.maximumFields + 1) + "\r\n"
        XCTAssertEqual(status(manyFields), 431)
        let enoughFields = "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: HTTPRequestHead.maximumFields) + "\r\n"
        guard case .complete = parse(enoughFields) else { return XCTFail("\(HTTPRequestHead.maximumFields) fields are allowed") }
        // A head that ends exactly at the bound is taken.
        let filler = HTTPRequestHead.maximumBytes - "GET / HTTP/1.1\r\nA: \r\n\r\n".utf8.count
        let exact = "GET / HTTP/1.1\r\nA: " + String(repeating: "b", count: filler) + "\r\n\r\n"
        XCTAssertEqual(exact.utf8.count, HTTPRequestHead.maximumBytes)
        guard case .complete = parse(exact + "x") else { return XCTFail("a head of exactly maximumBytes") }
    }
}
