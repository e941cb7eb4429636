/// A set of scalars a class (`[a-z]`, `\d`, `.`) matches. `\d \w \s` are Unicode-aware, as
/// Swift Regex (the engine numaguard used before) made them; POSIX `[:name:]` classes are ASCII.
struct ScalarSet: Equatable, Sendable {
    enum Item: Equatable, Sendable {
        case range(UInt32, UInt32)
        case digit, word, space
        case not(ScalarSet)
    }

    var items: [Item]
    var negated: Bool
    /// Case-insensitive: a scalar also matches through its simple upper- and lowercase forms.
    var fold: Bool

    static let any = ScalarSet(items: [], negated: true, fold: false)
    static let anyButNewline = ScalarSet(items: [.range(0x0A, 0x0A)], negated: true, fold: false)

    static let posix: [String: [(UInt32, UInt32)]] = [
        "alpha": [(0x41, 0x5A), (0x61, 0x7A)], "digit": [(0x30, 0x39)], "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
        "upper": [(0x41, 0x5A)], "lower": [(0x61, 0x7A)], "space": [(0x09, 0x0D), (0x20, 0x20)], "blank": [(0x09, 0x09), (0x20, 0x20)],
        "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)], "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
        "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)], "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
        "print": [(0x20, 0x7E)], "graph": [(0x21, 0x7E)], "ascii": [(0x00, 0x7F)],
    ]

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        guard fold else { return holds(scalar) != negated }
        return CaseFold.variants(scalar).contains { holds($0) } != negated
    }

    private func holds(_ scalar: Unicode.Scalar) -> Bool {
        items.contains { item in
            switch item {
            case let .range(low, high): return scalar.value >= low && scalar.value <= high
            case .digit: return CharacterKind.isDigit(scalar)
            case .word: return CharacterKind.isWord(scalar)
            case .space: return CharacterKind.isSpace(scalar)
            case let .not(inner): return !inner.contains(scalar)
            }
        }
    }
}

/// The Unicode character kinds behind `\d`, `\w`, `\s` and `\b`.
enum CharacterKind {
    static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? scalar.value >= 0x30 && scalar.value <= 0x39 : scalar.properties.generalCategory == .decimalNumber
    }

    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) || value == 0x5F
        }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .decimalNumber, .nonspacingMark, .spacingMark, .enclosingMark, .connectorPunctuation: return true
        default: return properties.isAlphabetic || properties.isJoinControl
        }
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? (scalar.value >= 0x09 && scalar.value <= 0x0D) || scalar.value == 0x20 : scalar.properties.isWhitespace
    }
}

/// Simple (one-scalar) case mappings, for `(?i)`.
enum CaseFold {
    static func variants(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        if scalar.isASCII {
            let value = scalar.value
            if value >= 0x41 && value <= 0x5A { return [scalar, Unicode.Scalar(UInt8(value + 0x20))] }
            if value >= 0x61 && value <= 0x7A { return [scalar, Unicode.Scalar(UInt8(value - 0x20))] }
            return [scalar]
        }
        var result = [scalar]
        for mapped in [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping] {
            let scalars = mapped.unicodeScalars
            if scalars.count == 1, let only = scalars.first, only != scalar { result.append(only) }
        }
        return result
    }

    static func equal(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
        a == b || variants(a).contains { variants(b).contains($0) }
    }
}

/// One step of the compiled program (Cox's "Regular Expression Matching: the Virtual Machine
/// Approach"): consume one scalar, test a position, or fork/jump without consuming.
enum RegexInstruction: Equatable, Sendable {
    case scalar(Unicode.Scalar, fold: Bool)
    case set(Int)
    case assertion(RegexAssertion)
    case split(Int, Int)
    case jump(Int)
    case match
}

/// The compiled form of a pattern. Bounded repetition is expanded, so the instruction count
/// is checked while compiling and a pattern beyond `LinearRegex.maximumProgramSize` is refused
/// before it can use more memory than that.
struct RegexProgram: Sendable {
    var instructions: [RegexInstruction] = []
    var sets: [ScalarSet] = []

    static func compile(_ node: RegexNode) throws(RegexError) -> RegexProgram {
        var program = RegexProgram()
        try program.emit(node)
        try program.append(.match)
        return program
    }

    private mutating func append(_ instruction: RegexInstruction) throws(RegexError) {
        guard instructions.count < LinearRegex.maximumProgramSize else {
            throw RegexError(offset: 0, "the pattern compiles to more than \(LinearRegex.maximumProgramSize) instructions "
                             + "(lower its repetition counts)")
        }
        instructions.append(instruction)
    }

    /// Replaces a placeholder split or jump once its targets are known.
    private mutating func patch(_ at: Int, _ instruction: RegexInstruction) { instructions[at] = instruction }

    private mutating func emit(_ node: RegexNode) throws(RegexError) {
        switch node {
        case .empty:
            return
        case let .scalar(scalar, fold):
            try append(.scalar(scalar, fold: fold && CaseFold.variants(scalar).count > 1))
        case let .set(set):
            try append(.set(sets.count))
            sets.append(set)
        case let .assertion(assertion):
            try append(.assertion(assertion))
        case let .concat(items):
            for item in items { try emit(item) }
        case let .alternate(branches):
            // split L1, next; L1: a; jump end; next: split L2, ... ; last branch falls through.
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = instructions.count
                    try append(.jump(0))
                    try emit(branch)
                    jumps.append(instructions.count)
                    try append(.jump(0))
                    patch(split, .split(split + 1, instructions.count))
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { patch(jump, .jump(instructions.count)) }
        case let .repetition(inner, minimum, maximum):
            try emitRepetition(inner, minimum, maximum)
        }
    }

    private mutating func emitRepetition(_ inner: RegexNode, _ minimum: Int, _ maximum: Int?) throws(RegexError) {
        guard let maximum else {
            // x{n,}: n-1 copies, then x+ (or x* when n is 0).
            if minimum == 0 {
                let loop = instructions.count
                try append(.jump(0))
                try emit(inner)
                try append(.jump(loop))
                patch(loop, .split(loop + 1, instructions.count))
            } else {
                for _ in 0..<(minimum - 1) { try emit(inner) }
                let body = instructions.count
                try emit(inner)
                try append(.split(body, instructions.count + 1))
            }
            return
        }
        for _ in 0..<minimum { try emit(inner) }
        // x{n,m}: m-n optional copies; skipping one skips the rest.
        var splits: [Int] = []
        for _ in minimum..<max(minimum, maximum) {
            splits.append(instructions.count)
            try append(.jump(0))
            try emit(inner)
        }
        for split in splits { patch(split, .split(split + 1, instructions.count)) }
    }
}
