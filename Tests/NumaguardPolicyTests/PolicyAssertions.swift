@testable import NumaguardPolicy
import TestSupport
import XCTest

/// Shared checks for policy error tests: a mistake must come back as exactly the located
/// diagnostic the operator needs, and its rendering must show the line with a caret under it.
enum PolicyText {
    static var policiesDirectory: String { Command.repositoryRoot.appendingPathComponent("policies").path }
    static func shipped(_ name: String) -> String { policiesDirectory + "/" + name }

    /// The diagnostics `text` produces, or a failure when it loads.
    static func diagnostics(_ text: String, file: String = "p.yaml",
                            sourceFile: StaticString = #filePath, line: UInt = #line) -> [PolicyDiagnostic] {
        do {
            let policy = try PolicyLoader.parse(text, file: file)
            XCTFail("expected errors, but the policy loaded: \(policy)", file: sourceFile, line: line)
            return []
        } catch {
            return error.diagnostics
        }
    }

    static func loads(_ text: String, sourceFile: StaticString = #filePath, line: UInt = #line) -> Policy? {
        do {
            return try PolicyLoader.parse(text, file: "p.yaml")
        } catch {
            XCTFail("expected the policy to load:\n\(error)", file: sourceFile, line: line)
            return nil
        }
    }
}

extension XCTestCase {
    /// Asserts `text` fails with one diagnostic at `line`:`column` whose message contains
    /// every fragment, with the given suggestion (nil: none), rendered with the source line
    /// and a caret under the column.
    @discardableResult
    func assertPolicyError(_ text: String, line: Int, column: Int, _ fragments: String..., suggestion: String? = nil,
                           file: StaticString = #filePath, sourceLine: UInt = #line) -> PolicyDiagnostic? {
        let diagnostics = PolicyText.diagnostics(text, sourceFile: file, line: sourceLine)
        guard diagnostics.count == 1, let diagnostic = diagnostics.first else {
            XCTFail("expected exactly one diagnostic, got \(diagnostics.count):\n\(PolicyErrors(diagnostics: diagnostics))",
                    file: file, line: sourceLine)
            return nil
        }
        assertDiagnostic(diagnostic, in: text, line: line, column: column, fragments, suggestion: suggestion,
                         file: file, sourceLine: sourceLine)
        return diagnostic
    }

    func assertDiagnostic(_ diagnostic: PolicyDiagnostic, in text: String, line: Int, column: Int, _ fragments: [String],
                          suggestion: String? = nil, file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertEqual(diagnostic.file, "p.yaml", file: file, line: sourceLine)
        XCTAssertEqual("\(diagnostic.line):\(diagnostic.column)", "\(line):\(column)", "\(diagnostic)", file: file, line: sourceLine)
        for fragment in fragments {
            XCTAssertTrue(diagnostic.message.contains(fragment), "message lacks \"\(fragment)\": \(diagnostic.message)",
                          file: file, line: sourceLine)
        }
        XCTAssertEqual(diagnostic.suggestion, suggestion, "\(diagnostic)", file: file, line: sourceLine)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return XCTFail("line \(line) is outside the text", file: file, line: sourceLine) }
        let offending = String(lines[line - 1])
        XCTAssertEqual(diagnostic.sourceLine, offending, file: file, line: sourceLine)
        let rendered = diagnostic.description
        XCTAssertTrue(rendered.hasPrefix("p.yaml:\(line):\(column): error: \(diagnostic.message)"), rendered, file: file, line: sourceLine)
        let caret = "\n  " + offending + "\n  " + String(repeating: " ", count: column - 1) + "^"
        XCTAssertTrue(rendered.contains(caret), "no caret under column \(column):\n\(rendered)", file: file, line: sourceLine)
        if let suggestion {
            XCTAssertTrue(rendered.hasSuffix("\n  did you mean \"\(suggestion)\"?"), rendered, file: file, line: sourceLine)
        } else {
            XCTAssertFalse(rendered.contains("did you mean"), rendered, file: file, line: sourceLine)
        }
    }
}
