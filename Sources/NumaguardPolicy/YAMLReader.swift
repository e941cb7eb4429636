import NumaguardCore

/// Typed reads over a composed YAML tree. Every read that fails records a located
/// diagnostic and returns nil, so the loader can go on and report every mistake at once.
/// Values are taken from the scalar's text, not from YAML 1.1's type guesses, so `off`
/// means the word off and `0755` is not an octal surprise.
final class YAMLReader {
    let sink: DiagnosticSink
    /// Values read so far (aliases count each time they are used): `PolicyLimits.maximumValues`.
    private var values = 0

    init(sink: DiagnosticSink) { self.sink = sink }

    /// The tags a policy may spell: none, `!`, and YAML's own core types. Anything else
    /// (`!!python/object`, `!foo`) asks a loader to build something a policy never holds.
    static let coreTags = Set(["", "!"] + ["str", "int", "bool", "float", "null", "seq", "map", "timestamp"].map { "tag:yaml.org,2002:" + $0 })

    /// Counts one value read and checks its tag; false (reported) when it may not be used.
    private func admit(_ node: YAMLNode) -> Bool {
        values += 1
        if values == PolicyLimits.maximumValues + 1 {
            error(node, "the policy holds more than \(PolicyLimits.maximumValues) values once its aliases are expanded")
        }
        guard values <= PolicyLimits.maximumValues else { return false }
        let tag = node.tag
        guard Self.coreTags.contains(tag) else {
            let spelled = tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst("tag:yaml.org,2002:".count) : tag
            error(node, "unknown YAML tag \"\(spelled)\": a policy holds plain values, lists and mappings")
            return false
        }
        return true
    }

    func error(_ node: YAMLNode?, _ message: String, suggestion: String? = nil) {
        sink.error(line: node?.mark.line ?? 1, column: node?.mark.column ?? 1, message, suggestion: suggestion)
    }

    /// An error at the `offset`th character of a scalar's value (a regex's bad construct), when
    /// the value is spelled on its line as it reads; otherwise at the scalar's start.
    func error(_ node: YAMLNode?, inScalarAt offset: Int, _ message: String) {
        guard let node, let value = node.text else { return error(node, message) }
        let mark = node.mark
        let column = sink.column(of: value, offset: offset, line: mark.line, column: mark.column)
        sink.error(line: mark.line, column: column, message)
    }

    /// A mapping's entries by key. Unknown keys are errors with the nearest valid key;
    /// missing required keys are errors at the mapping.
    func fields(_ node: YAMLNode, _ path: String, allowed: [String], required: [String] = []) -> [String: (key: YAMLNode, value: YAMLNode)]? {
        guard admit(node) else { return nil }
        guard let mapping = node.mapping else {
            error(node, "\(path) must be a mapping with keys \(allowed.joined(separator: ", "))")
            return nil
        }
        var result: [String: (key: YAMLNode, value: YAMLNode)] = [:]
        // A duplicate key is skipped: the composer reported it.
        for entry in mapping where !entry.isDuplicate {
            let (key, value) = (entry.key, entry.value)
            guard admit(key) else { continue }
            guard let name = key.text else {
                error(key, "\(path) has a key that is not a plain word")
                continue
            }
            guard allowed.contains(name) else {
                error(key, "unknown key \"\(name.prefix(64))\" in \(path)", suggestion: sink.isFull ? nil : Suggestion.nearest(to: name, in: allowed))
                continue
            }
            result[name] = (key, value)
        }
        for name in required where result[name] == nil {
            error(node, "\(path) needs \"\(name)\"")
        }
        return result
    }

    func string(_ node: YAMLNode, _ path: String) -> String? {
        guard admit(node) else { return nil }
        guard let text = node.text else {
            error(node, "\(path) must be a single value")
            return nil
        }
        guard !text.isEmpty else {
            error(node, "\(path) is empty")
            return nil
        }
        guard text.utf8.count <= PolicyLimits.maximumValueBytes else {
            error(node, "\(path) is \(text.utf8.count) bytes long, more than the \(PolicyLimits.maximumValueBytes) a value may hold")
            return nil
        }
        return text
    }

