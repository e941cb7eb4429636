import Foundation
import NumaguardCore
import NumaguardHost
@testable import NumaguardWatch
import XCTest

/// A MetricsServer on 127.0.0.1 and an ephemeral port, driven on its own thread by the same
/// poll-then-serve turn as the watch's loop, until `stop`.
final class ServerLoop: @unchecked Sendable {
    let port: UInt16
    private let server: MetricsServer
    private let metrics: @Sendable () -> String
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(limits: MetricsServer.Limits = .standard, metrics: @escaping @Sendable () -> String = { "numaguard_test 1\n" }) throws {
        server = try MetricsServer(ListenAddress(octets: [127, 0, 0, 1], port: 0), limits: limits)
        port = server.address.port
        self.metrics = metrics
        let thread = Thread { [self] in run() }
        thread.start()
    }

    private var shouldStop: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func run() {
        while !shouldStop {
            let now = SystemClock.monotonic()
            var descriptors = server.pollDescriptors(now: now)
            let wait = server.nextDeadline.map { Int32(max(0, min(50, ($0 - now) * 1000))) } ?? 50
            _ = descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), wait) }
            _ = server.serve(descriptors[...], now: SystemClock.monotonic(), metrics: metrics)
        }
        finished.signal()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        finished.wait()
    }
}

/// Blocking client sockets with generous timeouts: they only turn a hang into a failure.
enum TestClient {
    static let hangSeconds = 60

    static func connect(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var timeout = timeval(tv_sec: hangSeconds, tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            setsockopt(fd, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .ECONNREFUSED)
        }
        return fd
    }

    @discardableResult
    static func send(_ fd: Int32, _ text: String) -> Int {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Everything until the server closes (or resets, or the hang timeout).
    static func readAll(_ fd: Int32) -> String {
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    static func get(_ port: UInt16, _ path: String = "/metrics") throws -> String {
        let fd = try connect(port)
        defer { close(fd) }
        send(fd, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        return readAll(fd)
    }
}
