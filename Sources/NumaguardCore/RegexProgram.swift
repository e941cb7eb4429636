/// One step of the compiled program (Cox's "Regular Expression Matching: the Virtual Machine
/// Approach"): consume one scalar, test a position, or fork/jump without consuming.
enum RegexInstruction: Equatable, Sendable {
    case scalar(Unicode.Scalar)
    /// Consumes a scalar in `RegexProgram.tables[index]` (classes, and case-folded literals).
    case set(Int)
    case assertion(RegexAssertion)
    case split(Int, Int)
    case jump(Int)
    case match
}

/// The compiled form of a pattern. Bounded repetition is expanded, so two things are limited
/// while compiling, each refused as soon as it is exceeded (before the program is built):
///
/// - the program's size: instructions plus the ranges of its class tables, at most
///   `LinearRegex.maximumProgramSize` — the memory a pattern may take, and the factor of the
///   search's step bound;
/// - the compiler's work: one unit per tree node visited, per instruction emitted and per class
///   range or case-fold pair read, at most `LinearRegex.maximumCompileWork` — so no pattern,
///   whatever it repeats (`((){1000}){1000}` emits nothing yet would visit its body 10⁶ times),
///   takes long to compile.
struct RegexProgram: Sendable {
    var instructions: [RegexInstruction] = []
    var tables: [ScalarTable] = []
    /// Compile work spent so far (see the type's comment).
    private(set) var work = 0
    /// Table index of each class already compiled: a repeated class is built and charged once.
    private var tableIndex: [TableKey: Int] = [:]
    private var tableRanges = 0

    private enum TableKey: Hashable {
        case parsed(serial: Int)
        case folded(Unicode.Scalar)
    }

    static func compile(_ node: RegexNode) throws(RegexError) -> RegexProgram {
        var work = 0
        return try compile(node, work: &work)
    }

    /// Compiles, reporting the work spent in `work` even when the pattern is refused (the tests
    /// and the fuzzer hold it against `LinearRegex.maximumCompileWork`).
    static func compile(_ node: RegexNode, work: inout Int) throws(RegexError) -> RegexProgram {
        var program = RegexProgram()
        defer { work = program.work }
        try program.emit(node)
        try program.append(.match)
        program.tableIndex = [:]
        return program
    }

    /// Program size in the sense of `LinearRegex.maximumProgramSize`.
    var size: Int { instructions.count + tableRanges }

    private mutating func charge(_ units: Int) throws(RegexError) {
        guard units <= LinearRegex.maximumCompileWork - work else {
            work = LinearRegex.maximumCompileWork
            throw RegexError(offset: 0, "the pattern takes more than \(LinearRegex.maximumCompileWork) steps to compile "
                             + "(lower its repetition counts, nesting or class sizes)")
        }
        work += units
    }

    private func checkSize(adding units: Int) throws(RegexError) {
        guard units <= LinearRegex.maximumProgramSize - size else {
            throw RegexError(offset: 0, "the pattern compiles to more than \(LinearRegex.maximumProgramSize) instructions "
                             + "(each class range counts as one; lower its repetition counts or class sizes)")
        }
    }

    private mutating func append(_ instruction: RegexInstruction) throws(RegexError) {
        try charge(1)
        try checkSize(adding: 1)
        instructions.append(instruction)
    }

    /// Replaces a placeholder split or jump once its targets are known.
    private mutating func patch(_ at: Int, _ instruction: RegexInstruction) { instructions[at] = instruction }

    private mutating func emit(_ node: RegexNode) throws(RegexError) {
        try charge(1)
        switch node {
        case .empty:
            return
        case let .scalar(scalar, fold):
            let variants = fold ? CaseFold.variants(scalar) : [scalar]
            if variants.count == 1 {
                try append(.scalar(scalar))  // no case variants: only itself, as before
            } else {
                // The scalars sharing a case variant with `scalar`: the folded class of its variants.
                try emitSet(ScalarSet(ranges: variants.map { $0.value...$0.value }, fold: true), .folded(scalar))
            }
        case let .set(set, serial):
            try emitSet(set, .parsed(serial: serial))
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

    private mutating func emitSet(_ set: ScalarSet, _ key: TableKey) throws(RegexError) {
        if let index = tableIndex[key] { return try append(.set(index)) }
        let table = try ScalarTable(set) { (units: Int) throws(RegexError) in try charge(units) }
        try checkSize(adding: table.ranges.count + 1)
        tableIndex[key] = tables.count
        tableRanges += table.ranges.count
        tables.append(table)
        try append(.set(tables.count - 1))
    }

    private mutating func emitRepetition(_ inner: RegexNode, _ minimum: Int, _ maximum: Int?) throws(RegexError) {
        if let maximum, maximum == 0 || maximum < minimum { return }  // x{0}: only the empty text (the parser refuses max < min)
        // The first copy is emitted once up front (behind a placeholder split when it is optional):
        // a body that emits nothing matches only the empty text, however often it is repeated.
        let start = instructions.count
        let optionalFirst = minimum == 0
        if optionalFirst { try append(.jump(0)) }
        let body = instructions.count
        try emit(inner)
        guard instructions.count > body else {
            instructions.removeSubrange(start...)
            return
        }
        guard let maximum else {
            if optionalFirst {
                // x*: split body, end; body; jump split.
                try append(.jump(start))
                patch(start, .split(start + 1, instructions.count))
            } else {
                // x{n,}: n copies, the last of which loops back to itself (x+).
                var last = body
                for _ in 1..<minimum {
                    last = instructions.count
                    try emit(inner)
                }
                try append(.split(last, instructions.count + 1))
            }
            return
        }
        // x{n,m}: n copies, then m-n optional ones; skipping one skips the rest.
        var splits = optionalFirst ? [start] : []
        if !optionalFirst {
            for _ in 1..<minimum { try emit(inner) }
        }
        for _ in Swift.max(minimum, 1)..<maximum {
            splits.append(instructions.count)
            try append(.jump(0))
            try emit(inner)
        }
        for split in splits { patch(split, .split(split + 1, instructions.count)) }
    }
}