    func choice(_ node: YAMLNode, _ path: String, _ choices: [String]) -> String? {
        guard let text = string(node, path) else { return nil }
        guard choices.contains(text) else {
            error(node, "\(path) must be one of \(choices.joined(separator: ", ")), not \"\(text)\"",
                  suggestion: Suggestion.nearest(to: text, in: choices))
            return nil
        }
        return text
    }

    func int(_ node: YAMLNode, _ path: String, _ range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, path) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            error(node, "\(path) must be a whole number in \(range.lowerBound)...\(range.upperBound), not \"\(text)\"")
            return nil
        }
        return value
    }

    func bool(_ node: YAMLNode, _ path: String) -> Bool? {
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
    func idSet(_ node: YAMLNode, _ path: String, what: String) -> IDSet? {
        if node.sequence != nil {
            guard let items = list(node, path, emptyMessage: "\(path) is an empty list: it would assert nothing") else { return nil }
            // Every item is checked (and each bad one reported) before giving up on the set.
            let ids = items.compactMap { int($0, "\(path) item", 0...IDListParser.maximumMember) }
            return ids.count == items.count ? IDSet(ids) : nil
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
    func list(_ node: YAMLNode, _ path: String, emptyMessage: String? = nil) -> [YAMLNode]? {
        guard admit(node) else { return nil }
        guard let sequence = node.sequence else {
            error(node, "\(path) must be a list")
            return nil
        }
        guard !sequence.isEmpty else {
            error(node, emptyMessage ?? "\(path) is an empty list: it would assert nothing (remove the key instead)")
            return nil
        }
        guard sequence.count <= PolicyLimits.maximumListItems else {
            // At the first item beyond the limit: that is the line to cut from.
            error(sequence[PolicyLimits.maximumListItems],
                  "\(path) has \(sequence.count) items, more than the \(PolicyLimits.maximumListItems) a list may hold")
            return nil
        }
        return sequence
    }

    func strings(_ node: YAMLNode, _ path: String) -> [String]? {
        guard let items = list(node, path) else { return nil }
        let values = items.compactMap { string($0, "\(path) item") }
        return values.count == items.count ? values : nil
    }

    /// Converts a scalar through one of the `Quantity` parsers.
    func quantity<T>(_ node: YAMLNode, _ path: String, _ parse: (String) -> Result<T, Invalid>) -> T? {
        guard let text = string(node, path) else { return nil }
        switch parse(text) {
        case let .success(value): return value
        case let .failure(invalid):
            error(node, "\(path): \(invalid.message)")
            return nil
        }
    }

    /// A mapping keyed by node number, e.g. `cpus: {0: "0-15", 1: "16-31"}`.
    /// Two spellings of one node (`0` and `00`) are refused at the second: YAML sees two keys,
    /// and the later one would silently win.
    func byNode<T>(_ node: YAMLNode, _ path: String, _ value: (YAMLNode, String) -> T?) -> [Int: T]? {
        guard admit(node) else { return nil }
        guard let mapping = node.mapping else {
            error(node, "\(path) must map node numbers to values")
            return nil
        }
        guard !mapping.isEmpty else {
            error(node, "\(path) is empty: it would assert nothing")
            return nil
        }
        guard mapping.count <= PolicyLimits.maximumListItems else {
            error(mapping[PolicyLimits.maximumListItems].key,
                  "\(path) has \(mapping.count) entries, more than the \(PolicyLimits.maximumListItems) a mapping may hold")
            return nil
        }
        var result: [Int: T] = [:]
        var keys: [Int: YAMLNode] = [:]
        for entry in mapping where !entry.isDuplicate {
            let (key, item) = (entry.key, entry.value)
            guard let id = int(key, "\(path) key (a node number)", 0...IDListParser.maximumMember) else { continue }
            if let first = keys[id] {
                let at = " (first at line \(first.mark.line), column \(first.mark.column))"
                error(key, "\(path) names node \(id) twice: \"\(first.text ?? "")\" and \"\(key.text ?? "")\"\(at)")
                continue
            }
            keys[id] = key
            if let parsed = value(item, "\(path).\(id)") { result[id] = parsed }
        }
        return result
    }
}
