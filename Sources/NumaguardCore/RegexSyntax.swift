/// The regular-expression language of policy `match.cmdline` and `inspect --name`, parsed into
/// a tree that `RegexProgram` compiles for a linear-time matcher.
///
/// The language is RE2's (the common subset of POSIX ERE, Perl and Swift Regex) *without* the
/// constructs whose matching cost cannot be bounded by input length × pattern size:
/// backreferences, lookaround, atomic groups and possessive quantifiers are refused with an
/// error that says why, instead of being half-supported. Everything is parsed over Unicode
/// scalars, so an error's offset is a scalar index an editor can show.
///
/// The tree is normalized as it is built, so the compiler never expands a repetition of
/// nothing: an empty group, `x{0}`, and a repetition of either are `.empty`, and a
/// concatenation holds no `.empty` item.
indirect enum RegexNode: Equatable, Sendable {
    case empty
    case scalar(Unicode.Scalar, fold: Bool)
    /// `serial` tells the classes of the pattern apart, so the compiler builds each one's
    /// table once however often a repetition emits it, without hashing its ranges.
    case set(ScalarSet, serial: Int)
    case assertion(RegexAssertion)
    case concat([RegexNode])
    case alternate([RegexNode])
    /// `max == nil`: unbounded. Lazy forms parse to the same node: for a yes/no search
    /// greedy and lazy accept the same texts.
    case repetition(RegexNode, min: Int, max: Int?)
}

/// Zero-width tests, judged from the scalars on either side of a position.
public enum RegexAssertion: Equatable, Sendable {
    case textStart, textEnd, textEndOrFinalNewline, lineStart, lineEnd, wordBoundary, notWordBoundary
}

/// Why a pattern was refused, and where (0-based scalar offset into the pattern).
public struct RegexError: Error, Equatable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var message: String

    public init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "\(message) (at character \(offset + 1) of the pattern)" }
}

/// Recursive descent over the pattern's scalars. Nesting is bounded (`LinearRegex.maximumNesting`),
/// so a hostile `((((...` cannot exhaust the stack.
struct RegexParser {
    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var depth = 0
    private var flags = Flags()
    private var classes = 0

    struct Flags: Equatable {
        var caseInsensitive = false
        var dotAll = false
        var multiline = false
    }

    static let linearTime = "not supported: numaguard matches in linear time"

    init(_ pattern: String) {
        scalars = Array(pattern.unicodeScalars)
    }

    static func parse(_ pattern: String) throws(RegexError) -> RegexNode {
        var parser = RegexParser(pattern)
        guard parser.scalars.count <= LinearRegex.maximumPatternLength else {
            throw RegexError(offset: LinearRegex.maximumPatternLength,
                             "the pattern is longer than \(LinearRegex.maximumPatternLength) characters")
        }
        let node = try parser.alternation()
        if parser.position < parser.scalars.count {
            // alternation() stops only at the end or at a ')' it did not open.
            throw RegexError(offset: parser.position, "unmatched ')'")
        }
        return node
    }

    private var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private func peek(_ ahead: Int) -> Unicode.Scalar? {
        position + ahead < scalars.count ? scalars[position + ahead] : nil
    }

    private mutating func take() -> Unicode.Scalar? {
        guard let scalar = peek else { return nil }
        position += 1
        return scalar
    }

