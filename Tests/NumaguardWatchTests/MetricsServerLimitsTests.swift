import Foundation
import NumaguardCore
@testable import NumaguardWatch
import XCTest

/// The /metrics server under hostile or heavy use, over real sockets on 127.0.0.1: idle
/// connections, bursts, slow and oversized requests, clients that do not read. No timing
/// is asserted; the clients' timeouts (`TestClient.hangSeconds`) only catch a hang.
final class MetricsServerLimitsTests: XCTestCase {
    /// Idle connections held open the whole time (their head deadline is long here) do not
    /// keep scrapes out.
    func testSixteenIdleConnectionsAndThirtyScrapesAllServed() throws {
        var limits = MetricsServer.Limits.standard
        limits.headSeconds = 600
        let loop = try ServerLoop(limits: limits)
        defer { loop.stop() }
        let idle = try (0..<16).map { _ in try TestClient.connect(loop.port) }
        defer { idle.forEach { close($0) } }
        var answers: [String] = []
        for _ in 0..<30 { answers.append(try TestClient.get(loop.port)) }
        let served = answers.filter { $0.hasPrefix("HTTP/1.1 200 OK\r\n") && $0.hasSuffix("\r\n\r\nnumaguard_test 1\n") }
        XCTAssertEqual(served.count, 30, "\(answers.filter { !$0.hasPrefix("HTTP/1.1 200") })")
    }

