import NumaguardCore
import Yams

/// Typed reads over a composed YAML tree. Every read that fails records a located
/// diagnostic and returns nil, so the loader can go on and report every mistake at once.
/// Values are taken from the scalar's text, not from YAML 1.1's type guesses, so `off`
/// means the word off and `0755` is not an octal surprise.
final class YAMLReader {
    let sink: DiagnosticSink

    init(sink: DiagnosticSink) { self.sink = sink }

    func error(_ node: Node?, _ message: String, suggestion: String? = nil) {
        let mark = node?.mark
        sink.error(line: mark?.line ?? 1, column: mark?.column ?? 1, message, suggestion: suggestion)
    }

    /// An error at the `offset`th character of a scalar's value (a regex's bad construct), when
    /// the value is spelled on its line as it reads; otherwise at the scalar's start.
    func error(_ node: Node?, inScalarAt offset: Int, _ message: String) {
        guard let node, let mark = node.mark, let value = node.scalar?.string else { return error(node, message) }
        let column = sink.column(of: value, offset: offset, line: mark.line, column: mark.column)
        sink.error(line: mark.line, column: column, message)
    }

    /// A mapping's entries by key. Unknown keys are errors with the nearest valid key;
    /// missing required keys are errors at the mapping.
    func fields(_ node: Node, _ path: String, allowed: [String], required: [String] = []) -> [String: (key: Node, value: Node)]? {
        guard let mapping = node.mapping else {
            error(node, "\(path) must be a mapping with keys \(allowed.joined(separator: ", "))")
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                error(key, "\(path) has a key that is not a plain word")
                continue
            }
            guard allowed.contains(name) else {
                error(key, "unknown key \"\(name)\" in \(path)", suggestion: Suggestion.nearest(to: name, in: allowed))
                continue
            }
            result[name] = (key, value)
        }
        for name in required where result[name] == nil {
            error(node, "\(path) needs \"\(name)\"")
        }
        return result
    }

    func string(_ node: Node, _ path: String) -> String? {
        guard let text = node.scalar?.string else {
            error(node, "\(path) must be a single value")
            return nil
        }
        guard !text.isEmpty else {
            error(node, "\(path) is empty")
            return nil
        }
        return text
    }

    func choice(_ node: Node, _ path: String, _ choices: [String]) -> String? {
        guard let text = string(node, path) else { return nil }
        guard choices.contains(text) else {
            error(node, "\(path) must be one of \(choices.joined(separator: ", ")), not \"\(text)\"",
                  suggestion: Suggestion.nearest(to: text, in: choices))
            return nil
        }
        return text
    }

    func int(_ node: Node, _ path: String, _ range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, path) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            error(node, "\(path) must be a whole number in \(range.lowerBound)...\(range.upperBound), not \"\(text)\"")
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ path: String) -> Bool? {
        guard let text = string(node, path) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            error(node, "\(path) must be true or false, not \"\(text)\"")
            return nil
        }
    }

    /// A node set: `0`, `"0-1,3"`, or `[0, 1]`.
    func idSet(_ node: Node, _ path: String, what: String) -> IDSet? {
        if let sequence = node.sequence {
            guard !sequence.isEmpty else {
                error(node, "\(path) is an empty list: it would assert nothing")
                return nil
            }
            var set = IDSet()
            for item in sequence {
                guard let id = int(item, "\(path) item", 0...IDListParser.maximumMember) else { return nil }
                set.insert(id)
            }
            return set
        }
        guard let text = string(node, path) else { return nil }
        do {
            let set = try IDListParser.parse(text, what: what)
            if set.isEmpty { error(node, "\(path) is empty: it would assert nothing") }
            return set.isEmpty ? nil : set
        } catch {
            self.error(node, "\(path): \(error.reason) in \"\(text)\"")
            return nil
        }
    }

    /// A non-empty list; an empty one asserts nothing and is refused.
    func list(_ node: Node, _ path: String) -> [Node]? {
        guard let sequence = node.sequence else {
            error(node, "\(path) must be a list")
            return nil
        }
        guard !sequence.isEmpty else {
            error(node, "\(path) is an empty list: it would assert nothing (remove the key instead)")
            return nil
        }
        return Array(sequence)
    }

    func strings(_ node: Node, _ path: String) -> [String]? {
        guard let items = list(node, path) else { return nil }
        let values = items.compactMap { string($0, "\(path) item") }
        return values.count == items.count ? values : nil
    }

    /// Converts a scalar through one of the `Quantity` parsers.
    func quantity<T>(_ node: Node, _ path: String, _ parse: (String) -> Result<T, Invalid>) -> T? {
        guard let text = string(node, path) else { return nil }
        switch parse(text) {
        case let .success(value): return value
        case let .failure(invalid):
            error(node, "\(path): \(invalid.message)")
            return nil
        }
    }

    /// A mapping keyed by node number, e.g. `cpus: {0: "0-15", 1: "16-31"}`.
    func byNode<T>(_ node: Node, _ path: String, _ value: (Node, String) -> T?) -> [Int: T]? {
        guard let mapping = node.mapping else {
            error(node, "\(path) must map node numbers to values")
            return nil
        }
        guard !mapping.isEmpty else {
            error(node, "\(path) is empty: it would assert nothing")
            return nil
        }
        var result: [Int: T] = [:]
        for (key, item) in mapping {
            guard let id = int(key, "\(path) key (a node number)", 0...IDListParser.maximumMember) else { continue }
            if let parsed = value(item, "\(path).\(id)") { result[id] = parsed }
        }
        return result
    }
}
