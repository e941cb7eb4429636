import CCap
#if canImport(Glibc)
import Glibc
#endif
@testable import NumaguardHost
import XCTest

/// Lowering a capability around a call: a restore the kernel refuses is an error, never
/// swallowed (the caller would go on believing it holds the capability).
final class CapabilitiesTests: XCTestCase {
    func testAFailedRestoreFailsTheCallEvenWhenTheBodySucceeded() {
        guard let original = cap_get_proc() else { return XCTFail("cap_get_proc") }
        defer {
            _ = cap_set_proc(original) // the test process's own set, whatever the test did
            cap_free(UnsafeMutableRawPointer(original))
        }
        var calls = 0
        var ran = false
        // The first call lowers (really, through libcap); the restore is refused with EPERM.
        let setProc: (cap_t) -> Int32 = { caps in
            calls += 1
            if calls == 1 { return cap_set_proc(caps) }
            errno = EPERM
            return -1
        }
        XCTAssertThrowsError(try Capabilities.withoutEffective(.sysNice, setProc: setProc) { () throws(SystemCallError) in ran = true }) { error in
            let failure = error as? SystemCallError
            XCTAssertEqual(failure?.call, "cap_set_proc")
            XCTAssertEqual(failure?.subject, "restoring CAP_SYS_NICE to the effective set")
            XCTAssertEqual(failure?.errno, .notPermitted)
        }
        XCTAssertTrue(ran)
        XCTAssertEqual(calls, 2)
    }
}
