import Foundation
import NumaguardCore
@testable import NumaguardWatch
import XCTest

/// The /metrics server's failure path on the real kernel: accept refused for want of file
/// descriptors (EMFILE, as on a host at its limit) while a client waits in the backlog.
final class MetricsServerTests: XCTestCase {
    func testAcceptFailureIsReportedOnceAndTheListenerRestsInsteadOfSpinning() throws {
        let port = UInt16.random(in: 20000...60000)
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: port))
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(client, 0)
        defer { close(client) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0, "the connection waits in the listener's backlog")

        func ready(_ now: Double) -> [pollfd] {
            var descriptors = server.pollDescriptors(now: now)
            _ = descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 1000) }
            return descriptors
        }
        // Every descriptor below the soft limit in use: accept(2) fails with EMFILE.
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)
        let lowest = open("/dev/null", O_RDONLY)
        close(lowest)
        var low = saved
        low.rlim_cur = rlim_t(lowest)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &low), 0)
        let listening = ready(0)
        let first = server.serve(listening[...], now: 0) { "" }
        let resting = server.pollDescriptors(now: 0.5).count
        let deadline = server.nextDeadline
        let second = server.serve(ready(1)[...], now: 1) { "" }
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)

        XCTAssertEqual(listening.count, 1)
        XCTAssertEqual(listening[0].revents & Int16(POLLIN), Int16(POLLIN))
        XCTAssertEqual(first, "/metrics on 127.0.0.1:\(port): accept(127.0.0.1:\(port)): Too many open files; "
                       + "not accepting for 1s at a time until it works again")
        XCTAssertEqual(resting, 0, "the listener is not polled during the back-off, so the loop cannot spin on it")
        XCTAssertEqual(deadline, 1, "the back-off's end wakes the loop")
        XCTAssertNil(second, "the same failure again is not reported again")

        // Descriptors again: the waiting client is taken and answered.
        XCTAssertNil(server.serve(ready(2)[...], now: 2) { "" })
        XCTAssertEqual(server.pollDescriptors(now: 2).count, 2, "the listener and the accepted client")
        let request = Array("GET /metrics HTTP/1.0\r\n\r\n".utf8)
        XCTAssertEqual(request.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }, request.count)
        XCTAssertNil(server.serve(ready(2.1)[...], now: 2.1) { "a 1\n" })
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
        XCTAssertTrue(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).hasPrefix("HTTP/1.1 200 OK"))
    }
}
