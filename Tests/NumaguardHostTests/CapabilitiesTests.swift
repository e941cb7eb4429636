import CCap
#if canImport(Glibc)
import Glibc
#endif
@testable import NumaguardHost
import XCTest

/// Capabilities are read and set with raw capget/capset (CLinux), libcap being the oracle;
/// lowering a capability around a call: a restore the kernel refuses is an error, never
/// swallowed (the caller would go on believing it holds the capability).
final class CapabilitiesTests: XCTestCase {
    /// Every capability the kernel numbers (0 to 63), in each set, as libcap reads it.
    func testRawReadAgreesWithLibcap() throws {
        let sets = try CapabilitySets.current()
        guard let caps = cap_get_proc() else { return XCTFail("cap_get_proc") }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        let known = Int32(cap_max_bits())
        XCTAssertGreaterThan(known, 30)
        for (flag, mask, name) in [(CAP_EFFECTIVE, sets.effective, "effective"), (CAP_PERMITTED, sets.permitted, "permitted"),
                                   (CAP_INHERITABLE, sets.inheritable, "inheritable")] {
            for capability in 0..<known {
                var value = CAP_CLEAR
                XCTAssertEqual(cap_get_flag(caps, cap_value_t(capability), flag, &value), 0)
                XCTAssertEqual(mask & (1 << UInt64(capability)) != 0, value == CAP_SET, "\(name) capability \(capability)")
            }
            XCTAssertEqual(mask >> UInt64(known), 0, "\(name): no bit above the kernel's last capability")
        }
        let current = Capabilities.current()
        for capability in Capabilities.Capability.known {
            var value = CAP_CLEAR
            XCTAssertEqual(cap_get_flag(caps, cap_value_t(capability.value), CAP_EFFECTIVE, &value), 0)
            XCTAssertEqual(current.holds(capability), value == CAP_SET, capability.name)
            var named: cap_value_t = 0
            XCTAssertEqual(cap_from_name(capability.name.lowercased(), &named), 0, capability.name)
            XCTAssertEqual(named, cap_value_t(capability.value), "\(capability.name) is the kernel's number")
        }
    }

    /// Lowered and restored for real (as root, with CAP_SYS_NICE to lower): libcap sees it out
    /// of the effective set inside, still permitted, and back after.
    func testLoweringIsVisibleToLibcapAndUndone() throws {
        let before = try CapabilitySets.current()
        guard before.effective & Capabilities.Capability.sysNice.bit != 0 else { throw XCTSkip("needs CAP_SYS_NICE effective") }
        func held(_ flag: cap_flag_t) -> Bool {
            guard let caps = cap_get_proc() else { return false }
            defer { cap_free(UnsafeMutableRawPointer(caps)) }
            var value = CAP_CLEAR
            return cap_get_flag(caps, cap_value_t(CAP_SYS_NICE), flag, &value) == 0 && value == CAP_SET
        }
        let inside = try Capabilities.withoutEffective(.sysNice) { () throws(SystemCallError) in (held(CAP_EFFECTIVE), held(CAP_PERMITTED)) }
        XCTAssertFalse(inside.0, "out of the effective set inside")
        XCTAssertTrue(inside.1, "still permitted inside")
        XCTAssertEqual(try CapabilitySets.current(), before)
    }

    func testAFailedRestoreFailsTheCallEvenWhenTheBodySucceeded() throws {
        let original = try CapabilitySets.current()
        defer { _ = CapabilitySets.apply(original) } // the test thread's own sets, whatever the test did
        var calls = 0
        var ran = false
        // The first call lowers (really, through capset); the restore is refused with EPERM.
        let setProc: (CapabilitySets) -> Int32 = { sets in
            calls += 1
            if calls == 1 { return CapabilitySets.apply(sets) }
            errno = EPERM
            return -1
        }
        XCTAssertThrowsError(try Capabilities.withoutEffective(.sysNice, setProc: setProc) { () throws(SystemCallError) in ran = true }) { error in
            let failure = error as? SystemCallError
            XCTAssertEqual(failure?.call, "capset")
            XCTAssertEqual(failure?.subject, "restoring CAP_SYS_NICE to the effective set")
            XCTAssertEqual(failure?.errno, .notPermitted)
        }
        XCTAssertTrue(ran)
        XCTAssertEqual(calls, 2)
    }
}
