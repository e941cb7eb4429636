import CYAML

/// A policy file's bytes to one YAML node tree, over libyaml's event API (CYAML, the system's
/// libyaml). It replaces Yams, which brought Foundation with it: without Foundation the policy
/// loader links into the small front binary, so `numaguard policy check` costs one exec of a
/// small binary (issue 17).
///
/// Composition is a loop over events with an explicit stack, never recursion, so any input is
/// bounded: at most `PolicyLimits.maximumNesting` open collections and
/// `PolicyLimits.maximumValues` nodes, and the file itself is at most 1 MiB (PolicyLoader).
/// Aliases are the anchored node itself, not a copy, so a billion-laughs file composes in
/// time linear in its size; reading it is bounded by YAMLReader's value budget.
///
/// Every mistake libyaml finds (reader: not UTF-8, a control character; scanner; parser) is
/// one located diagnostic, `invalid YAML: <libyaml's problem>`, and ends composition. A key
/// repeated in one mapping is reported at the repeat, with the first one's place, and
/// composition goes on so the rest of the document is still checked.
struct YAMLComposer {
    private let sink: DiagnosticSink
    private let bytes: [UInt8]
    private var stack: [Frame] = []
    private var anchors: [String: YAMLNode] = [:]
    private var nodes = 0
    private var root: YAMLNode?

    /// A collection being read: its children so far, and for a mapping the key awaiting its value.
    private struct Frame {
        let isMapping: Bool
        let tag: String
        let anchor: String?
        let mark: YAMLMark
        var items: [YAMLNode] = []
        var entries: [YAMLNode.Entry] = []
        var key: (node: YAMLNode, isDuplicate: Bool)?
        /// Each scalar key's first place: what makes a later equal key a duplicate.
        var firstKeys: [KeyName: YAMLMark] = [:]
    }

    /// Two scalar keys are equal when their text and tag are (no tag and `!!str` are both str).
    private struct KeyName: Hashable {
        let tag: String
        let text: String
    }

    /// The tree, or nil when there is none: empty (reported), or not YAML (reported).
    static func compose(_ bytes: [UInt8], _ sink: DiagnosticSink) -> YAMLNode? {
        var composer = YAMLComposer(sink: sink, bytes: bytes)
        return composer.run()
    }

    private init(sink: DiagnosticSink, bytes: [UInt8]) {
        self.sink = sink
        self.bytes = bytes
    }

