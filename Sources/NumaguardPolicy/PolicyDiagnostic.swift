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

    public var description: String {
        var text = "\(file):\(line):\(column): error: \(message)"
        if let sourceLine {
            text += "\n  \(sourceLine)\n  " + String(repeating: " ", count: max(0, column - 1)) + "^"
        }
        if let suggestion { text += "\n  did you mean \"\(suggestion)\"?" }
        return text
    }
}

/// Every mistake found in one policy file: the loader keeps going after the first so a
/// user fixes them in one pass.
public struct PolicyErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [PolicyDiagnostic]

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics against one source text.
final class DiagnosticSink {
    let file: String
    private let lines: [Substring]
    private(set) var diagnostics: [PolicyDiagnostic] = []

    init(file: String, text: String) {
        self.file = file
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    func error(line: Int, column: Int, _ message: String, suggestion: String? = nil) {
        let source = line >= 1 && line <= lines.count ? String(lines[line - 1]) : nil
        diagnostics.append(PolicyDiagnostic(file: file, line: line, column: column, message: message,
                                            sourceLine: source, suggestion: suggestion))
    }

    /// Index of the first line after `line` (1-based) whose text, trimmed, starts with `prefix`.
    func line(after line: Int, startingWith prefix: String) -> (line: Int, column: Int)? {
        guard line < lines.count else { return nil }
        for index in line..<lines.count {
            let text = lines[index]
            let indent = text.prefix { $0 == " " || $0 == "-" }.count
            if text.dropFirst(indent).hasPrefix(prefix) { return (index + 1, indent + 1) }
        }
        return nil
    }
}

/// The nearest valid spelling for a typo: Levenshtein distance, accepted only when small
/// relative to the word, so "numa_balance" suggests "numa_balancing" but "foo" suggests nothing.
enum Suggestion {
    static func nearest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let limit = max(2, word.count / 3)
        return best.1 <= limit ? best.0 : nil
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
