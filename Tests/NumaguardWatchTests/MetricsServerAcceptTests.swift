import Foundation
import NumaguardCore
@testable import NumaguardWatch
import XCTest

/// A connection /metrics accepts is non-blocking (a client that sends nothing cannot stall
/// the watch loop) and close-on-exec (it does not leak into a program watch runs), from the
/// one accept4 call: the flags are read back from the real descriptor.
final class MetricsServerAcceptTests: XCTestCase {
    func testAnAcceptedConnectionIsNonBlockingAndCloseOnExec() throws {
        let server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0))
        let client = try TestClient.connect(server.address.port)
        defer { close(client) }

        var descriptors = server.pollDescriptors(now: 0)
        _ = descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 10_000) }
        XCTAssertNil(server.serve(descriptors[...], now: 0) { "" })
        let polled = server.pollDescriptors(now: 0)
        XCTAssertEqual(polled.count, 2, "the listener and the accepted connection")
        let accepted = try XCTUnwrap(polled.last?.fd)
        XCTAssertNotEqual(fcntl(accepted, F_GETFL) & O_NONBLOCK, 0, "non-blocking")
        XCTAssertNotEqual(fcntl(accepted, F_GETFD) & FD_CLOEXEC, 0, "close-on-exec")
    }
}