    private mutating func run() -> YAMLNode? {
        guard !bytes.isEmpty else { return empty() }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            sink.error(line: 1, column: 1, "cannot parse YAML: libyaml could not start (out of memory)")
            return nil
        }
        defer { yaml_parser_delete(parser) }
        return bytes.withUnsafeBufferPointer { buffer -> YAMLNode? in
            guard let base = buffer.baseAddress else { return empty() }
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(parser, base, buffer.count)
            return document(parser)
        }
    }

    private func empty() -> YAMLNode? {
        sink.error(line: 1, column: 1, "the policy is empty: it needs at least \"version: 1\"")
        return nil
    }

    /// The stream's one document: STREAM-START, DOCUMENT-START, a node's events, DOCUMENT-END,
    /// STREAM-END. An empty stream is an empty policy; a second document is refused where it starts.
    private mutating func document(_ parser: UnsafeMutablePointer<yaml_parser_t>) -> YAMLNode? {
        var event = yaml_event_t()
        var seenDocument = false
        while true {
            guard yaml_parser_parse(parser, &event) == 1 else {
                report(parser.pointee)
                return nil
            }
            defer { yaml_event_delete(&event) }
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return seenDocument ? root : empty()
            case YAML_DOCUMENT_START_EVENT:
                guard !seenDocument else {
                    let mark = Self.mark(event.start_mark)
                    sink.error(line: mark.line, column: mark.column, "invalid YAML: but found another document")
                    return nil
                }
                seenDocument = true
            case YAML_STREAM_START_EVENT, YAML_DOCUMENT_END_EVENT, YAML_NO_EVENT:
                continue
            default:
                guard take(event) else { return nil }
            }
        }
    }

    /// One node event; false when composition must stop (reported).
    private mutating func take(_ event: yaml_event_t) -> Bool {
        let mark = Self.mark(event.start_mark)
        switch event.type {
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor)
            guard let node = anchors[name] else {
                sink.error(line: mark.line, column: mark.column, "invalid YAML: found undefined alias")
                return false
            }
            return attach(node, at: mark)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self) } ?? ""
            let style: YAMLNode.Style = scalar.style == YAML_PLAIN_SCALAR_STYLE ? .plain : .quoted
            let node = YAMLNode(.scalar(text, style), tag: Self.string(scalar.tag), mark: mark)
            register(scalar.anchor, node)
            return attach(node, at: mark)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            guard stack.count < PolicyLimits.maximumNesting else {
                sink.error(line: mark.line, column: mark.column,
                           "the policy nests lists and mappings more than \(PolicyLimits.maximumNesting) deep")
                return false
            }
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let tag = isMapping ? event.data.mapping_start.tag : event.data.sequence_start.tag
            let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
            stack.append(Frame(isMapping: isMapping, tag: Self.string(tag), anchor: anchor.map { Self.string($0) }, mark: mark))
            return true
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return true }
            let node = YAMLNode(frame.isMapping ? .mapping(frame.entries) : .sequence(frame.items), tag: frame.tag, mark: frame.mark)
            if let anchor = frame.anchor { anchors[anchor] = node }
            return attach(node, at: frame.mark)
        default:
            return true
        }
    }

    /// `node` as the root, the next item, a key, or a key's value; `mark` is where it was
    /// written (an alias's own place, not its anchor's).
    private mutating func attach(_ node: YAMLNode, at mark: YAMLMark) -> Bool {
        nodes += 1
        guard nodes <= PolicyLimits.maximumValues else {
            sink.error(line: mark.line, column: mark.column, "the policy holds more than \(PolicyLimits.maximumValues) values")
            return false
        }
        guard var frame = stack.popLast() else {
            root = node
            return true
        }
        defer { stack.append(frame) }
        guard frame.isMapping else {
            frame.items.append(node)
            return true
        }
        if let key = frame.key {
            frame.entries.append(YAMLNode.Entry(key: key.node, value: node, isDuplicate: key.isDuplicate))
            frame.key = nil
            return true
        }
        var isDuplicate = false
        if let text = node.text {
            let name = KeyName(tag: node.tag.isEmpty ? "tag:yaml.org,2002:str" : node.tag, text: text)
            if let first = frame.firstKeys[name] {
                isDuplicate = true
                sink.error(line: mark.line, column: mark.column,
                           "duplicate key \"\(text)\" (first at line \(first.line), column \(first.column))")
            } else {
                frame.firstKeys[name] = mark
            }
        }
        frame.key = (node, isDuplicate)
        return true
    }

    private mutating func register(_ anchor: UnsafeMutablePointer<yaml_char_t>?, _ node: YAMLNode) {
        guard let anchor else { return }
        anchors[Self.string(anchor)] = node
    }

    /// libyaml's error as a located diagnostic. A reader error (bytes that are not UTF-8, a
    /// control character) has only a byte offset: its line and column are counted here, and a
    /// bad trailing byte is shown at the start of the character it was meant to continue.
    private func report(_ parser: yaml_parser_t) {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_READER_ERROR:
            var offset = min(Int(clamping: parser.problem_offset), bytes.count)
            if problem == "invalid trailing UTF-8 octet" {
                while offset > 0, bytes[offset - 1] & 0xC0 == 0x80 { offset -= 1 }
                if offset > 0, bytes[offset - 1] >= 0xC0 { offset -= 1 }
            }
            let line = bytes[..<offset].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            let start = bytes[..<offset].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            let column = String(decoding: bytes[start..<offset], as: UTF8.self).unicodeScalars.count + 1
            sink.error(line: line, column: column, "invalid YAML: \(problem)")
        case YAML_SCANNER_ERROR, YAML_PARSER_ERROR, YAML_COMPOSER_ERROR:
            let mark = Self.mark(parser.problem_mark)
            sink.error(line: mark.line, column: mark.column, "invalid YAML: \(problem)")
        default:
            sink.error(line: 1, column: 1, "cannot parse YAML: \(problem)")
        }
    }

    private static func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(clamping: mark.line) + 1, column: Int(clamping: mark.column) + 1)
    }

    /// An anchor, alias or tag: NUL-terminated UTF-8 (libyaml checked it); "" when absent.
    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String {
        pointer.map { String(cString: UnsafePointer($0)) } ?? ""
    }
}
