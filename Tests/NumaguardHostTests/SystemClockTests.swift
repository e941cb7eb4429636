#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardHost
import XCTest

/// SystemClock.sleep: nanosleep through the errno funnel. A stand-in nanosleep shows what the
/// kernel is asked each time; one real wait shows it is at least as long as asked.
final class SystemClockTests: XCTestCase {
    /// A nanosleep the kernel interrupts `interruptions` times, leaving `left` seconds each time.
    final class Interrupted: @unchecked Sendable {
        var requests: [Double] = []
        var interruptions: Int
        let left: timespec

        init(interruptions: Int, left: timespec) {
            self.interruptions = interruptions
            self.left = left
        }

        func call(_ request: UnsafePointer<timespec>, _ remaining: UnsafeMutablePointer<timespec>) -> Int32 {
            requests.append(Double(request.pointee.tv_sec) + Double(request.pointee.tv_nsec) / 1e9)
            guard interruptions > 0 else { return 0 }
            interruptions -= 1
            remaining.pointee = left
            errno = EINTR
            return -1
        }
    }

    func testAnInterruptedWaitResumesWithTheTimeLeft() throws {
        let kernel = Interrupted(interruptions: 2, left: timespec(tv_sec: 0, tv_nsec: 250_000_000))
        try SystemClock.sleep(1.5, call: kernel.call)
        XCTAssertEqual(kernel.requests, [1.5, 0.25, 0.25], "never restarted from the full 1.5 s, never cut short")
    }

    func testNothingToWaitForMakesNoCall() throws {
        let kernel = Interrupted(interruptions: 0, left: timespec())
        for seconds in [0, -1, .nan, .infinity] { try SystemClock.sleep(seconds, call: kernel.call) }
        XCTAssertEqual(kernel.requests, [])
        try SystemClock.sleep(1e12, call: kernel.call)
        XCTAssertEqual(kernel.requests, [SystemClock.longestSleep])
    }

    func testARefusedWaitIsAnError() {
        XCTAssertThrowsError(try SystemClock.sleep(0.5, call: { _, _ in
            errno = EINVAL
            return -1
        })) { error in
            XCTAssertEqual("\(error)", "nanosleep(0.5s): \(Errno.invalid)")
        }
    }

    func testARealWaitLastsAtLeastAsLongAsAsked() throws {
        let start = SystemClock.monotonic()
        try SystemClock.sleep(0.05)
        XCTAssertGreaterThanOrEqual(SystemClock.monotonic() - start, 0.05)
    }
}