    private mutating func alternation() throws(RegexError) -> RegexNode {
        var branches = [try concatenation()]
        while peek == "|" {
            position += 1
            branches.append(try concatenation())
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    private mutating func concatenation() throws(RegexError) -> RegexNode {
        var items: [RegexNode] = []
        // Flags set by a bare `(?i)` last to the end of the enclosing group (body() restores them).
        while let next = peek, next != "|", next != ")" {
            guard let atom = try atom() else { continue }
            let item = try quantified(atom)
            if item != .empty { items.append(item) }
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
    }

    /// Applies the quantifier that follows an atom, if any. As in RE2, a quantifier cannot
    /// follow another (`a**`, `x{2}{3}`: "bad repetition operator"); a group can be repeated.
    private mutating func quantified(_ atom: RegexNode) throws(RegexError) -> RegexNode {
        let start = position
        guard let bounds = try quantifier() else { return atom }
        if peek == "?" {
            position += 1  // lazy: the same texts match
        } else if peek == "+" {
            throw RegexError(offset: position, "possessive quantifiers (\"+\" after a quantifier) are \(Self.linearTime)")
        }
        let second = position
        if try quantifier() != nil {
            let operators = String(String.UnicodeScalarView(scalars[start..<position]))
            throw RegexError(offset: second, "bad repetition operator \(operators): a repetition cannot be repeated "
                             + "again; put it in a group, as in (?:x{2}){3}")
        }
        // Repeating nothing, or repeating something zero times, matches only the empty text.
        if atom == .empty || bounds.max == 0 { return .empty }
        return .repetition(atom, min: bounds.min, max: bounds.max)
    }

    /// `*`, `+`, `?` or a counted repetition at the position, consumed; nil (nothing consumed) otherwise.
    private mutating func quantifier() throws(RegexError) -> (min: Int, max: Int?)? {
        switch peek {
        case "*": position += 1; return (0, nil)
        case "+": position += 1; return (1, nil)
        case "?": position += 1; return (0, 1)
        case "{": return try counted()
        default: return nil
        }
    }

    /// `{n}`, `{n,}`, `{n,m}`; a `{` that starts none of them is a literal, `{,m}` included (as in RE2).
    private mutating func counted() throws(RegexError) -> (min: Int, max: Int?)? {
        let start = position
        position += 1
        func number(_ parser: inout RegexParser) throws(RegexError) -> Int? {
            var value: Int?
            while let scalar = parser.peek, scalar.value >= 0x30, scalar.value <= 0x39 {
                let digit = Int(scalar.value - 0x30)
                let next = (value ?? 0) * 10 + digit
                if next > LinearRegex.maximumRepeat {
                    throw RegexError(offset: start, "a repetition count above \(LinearRegex.maximumRepeat) is refused")
                }
                value = next
                parser.position += 1
            }
            return value
        }
        let low = try number(&self)
        var high = low
        if peek == "," {
            position += 1
            high = try number(&self)
        }
        guard peek == "}", low != nil else {
            position = start
            return nil
        }
        position += 1
        let minimum = low ?? 0
        let maximum = high
        if let maximum, maximum < minimum {
            throw RegexError(offset: start, "repetition {\(minimum),\(maximum)} has its maximum below its minimum")
        }
        return (minimum, maximum)
    }

    /// One atom, or nil for a construct that only changed the flags (`(?i)`).
    private mutating func atom() throws(RegexError) -> RegexNode? {
        let start = position
        guard let scalar = take() else { return .empty }
        switch scalar {
        case "(": return try group(start)
        case "[": return classNode(try bracket(start))
        case ".": return classNode(flags.dotAll ? .any : .anyButNewline)
        case "^": return .assertion(flags.multiline ? .lineStart : .textStart)
        case "$": return .assertion(flags.multiline ? .lineEnd : .textEnd)
        case "\\":
            switch try escape(start, inClass: false) {
            case let .scalar(scalar): return .scalar(scalar, fold: flags.caseInsensitive)
            case let .ranges(ranges): return classNode(ScalarSet(ranges: ranges))
            case let .assertion(assertion): return .assertion(assertion)
            }
        case "*", "+", "?":
            throw RegexError(offset: start, "\"\(scalar)\" has nothing to repeat")
        case "{":
            position = start
            if try counted() != nil { throw RegexError(offset: start, "a repetition has nothing to repeat") }
            position = start + 1
            return .scalar(scalar, fold: false)
        default:
            return .scalar(scalar, fold: flags.caseInsensitive)
        }
    }

    private mutating func classNode(_ set: ScalarSet) -> RegexNode {
        classes += 1
        return .set(set, serial: classes)
    }

    private mutating func group(_ start: Int) throws(RegexError) -> RegexNode? {
        if peek == "?" {
            position += 1
            switch peek {
            case ":":
                position += 1
            case "=", "!":
                throw RegexError(offset: start, "lookahead is \(Self.linearTime)")
            case ">":
                throw RegexError(offset: start, "atomic groups are \(Self.linearTime)")
            case "<" where peek(1) == "=" || peek(1) == "!":
                throw RegexError(offset: start, "lookbehind is \(Self.linearTime)")
            case "P" where peek(1) == "=":
                throw RegexError(offset: start, "backreferences are \(Self.linearTime)")
            case "<", "'", "P":
                try groupName(start)
            default:
                // Flags: (?i) for the rest of this group, (?i:...) for its own body.
                var set = flags
                var on = true
                var sawFlag = false
                while let scalar = take() {
                    switch scalar {
                    case "i": set.caseInsensitive = on; sawFlag = true
                    case "s": set.dotAll = on; sawFlag = true
                    case "m": set.multiline = on; sawFlag = true
                    case "-" where on: on = false
                    case ")" where sawFlag:
                        flags = set
                        return nil
                    case ":" where sawFlag:
                        return try body(start, flags: set)
                    default:
                        throw RegexError(offset: position - 1,
                                         "\"(?\" with \"\(scalar)\" is not supported (groups: (...), (?:...), (?<name>...); flags: i, s, m)")
                    }
                }
                throw RegexError(offset: start, "unclosed group")
            }
        }
        return try body(start, flags: flags)
    }

    /// `<name>`, `P<name>`, `'name'`: a capturing group's name (captures are not reported, so
    /// the name only has to be well formed).
    private mutating func groupName(_ start: Int) throws(RegexError) {
        if peek == "P" { position += 1 }
        let open = take()
        guard open == "<" || open == "'" else { throw RegexError(offset: start, "\"(?P\" must be followed by <name>") }
        let close: Unicode.Scalar = open == "'" ? "'" : ">"
        var length = 0
        while let scalar = take(), scalar != close {
            guard scalar.properties.isAlphabetic || scalar == "_" || (length > 0 && scalar.properties.numericType != nil) else {
                throw RegexError(offset: position - 1, "a group name holds only letters, digits and _")
            }
            length += 1
        }
        guard length > 0, position <= scalars.count, scalars[position - 1] == close else {
            throw RegexError(offset: start, "a named group needs a name and a closing \(close)")
        }
    }

    private mutating func body(_ start: Int, flags inner: Flags) throws(RegexError) -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= LinearRegex.maximumNesting else {
            throw RegexError(offset: start, "groups nest deeper than \(LinearRegex.maximumNesting)")
        }
        let outer = flags
        flags = inner
        let node = try alternation()
        flags = outer
        guard take() == ")" else { throw RegexError(offset: start, "unclosed group: missing ')'") }
        return node
    }

    /// `[...]`: ranges, negation, escapes and POSIX `[:name:]`; a `]` first is literal.
    private mutating func bracket(_ start: Int) throws(RegexError) -> ScalarSet {
        var set = ScalarSet(ranges: [], fold: flags.caseInsensitive)
        if peek == "^" {
            set.negated = true
            position += 1
        }
        var first = true
        while true {
            guard let scalar = peek else { throw RegexError(offset: start, "unclosed class: missing ']'") }
            if scalar == "]" && !first {
                position += 1
                return set
            }
            first = false
            if scalar == "[" {
                if peek(1) == ":", let posix = try posixClass() {
                    set.ranges.append(contentsOf: posix)
                    continue
                }
                throw RegexError(offset: position, "a '[' inside a class must be escaped as \\[ (nested classes are not supported)")
            }
            let low = try classMember()
            guard case let .scalar(lowScalar) = low else {
                set.ranges.append(contentsOf: low.ranges)
                continue
            }
            if peek == "-", let after = peek(1), after != "]" {
                let dash = position
                position += 1
                let high = try classMember()
                guard case let .scalar(highScalar) = high else {
                    throw RegexError(offset: dash, "a range must end in a single character")
                }
                guard lowScalar.value <= highScalar.value else {
                    throw RegexError(offset: dash, "range \(lowScalar)-\(highScalar) is out of order")
                }
                set.ranges.append(lowScalar.value...highScalar.value)
            } else {
                set.ranges.append(lowScalar.value...lowScalar.value)
            }
        }
    }

    private mutating func classMember() throws(RegexError) -> Escaped {
        let start = position
        guard let scalar = take() else { throw RegexError(offset: start, "unclosed class: missing ']'") }
        return scalar == "\\" ? try escape(start, inClass: true) : .scalar(scalar)
    }

    /// `[:alpha:]` and friends (ASCII, as POSIX and RE2 define them).
    private mutating func posixClass() throws(RegexError) -> [ClosedRange<UInt32>]? {
        let start = position
        position += 2
        let negated = peek == "^"
        if negated { position += 1 }
        var name = ""
        while let scalar = peek, scalar != ":" , name.unicodeScalars.count < 10 {
            name.unicodeScalars.append(scalar)
            position += 1
        }
        guard peek == ":", peek(1) == "]" else {
            position = start
            return nil
        }
        position += 2
        guard let ranges = ScalarSet.posix[name] else {
            throw RegexError(offset: start, "unknown POSIX class [:\(name):]")
        }
        return negated ? ScalarSet.complement(ranges) : ranges
    }

    /// What follows a backslash: one scalar, a class, or an assertion.
    enum Escaped {
        case scalar(Unicode.Scalar)
        case ranges([ClosedRange<UInt32>])
        case assertion(RegexAssertion)

        var ranges: [ClosedRange<UInt32>] {
            switch self {
            case let .scalar(scalar): return [scalar.value...scalar.value]
            case let .ranges(ranges): return ranges
            case .assertion: return []  // never produced inside a class
            }
        }

    }

    private mutating func escape(_ start: Int, inClass: Bool) throws(RegexError) -> Escaped {
        guard let scalar = take() else { throw RegexError(offset: start, "a trailing \\ escapes nothing") }
        switch scalar {
        case "d": return .ranges(ScalarSet.digit)
        case "D": return .ranges(ScalarSet.complement(ScalarSet.digit))
        case "w": return .ranges(ScalarSet.word)
        case "W": return .ranges(ScalarSet.complement(ScalarSet.word))
        case "s": return .ranges(ScalarSet.space)
        case "S": return .ranges(ScalarSet.complement(ScalarSet.space))
        case "t": return .scalar("\t")
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "v": return .scalar("\u{0B}")
        case "a": return .scalar("\u{07}")
        case "e": return .scalar("\u{1B}")
        case "0" where !(peek.map { $0.value >= 0x30 && $0.value <= 0x37 } ?? false): return .scalar("\0")
        case "x", "u": return .scalar(try hexScalar(start, braces: scalar == "x" ? 2 : 4))
        case "b", "B", "A", "z", "Z":
            guard !inClass else { throw RegexError(offset: start, "\\\(scalar) is not allowed inside a class") }
            let assertions: [Unicode.Scalar: RegexAssertion] = [
                "b": .wordBoundary, "B": .notWordBoundary, "A": .textStart, "z": .textEnd, "Z": .textEndOrFinalNewline,
            ]
            return .assertion(assertions[scalar] ?? .textEnd)
        case "1"..."9", "k", "g":
            throw RegexError(offset: start, "backreferences are \(Self.linearTime)")
        case "p", "P":
            throw RegexError(offset: start, "Unicode property classes (\\\(scalar){...}) are not supported")
        default:
            let isWordScalar = scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "_"
            guard !isWordScalar else { throw RegexError(offset: start, "unknown escape \\\(scalar)") }
            return .scalar(scalar)
        }
    }

    /// `\xHH`, `\uHHHH`, or either with braces: `\x{1F600}`.
    private mutating func hexScalar(_ start: Int, braces fixed: Int) throws(RegexError) -> Unicode.Scalar {
        let braced = peek == "{"
        if braced { position += 1 }
        var value: UInt32 = 0
        var digits = 0
        while let scalar = peek, let digit = scalar.hexDigitValue, digits < (braced ? 8 : fixed) {
            value = value &* 16 &+ UInt32(digit)
            digits += 1
            position += 1
        }
        if braced {
            guard take() == "}" else { throw RegexError(offset: start, "unclosed \\x{...}") }
        }
        guard digits > 0, braced || digits == fixed, let scalar = Unicode.Scalar(value) else {
            throw RegexError(offset: start, "invalid hexadecimal escape")
        }
        return scalar
    }
}

extension Unicode.Scalar {
    var hexDigitValue: Int? {
        switch value {
        case 0x30...0x39: return Int(value - 0x30)
        case 0x41...0x46: return Int(value - 0x41 + 10)
        case 0x61...0x66: return Int(value - 0x61 + 10)
        default: return nil
        }
    }
}
