import Foundation
import NumaguardCore
@testable import NumaguardLaunch
import NumaguardOutput
import XCTest

/// The launch record is written by hand (the launch path carries no JSON encoder); it must
/// decode with Foundation's decoder into the same value, whatever the argv holds.
final class LaunchRecordTests: XCTestCase {
    private func record(arguments: [String], cpus: IDSet? = IDSet([2, 3]), user: String? = "trader",
                        policy: (String, String, String)? = ("/etc/numaguard/trading host.yaml", "ab12", "trading-engine")) -> LaunchRecord {
        LaunchRecord(
            tool: "numaguard 0.3.0", pid: 4242, startTime: 18_446_744_073_709_551_615, bootID: "c0ffee00-0000-4000-8000-000000000001",
            launchedAt: "2026-11-21T08:00:00Z", program: "/opt/engine/bin/engine", arguments: arguments, user: user, cpus: cpus,
            memoryPolicy: "bind=static:1", source: "workload \"trading-engine\" of /etc/numaguard/trading host.yaml",
            policyPath: policy?.0, policyDigest: policy?.1, workload: policy?.2
        )
    }

    private func decode(_ record: LaunchRecord) throws -> LaunchRecord {
        try JSONDecoder().decode(LaunchRecord.self, from: Data(record.json.utf8))
    }

    func testRoundTripsThroughFoundation() throws {
        let written = record(arguments: ["engine", "--venue", "XLON"])
        XCTAssertEqual(try decode(written), written)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(written.json.utf8)) as? [String: Any])
        XCTAssertEqual(object["format_version"] as? Int, 1)
        XCTAssertEqual(object["cpus"] as? String, "2-3", "CPU sets in the kernel's list spelling")
        XCTAssertEqual(object["start_time"] as? UInt64, 18_446_744_073_709_551_615)
        XCTAssertEqual(Set(object.keys), [
            "format_version", "tool", "pid", "start_time", "boot_id", "launched_at", "program", "arguments", "user", "cpus",
            "memory_policy", "source", "policy_path", "policy_digest", "workload",
        ])
    }

    func testAbsentValuesAreNull() throws {
        let written = record(arguments: ["true"], cpus: nil, user: nil, policy: nil)
        XCTAssertEqual(try decode(written), written)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(written.json.utf8)) as? [String: Any])
        for key in ["cpus", "user", "policy_path", "policy_digest", "workload"] {
            XCTAssertTrue(object[key] is NSNull, key)
        }
    }

    func testOddArgvIsQuotedExactly() throws {
        let odd = ["engine", "", "a b", "quote\"d", "back\\slash", "new\nline", "tab\there", "cr\r", "bell\u{07}", "nul-ish\u{01}\u{1F}",
                   "é ü ß", "日本", "🚀", "\u{7F}", "\u{2028}", "--flag=\"x\"", "\\\"", "{\"json\": [1]}"]
        let written = record(arguments: odd)
        let decoded = try decode(written)
        XCTAssertEqual(decoded.arguments, odd)
        XCTAssertEqual(decoded, written)
        XCTAssertFalse(written.json.contains("\u{07}"), "control characters are escaped, not written raw")
        XCTAssertTrue(written.json.contains("\"bell\\u0007\""), written.json)
        XCTAssertTrue(written.json.contains("\"nul-ish\\u0001\\u001f\""), written.json)
        XCTAssertTrue(written.json.contains("\"new\\nline\""))
    }

    func testJSONQuotingMatchesFoundationForEveryControlCharacter() throws {
        for value in 0..<0x20 {
            let text = "x" + String(UnicodeScalar(UInt8(value))) + "y"
            let quoted = JSONText.quoted(text)
            let decoded = try JSONDecoder().decode(String.self, from: Data(quoted.utf8))
            XCTAssertEqual(decoded, text, "control character \(value)")
        }
    }

    func testFileNameIsUniquePerProcess() {
        XCTAssertEqual(record(arguments: []).fileName, "4242-18446744073709551615.json")
    }
}
