import NumaguardHost
import XCTest

final class SignalsTests: XCTestCase {
    /// The SigBlk and SigIgn lines as a 6.1 kernel prints them for a process under nohup with
    /// SIGPIPE ignored (bits 0 and 12: SIGHUP, SIGPIPE) and SIGUSR1 blocked (bit 9).
    func testMasksComeFromTheStatusLines() {
        let status = """
            Name:\tengine
            SigQ:\t0/63431
            SigPnd:\t0000000000000000
            ShdPnd:\t0000000000000000
            SigBlk:\t0000000000000200
            SigIgn:\t0000000000001001
            SigCgt:\t0000000000000000
            """
        XCTAssertEqual(SignalState(status: status), SignalState(blocked: 0x200, ignored: 0x1001))
    }

    /// A status without the lines, or with a malformed mask, resets every signal rather than none.
    func testMissingOrMalformedMasksMeanEverySignal() {
        XCTAssertEqual(SignalState(status: "Name:\tx\n"), .unknown)
        let malformed = SignalState(status: "SigBlk:\tzz\nSigIgn:\t0000000000000000\n")
        XCTAssertEqual(malformed, SignalState(blocked: ~0, ignored: 0))
    }
}
