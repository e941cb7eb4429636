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

    /// Idle connections holding every place for heads give way to newcomers, the oldest
    /// first (closed without an answer: it never asked), however young; a scrape does not
    /// even need a place: its request is read on arrival and answered.
    func testIdleConnectionsHoldingEveryPlaceGiveWayAtOnce() throws {
        var limits = MetricsServer.Limits.standard
        limits.readers = 4
        limits.headSeconds = 600
        limits.evictAfterSeconds = 600
        let loop = try ServerLoop(limits: limits)
        defer { loop.stop() }
        let idle = try (0..<4).map { _ in try TestClient.connect(loop.port) }
        defer { idle.forEach { close($0) } }
        // Taken after the four (the accept queue is first in, first out), and answered.
        XCTAssertTrue(try TestClient.get(loop.port).hasPrefix("HTTP/1.1 200 OK\r\n"))
        let newcomer = try TestClient.connect(loop.port)
        defer { close(newcomer) }
        XCTAssertEqual(TestClient.readAll(idle[0]), "", "closed without an answer when the newcomer needed its place")
        TestClient.send(newcomer, "GET /metrics HTTP/1.1\r\n\r\n")
        XCTAssertTrue(TestClient.readAll(newcomer).hasPrefix("HTTP/1.1 200 OK\r\n"), "the newcomer has the place")
        TestClient.send(idle[1], "GET /metrics HTTP/1.1\r\n\r\n")
        XCTAssertTrue(TestClient.readAll(idle[1]).hasPrefix("HTTP/1.1 200 OK\r\n"), "the others kept theirs")
    }

    /// A client that has its answer but keeps its connection open (lingering) gives its
    /// place to a newcomer at once rather than at its linger deadline.
    func testAnAnsweredClientThatStaysConnectedGivesWay() throws {
        var limits = MetricsServer.Limits.standard
        limits.readers = 1
        limits.connections = 1
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

    // MARK: - when every place is taken, with the server driven by hand

    /// A connection sending `text`, taken and read by the server at `now`.
    private func reader(_ server: MetricsServer, sending text: String, at now: Double) throws -> Int32 {
        let fd = try TestClient.connect(server.address.port)
        if !text.isEmpty { TestClient.send(fd, text) }
        turn(server, at: now)
        return fd
    }

    /// Every place for heads held by a client that has sent part of its own, not long ago:
    /// a newcomer with a whole request is answered (it was answered 503, unread), one that
    /// has sent nothing is answered 503 with Retry-After.
    func testWhenEveryPlaceIsHeldARequestIsAnsweredAndSilenceIs503() throws {
        var limits = MetricsServer.Limits.standard
        limits.readers = 1
        limits.evictAfterSeconds = 600
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0), limits: limits)
        let holder = try reader(server, sending: "GET /met", at: 0)
        defer { close(holder) }
        let scraper = try reader(server, sending: "GET /metrics HTTP/1.1\r\n\r\n", at: 0.1)
        defer { close(scraper) }
        XCTAssertEqual(TestClient.readAll(scraper), "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                       + "Content-Length: 0\r\nConnection: close\r\n\r\n")
        let silent = try reader(server, sending: "", at: 0.2)
        defer { close(silent) }
        XCTAssertEqual(TestClient.readAll(silent), "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Content-Length: 54\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections to /metrics at once; retry later\n")
    }

    /// A client still sending its head after `evictAfterSeconds` gives its place to a
    /// newcomer when nobody idle can, and is told why (408).
    func testASlowHeadPastEvictAfterGivesWayWith408() throws {
        var limits = MetricsServer.Limits.standard
        limits.readers = 1
        limits.headSeconds = 600
        limits.evictAfterSeconds = 0.5
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0), limits: limits)
        let slow = try reader(server, sending: "GET /met", at: 0)
        defer { close(slow) }
        let newcomer = try reader(server, sending: "", at: 1)
        defer { close(newcomer) }
        turn(server, at: 1.1)
        XCTAssertTrue(TestClient.readAll(slow).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        TestClient.send(newcomer, "GET /metrics HTTP/1.1\r\n\r\n")
        turn(server, at: 1.2)
        XCTAssertTrue(TestClient.readAll(newcomer).hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    /// An idle client about to give way gets a last read: a request that came since the
    /// server last looked is answered, not thrown away, and the newcomer has the place.
    func testARequestThatJustCameIsAnsweredRatherThanEvicted() throws {
        var limits = MetricsServer.Limits.standard
        limits.readers = 1
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0), limits: limits)
        let late = try reader(server, sending: "", at: 0)
        defer { close(late) }
        TestClient.send(late, "GET /metrics HTTP/1.1\r\n\r\n")
        let newcomer = try TestClient.connect(server.address.port)
        defer { close(newcomer) }
        // Only the listener reported ready: the late request is found by the last read.
        var descriptors = server.pollDescriptors(now: 0.1)
        descriptors[0].revents = Int16(POLLIN)
        XCTAssertNil(server.serve(descriptors[...], now: 0.1) { "a 1\n" })
        XCTAssertTrue(TestClient.readAll(late).hasSuffix("\r\n\r\na 1\n"))
        TestClient.send(newcomer, "GET /metrics HTTP/1.1\r\n\r\n")
        turn(server, at: 0.2)
        XCTAssertTrue(TestClient.readAll(newcomer).hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    /// With every connection held, one already answered and closing gives way, so the
    /// listener stays open to newcomers.
    func testWhenEveryConnectionIsHeldAnAnsweredOneGivesWay() throws {
        var limits = MetricsServer.Limits.standard
        limits.readers = 1
        limits.connections = 2
        limits.evictAfterSeconds = 600
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0), limits: limits)
        let holder = try reader(server, sending: "GET /met", at: 0)
        defer { close(holder) }
        let first = try reader(server, sending: "", at: 0.1)
        defer { close(first) }
        XCTAssertTrue(TestClient.readAll(first).hasPrefix("HTTP/1.1 503 "), "answered, then our FIN; it does not close")
        XCTAssertEqual(server.pollDescriptors(now: 0.2).count, 3, "the listener, the holder and the one answered")
        let second = try reader(server, sending: "", at: 0.2)
        defer { close(second) }
        XCTAssertTrue(TestClient.readAll(second).hasPrefix("HTTP/1.1 503 "))
        XCTAssertEqual(server.pollDescriptors(now: 0.3).count, 3, "the first gave its connection to the second")
    }
}
