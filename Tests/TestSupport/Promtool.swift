// XCTest exists only in the toolchain's test configuration: a packager's
// `swift build -c release --static-swift-stdlib` builds this target without it.
#if canImport(XCTest)
import Foundation
import XCTest

/// `promtool check metrics`, which lints the exposition (names, types, HELP) as Prometheus
/// would. A developer machine without it skips, saying how to install it; a full run
/// (scripts/test sets NUMAGUARD_VM_TESTS=1 after scripts/setup.sh --test installed it) or CI
/// fails instead, so a missing promtool can never pass the check silently there.
public enum Promtool {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "promtool is not installed but this run must lint the metrics (NUMAGUARD_VM_TESTS=1 or CI): scripts/setup.sh --test installs it (apt-get install prometheus)"
        }
    }

    public static func path() throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/promtool") {
            return "\(directory)/promtool"
        }
        let environment = ProcessInfo.processInfo.environment
        if environment["NUMAGUARD_VM_TESTS"] == "1" || !(environment["CI"] ?? "").isEmpty { throw Missing() }
        throw XCTSkip("promtool not installed: scripts/setup.sh --test installs it (apt-get install prometheus)")
    }

    /// Asserts the exposition passes `promtool check metrics` with no lint finding.
    public static func checkMetrics(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let promtool = try path()
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-\(UUID().uuidString).prom")
        try text.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let check = try Command.run("/bin/sh", ["-c", "'\(promtool)' check metrics < '\(input.path)'"])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr + "\n--- input ---\n" + text, file: file, line: line)
        XCTAssertEqual(check.stdout + check.stderr, "", "promtool lint findings", file: file, line: line)
    }
}
#endif
