import NumaguardAudit
import NumaguardCore
import TestSupport
import XCTest

/// An audit that could not run is written by the same JUnit and Prometheus writers as a full
/// report; its bytes are pinned as they were when it wrote its own XML.
final class AuditFailureTests: XCTestCase {
    let failure = AuditFailure(reason: .invalidPolicy, message: "bad <yaml> & \"x\"\r\tline 2", policyFile: "/etc/p&q.yaml",
                               exitStatus: .invalidPolicy)

    func testJUnitBytes() throws {
        let xml = failure.junit(timestamp: "2026-11-21T10:00:00Z")
        XCTAssertEqual(xml, """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="numaguard" tests="1" failures="0" errors="1" time="0">
              <testsuite name="numaguard audit" tests="1" failures="0" errors="1" skipped="0" time="0" timestamp="2026-11-21T10:00:00Z">
                <testcase classname="numaguard.audit" name="audit [/etc/p&amp;q.yaml]" time="0">
                  <error message="bad &lt;yaml&gt; &amp; &quot;x&quot;&#13;&#9;line 2" type="invalid_policy">the audit did not run (exit 78):
            bad &lt;yaml&gt; &amp; &quot;x&quot;&#13;\tline 2</error>
                </testcase>
              </testsuite>
            </testsuites>

            """)
        XCTAssertFalse(failure.junit().contains("timestamp="))
        try XMLSchema.validate(xml, against: "junit/junit-10-rules.xsd")
    }

    func testPrometheusBytes() {
        XCTAssertEqual(failure.prometheus(timestamp: 1_795_000_000.5), """
            # HELP numaguard_audit_compliant 1 if the last audit exited 0 (no failure at or above fail-on, nothing incomplete), else 0.
            # TYPE numaguard_audit_compliant gauge
            numaguard_audit_compliant 0
            # HELP numaguard_audit_error 1 if the last audit could not run at all, by reason (invalid_policy, input_unreadable, host_unreadable), else 0.
            # TYPE numaguard_audit_error gauge
            numaguard_audit_error{reason="invalid_policy"} 1
            numaguard_audit_error{reason="input_unreadable"} 0
            numaguard_audit_error{reason="host_unreadable"} 0
            # HELP numaguard_audit_last_run_timestamp_seconds When the last audit ran, in seconds since the Unix epoch.
            # TYPE numaguard_audit_last_run_timestamp_seconds gauge
            numaguard_audit_last_run_timestamp_seconds 1795000000.5

            """)
    }
}
