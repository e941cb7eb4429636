// XCTest exists only in the toolchain's test configuration: a packager's
// `swift build -c release --static-swift-stdlib` builds this target without it.
#if canImport(XCTest)
import Foundation
import XCTest

/// `xmllint --schema`, libxml2's validator: the JUnit numaguard writes must pass the schema CI
/// systems validate against. Like promtool, a developer machine without it skips, saying how
/// to install it; a full run (NUMAGUARD_VM_TESTS=1) or CI fails instead.
public enum XMLSchema {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "xmllint is not installed but this run must validate the JUnit (NUMAGUARD_VM_TESTS=1 or CI): scripts/setup.sh --test installs it (apt-get install libxml2-utils)"
        }
    }

    /// Asserts `xml` is valid against Tests/Fixtures/`schema`, with xmllint's complaint as the message.
    public static func validate(_ xml: String, against schema: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/xmllint") else {
            let environment = ProcessInfo.processInfo.environment
            if environment["NUMAGUARD_VM_TESTS"] == "1" || !(environment["CI"] ?? "").isEmpty { throw Missing() }
            throw XCTSkip("xmllint not installed: scripts/setup.sh --test installs it (apt-get install libxml2-utils)")
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-\(UUID().uuidString).xml")
        try xml.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let check = try Command.run("/usr/bin/xmllint", ["--noout", "--schema", Command.fixture(schema), input.path])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr + "\n--- input ---\n" + xml, file: file, line: line)
    }
}
#endif
