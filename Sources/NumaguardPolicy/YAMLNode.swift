/// Where a node starts in the policy file: 1-based, the column counted in code points as
/// libyaml counts it (so a diagnostic's caret lands under the character an editor shows).
struct YAMLMark: Equatable, Sendable {
    var line: Int
    var column: Int
}

/// One node of a composed YAML document, as `YAMLComposer` builds it from libyaml's events:
/// only what a policy needs (no YAML 1.1 type guesses; YAMLReader reads every scalar's text).
/// An alias is the anchored node itself, so a value read through an alias is read again each
/// time, and YAMLReader counts each read against `PolicyLimits.maximumValues`.
/// Immutable once built: a mapping's or sequence's children are complete when it is made.
final class YAMLNode: Sendable {
    enum Style: Sendable {
        /// Written bare: `off`, `0-15`.
        case plain
        /// Quoted, or a literal or folded block: the text is exactly what was written.
        case quoted
    }

    /// One key and its value. A key equal to an earlier one in the same mapping stays in the
    /// mapping (it counts as an entry), marked, so the reader skips it: it was reported already.
    struct Entry: Sendable {
        let key: YAMLNode
        let value: YAMLNode
        let isDuplicate: Bool
    }

    enum Content: Sendable {
        case scalar(String, Style)
        case sequence([YAMLNode])
        case mapping([Entry])
    }

    let content: Content
    /// The tag as libyaml resolved it: "" when none was written, "!" for the non-specific tag,
    /// `tag:yaml.org,2002:str` for `!!str`, and a local or verbatim tag as written.
    let tag: String
    let mark: YAMLMark

    init(_ content: Content, tag: String, mark: YAMLMark) {
        self.content = content
        self.tag = tag
        self.mark = mark
    }

    /// A scalar's text; nil for a collection.
    var text: String? {
        if case let .scalar(text, _) = content { return text }
        return nil
    }

    var sequence: [YAMLNode]? {
        if case let .sequence(items) = content { return items }
        return nil
    }

    var mapping: [Entry]? {
        if case let .mapping(entries) = content { return entries }
        return nil
    }

    /// The value of the first key spelled `key` (plain or quoted), in a mapping.
    subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.text == key }?.value
    }
}
