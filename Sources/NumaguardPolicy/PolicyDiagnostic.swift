import NumaguardCore
import NumaguardOutput

/// One mistake in a policy file, located to the character so an operator can fix it
/// without guessing: `file:line:col`, the offending line, a caret, and a suggestion
/// when a nearby valid spelling exists.
public struct PolicyDiagnostic: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public var sourceLine: String?
    public var suggestion: String?

    /// The message, the source line and the suggestion quote the policy's own text, which a
    /// double-quoted YAML scalar can fill with any character (`"\e[2J"`, a bidi override):
    /// control characters, DEL, the line separators and bidi controls are written `\xHH` or
    /// `\u{hhhh}` (UntrustedText; tabs and backslashes kept, they are the author's), so a
    /// policy cannot steer the terminal its diagnostics are read on.
    public var description: String {
        func shown(_ text: String) -> String { UntrustedText.escaped(text, limit: Int.max, authored: true) }
        var text = "\(file):\(line):\(column): error: \(shown(message))"
        if let sourceLine {
            text += "\n  \(shown(sourceLine))\n  " + String(repeating: " ", count: max(0, column - 1)) + "^"
        }
        if let suggestion { text += "\n  did you mean \"\(shown(suggestion))\"?" }
        return text
    }
}

/// Every mistake found in one policy file: the loader keeps going after the first so a
/// user fixes them in one pass.
public struct PolicyErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [PolicyDiagnostic]
    /// Set when the file itself could not be read (missing, not permitted, a directory):
    /// nothing in it was checked, so there is no line or column to point at, and the fix is
    /// the path, not the policy (exit 66, not 78).
    public var unreadable: PolicyUnreadable?

    public init(diagnostics: [PolicyDiagnostic], unreadable: PolicyUnreadable? = nil) {
        self.diagnostics = diagnostics
        self.unreadable = unreadable
    }

    public var description: String {
        ([unreadable?.description].compactMap { $0 } + diagnostics.map(\.description)).joined(separator: "\n")
    }

    /// One line per mistake (file:line:col: message, without the excerpt and caret), or the
    /// read failure: for a log line or an event.
    public var summary: [String] {
        if let unreadable { return [unreadable.description] }
        return diagnostics.map { String($0.description.prefix { $0 != "\n" }) }
    }
}

/// A policy file that could not be read: the path as given and the reason (strerror's words).
public struct PolicyUnreadable: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "cannot read the policy \(file): \(reason)" }
}

/// Collects diagnostics against one source text.
final class DiagnosticSink {
    let file: String
    private let text: String
    /// The source's lines, split when a diagnostic first needs one: a policy that loads
    /// cleanly never does, and splitting it up front was a sixth of `policy check`.
    private lazy var lines: [Substring] = text.split(separator: "\n", omittingEmptySubsequences: false)
    private(set) var diagnostics: [PolicyDiagnostic] = []
    /// Diagnostics beyond `PolicyLimits.maximumDiagnostics`, counted but not kept.
    private(set) var dropped = 0
    /// Units of cross-checking work (comparisons, lookups): what tests hold against the
    /// number of workloads to prove loading stays near-linear.
    var work = 0

    init(file: String, text: String) {
        self.file = file
        self.text = text
    }

    /// Whether another diagnostic would still be kept (callers skip costly suggestions when not).
    var isFull: Bool { diagnostics.count >= PolicyLimits.maximumDiagnostics }

    func error(line: Int, column: Int, _ message: String, suggestion: String? = nil) {
        guard !isFull else {
            dropped += 1
            return
        }
        let source = line >= 1 && line <= lines.count ? String(lines[line - 1]) : nil
        diagnostics.append(PolicyDiagnostic(file: file, line: line, column: column, message: message,
                                            sourceLine: source, suggestion: suggestion))
    }

    /// The diagnostics to report: the kept ones, then one saying how many more there were.
    var reported: [PolicyDiagnostic] {
        guard dropped > 0, let last = diagnostics.last else { return diagnostics }
        return diagnostics + [PolicyDiagnostic(
            file: file, line: last.line, column: last.column,
            message: "\(dropped) more error\(dropped == 1 ? "" : "s") not shown (at most \(PolicyLimits.maximumDiagnostics) are reported)")]
    }

    /// The column of `value`'s `offset`th scalar when the scalar starting at `line`:`column` spells
    /// `value` literally (plain, or quoted without escapes); `column` itself when it does not.
    func column(of value: String, offset: Int, line: Int, column: Int) -> Int {
        guard line >= 1, line <= lines.count, column >= 1 else { return column }
        let text = Array(lines[line - 1].unicodeScalars)
        let spelled = Array(value.unicodeScalars)
        for start in [column - 1, column] where start + spelled.count <= text.count {
            if Array(text[start..<start + spelled.count]) == spelled, offset <= spelled.count { return start + offset + 1 }
        }
        return column
    }
}