    /// A burst well past the connection limit: every request is answered, 200 or 503, none
    /// is closed without an answer.
    func testFiveHundredSimultaneousGETsAreEachAnswered() throws {
        let loop = try ServerLoop()
        defer { loop.stop() }
        var clients: [Int32] = []
        defer { clients.forEach { close($0) } }
        // Each asks at once (a client that connects and says nothing is dropped at its deadline);
        // the answers are read once all 500 have asked.
        for _ in 0..<500 {
            let fd = try TestClient.connect(loop.port)
            clients.append(fd)
            TestClient.send(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        }
        let answers = clients.map(TestClient.readAll)
        let ok = answers.filter { $0.hasPrefix("HTTP/1.1 200 OK\r\n") && $0.hasSuffix("numaguard_test 1\n") }.count
        let busy = answers.filter { $0.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n") && $0.contains("\r\nRetry-After: 1\r\n") }.count
        XCTAssertEqual(ok + busy, 500, "unanswered or other: \(answers.filter { !$0.hasPrefix("HTTP/1.1 200") && !$0.hasPrefix("HTTP/1.1 503") }.prefix(3))")
        XCTAssertGreaterThanOrEqual(ok, 1)
    }

    /// Past the limit a newcomer is answered 503 at once, with Connection: close and
    /// Retry-After, while the connection holding the place has not had `evictAfterSeconds`.
    func testBeyondTheLimitANewcomerIsAnswered503() throws {
        var limits = MetricsServer.Limits.standard
        limits.clients = 1
        limits.headSeconds = 600
        limits.evictAfterSeconds = 600
        let loop = try ServerLoop(limits: limits)
        defer { loop.stop() }
        let holder = try TestClient.connect(loop.port)
        defer { close(holder) }
        // Until the server has taken the holder, a scrape may still be served: wait for the 503.
        var answer = ""
        for _ in 0..<600 {
            answer = try TestClient.get(loop.port)
            if !answer.hasPrefix("HTTP/1.1 200") { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(answer, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 54\r\n"
                       + "Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections to /metrics at once; retry later\n")
    }

    /// Idle connections filling every place give way to a scraper (the oldest is answered
    /// 408) once they have had `evictAfterSeconds`, even though their own deadline is far.
    func testIdleConnectionsHoldingEveryPlaceGiveWayToAScrape() throws {
        var limits = MetricsServer.Limits.standard
        limits.clients = 4
        limits.headSeconds = 600
        limits.evictAfterSeconds = 0.2
        let loop = try ServerLoop(limits: limits)
        defer { loop.stop() }
        let idle = try (0..<4).map { _ in try TestClient.connect(loop.port) }
        defer { idle.forEach { close($0) } }
        var answer = ""
        for _ in 0..<600 {
            answer = try TestClient.get(loop.port)
            if answer.hasPrefix("HTTP/1.1 200") { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), answer)
        // The oldest idle connection was told why it lost its place.
        XCTAssertTrue(TestClient.readAll(idle[0]).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
    }

    /// A client that has its answer but keeps its connection open (lingering) gives its
    /// place to a newcomer at once rather than at its linger deadline.
    func testAnAnsweredClientThatStaysConnectedGivesWay() throws {
        var limits = MetricsServer.Limits.standard
        limits.clients = 1
        limits.lingerSeconds = 600
        limits.evictAfterSeconds = 600
        let loop = try ServerLoop(limits: limits)
        defer { loop.stop() }
        let first = try TestClient.connect(loop.port)
        defer { close(first) }
        TestClient.send(first, "GET /metrics HTTP/1.1\r\n\r\n")
        XCTAssertTrue(TestClient.readAll(first).hasPrefix("HTTP/1.1 200 OK\r\n"), "answered, then our FIN; it does not close")
        XCTAssertTrue(try TestClient.get(loop.port).hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    func testAnOversizedHeadIsAnswered431() throws {
        let loop = try ServerLoop()
        defer { loop.stop() }
        let long = try TestClient.connect(loop.port)
        defer { close(long) }
        TestClient.send(long, "GET /" + String(repeating: "a", count: HTTPRequestHead.maximumBytes + 100))
        XCTAssertTrue(TestClient.readAll(long).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        let many = try TestClient.connect(loop.port)
        defer { close(many) }
        TestClient.send(many, "GET /metrics HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: HTTPRequestHead.maximumFields + 1))
        XCTAssertTrue(TestClient.readAll(many).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        let bad = try TestClient.connect(loop.port)
        defer { close(bad) }
        TestClient.send(bad, "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n")
        XCTAssertTrue(TestClient.readAll(bad).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
    }

    // MARK: - deadlines, with the server driven by hand and its clock given

    private func turn(_ server: MetricsServer, at now: Double, metrics: () -> String = { "" }) {
        var descriptors = server.pollDescriptors(now: now)
        _ = descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 1000) }
        XCTAssertNil(server.serve(descriptors[...], now: now, metrics: metrics))
    }

    /// A client sending its head a byte at a time is dropped at the head deadline, however
    /// steadily it sends.
    func testASlowlorisClientIsDroppedAtItsDeadline() throws {
        var limits = MetricsServer.Limits.standard
        limits.headSeconds = 3
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0), limits: limits)
        let client = try TestClient.connect(server.address.port)
        defer { close(client) }
        turn(server, at: 0)
        XCTAssertEqual(server.pollDescriptors(now: 0).count, 2, "the listener and the client")
        for (index, byte) in "GET /metrics".enumerated() {
            TestClient.send(client, String(byte))
            turn(server, at: 0.25 * Double(index))
        }
        XCTAssertEqual(server.pollDescriptors(now: 2.9).count, 2, "still within its deadline")
        XCTAssertEqual(server.nextDeadline, 3)
        _ = server.serve([], now: 3) { "" }
        XCTAssertEqual(server.pollDescriptors(now: 3).count, 1, "dropped")
        XCTAssertEqual(TestClient.readAll(client), "", "closed without an answer: it never asked")
    }

    /// A request that came in while the loop was held (a slow sample) past the client's
    /// deadline is answered, not dropped.
    func testARequestThatArrivedDuringALongSampleIsAnswered() throws {
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0))
        let client = try TestClient.connect(server.address.port)
        defer { close(client) }
        turn(server, at: 0)
        TestClient.send(client, "GET /metrics HTTP/1.1\r\n\r\n")
        turn(server, at: 100, metrics: { "a 1\n" })
        XCTAssertTrue(TestClient.readAll(client).hasSuffix("\r\n\r\na 1\n"))
    }

    /// A client that asks and does not read holds nothing up past its write deadline.
    func testAClientThatDoesNotReadIsDroppedAtItsDeadline() throws {
        var limits = MetricsServer.Limits.standard
        limits.writeSeconds = 10
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0), limits: limits)
        let client = try TestClient.connect(server.address.port)
        defer { close(client) }
        TestClient.send(client, "GET /metrics HTTP/1.1\r\n\r\n")
        let large = String(repeating: "numaguard_test 1\n", count: 1 << 20)
        turn(server, at: 0, metrics: { large })
        XCTAssertEqual(server.pollDescriptors(now: 1).count, 2, "a 17 MiB answer does not fit the socket: still writing")
        XCTAssertEqual(server.nextDeadline, 10)
        _ = server.serve([], now: 10) { "" }
        XCTAssertEqual(server.pollDescriptors(now: 10).count, 1, "dropped")
        XCTAssertLessThan(TestClient.readAll(client).utf8.count, large.utf8.count)
    }
}
