import Foundation
import NumaguardCore
@testable import NumaguardWatch
import XCTest

/// The /metrics server under a flood of connections that never send anything, over real
/// sockets on 127.0.0.1, with the production limits: what any local user can do to blind
/// Prometheus. Before the fix, every place was held by idle connections not yet old enough
/// to give way, so a scrape waited behind thousands of them and was answered 503 unread.
final class MetricsServerFloodTests: XCTestCase {
    func testAFloodOfIdleConnectionsDoesNotKeepScrapesOut() throws {
        let held = 3000
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)
        try XCTSkipIf(saved.rlim_max < rlim_t(held + 1024), "needs \(held + 1024) descriptors, the hard limit is \(saved.rlim_max)")
        var raised = saved
        raised.rlim_cur = max(saved.rlim_cur, rlim_t(held + 1024))
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised), 0)
        defer { XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0) }

        let loop = try ServerLoop()
        defer { loop.stop() }
        let flood = IdleFlood(port: loop.port, held: held, maximum: 30000)
        defer { flood.stop() }
        // The flood has outnumbered every place the server has before the first scrape.
        while flood.opened < 2 * MetricsServer.Limits.standard.connections && !flood.isFinished {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let before = flood.opened
        var answers: [String] = []
        for _ in 0..<10 {
            answers.append(try TestClient.get(loop.port))
            Thread.sleep(forTimeInterval: 0.1)
        }
        let during = flood.opened
        flood.stop()
        let served = answers.filter { $0.hasPrefix("HTTP/1.1 200 OK\r\n") && $0.hasSuffix("\r\n\r\nnumaguard_test 1\n") }
        XCTAssertGreaterThanOrEqual(served.count, 9, "\(answers.filter { !$0.hasPrefix("HTTP/1.1 200") }.map { $0.prefix(40) })")
        XCTAssertGreaterThan(during, before, "the flood went on during the scrapes (\(flood.failed) connects failed)")
    }
}

/// Opens connections that never send anything, as fast as about `batch` every `pauseSeconds`
/// (1000/s), on its own thread, keeping the newest `held` open, until stopped or `maximum`
/// have been opened. Connects are non-blocking: a full accept queue slows the flood's SYNs,
/// not its thread.
final class IdleFlood: @unchecked Sendable {
    private let lock = NSLock()
    private var stopping = false
    private var count = 0
    private var failures = 0
    private var finished = false
    private let done = DispatchSemaphore(value: 0)

    init(port: UInt16, batch: Int = 10, pauseSeconds: Double = 0.01, held: Int, maximum: Int) {
        let thread = Thread { [self] in run(port: port, batch: batch, pauseSeconds: pauseSeconds, held: held, maximum: maximum) }
        thread.start()
    }

    var opened: Int { locked { count } }
    var isFinished: Bool { locked { finished } }

    var failed: Int { locked { failures } }

    /// Stops the flood and closes its connections; again, it returns at once.
    func stop() {
        locked { stopping = true }
        done.wait()
        done.signal()
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private func run(port: UInt16, batch: Int, pauseSeconds: Double, held: Int, maximum: Int) {
        var open: [Int32] = []
        var oldest = 0
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        while !locked({ stopping }) && opened < maximum {
            for _ in 0..<batch {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                let connected = fd < 0 ? -1 : withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 || errno == EINPROGRESS else {
                    if fd >= 0 { close(fd) }
                    locked { failures += 1 }
                    continue
                }
                // A ring of the newest `held`: the oldest is closed as a new one takes its slot.
                if open.count < held {
                    open.append(fd)
                } else {
                    close(open[oldest])
                    open[oldest] = fd
                    oldest = (oldest + 1) % held
                }
                locked { count += 1 }
            }
            Thread.sleep(forTimeInterval: pauseSeconds)
        }
        open.forEach { close($0) }
        locked { finished = true }
        done.signal()
    }
}
