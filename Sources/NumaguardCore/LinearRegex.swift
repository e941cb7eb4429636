/// A regular expression matched in time linear in the input: policy `match.cmdline` and
/// `inspect --name` take patterns from files and command lines, and the texts they search are
/// other users' command lines, so neither side may be able to stall the audit or the watch.
///
/// A backtracking engine (Swift Regex, NSRegularExpression, PCRE) takes exponential time on
/// `^(a+)+$` against "aaaa…a!"; this one simulates the compiled program's NFA one input scalar
/// at a time (a Pike VM, as RE2 and Go's regexp do), keeping at most one thread per
/// instruction, so a search costs at most (input length + 1) × 2 × program size steps, and a
/// class test within a step one binary search of its precompiled range table.
///
/// Semantics: an unanchored search (the pattern may match anywhere; `^` and `$` anchor to the
/// start and end of the whole text, as Swift Regex did), over Unicode scalars; `\d \w \s \b`
/// are ASCII, as in RE2 and Go.
public struct LinearRegex: Sendable, CustomStringConvertible {
    /// Longest pattern accepted, in Unicode scalars.
    public static let maximumPatternLength = 4096
    /// Largest count in `{n}`, `{n,}`, `{n,m}` (RE2's limit too).
    public static let maximumRepeat = 1000
    /// Most instructions a compiled pattern may have, counting each range of its class tables
    /// as one (bounded repetition is expanded).
    public static let maximumProgramSize = 10_000
    /// Most work compiling one pattern may take: one unit per tree node visited, per instruction
    /// emitted and per class range or case-fold pair read. Ten times the program size: a
    /// pattern's repetitions may revisit its tree, but not without bound (`((){1000}){1000}`).
    public static let maximumCompileWork = 100_000
    /// Deepest group nesting accepted.
    public static let maximumNesting = 250

    public let pattern: String
    let program: RegexProgram

    public init(_ pattern: String) throws(RegexError) {
        self.pattern = pattern
        program = try RegexProgram.compile(RegexParser.parse(pattern))
    }

    /// The compile work the pattern took (at most `maximumCompileWork`).
    public var compileWork: Int { program.work }

    /// Ranges in the compiled class tables, which count towards `maximumProgramSize` too.
    public var classRanges: Int { program.size - program.instructions.count }

    public var description: String { pattern }

    /// Instructions in the compiled program: the factor the step bound multiplies by.
    public var programSize: Int { program.instructions.count }

    /// The most steps `search` can take over `length` scalars.
    public func stepBound(length: Int) -> Int { (length + 1) * 2 * programSize }

    /// The most class-range comparisons `search` can make over `length` scalars: at each
    /// position each instruction runs at most once, and a class test is one binary search.
    public func comparisonBound(length: Int) -> Int {
        length * programSize * (program.tables.map(\.lookupBound).max() ?? 0)
    }

    /// Whether the pattern matches anywhere in `text`.
    public func matches(_ text: some StringProtocol) -> Bool { search(Array(text.unicodeScalars)).matched }

    /// The search itself, with the number of steps it took (each instruction a thread entered
    /// or ran at one position) and of class-range comparisons it made, which tests and the
    /// fuzzer hold against `stepBound` and `comparisonBound`.
    public func search(_ text: [Unicode.Scalar]) -> (matched: Bool, steps: Int, comparisons: Int) {
        var machine = PikeMachine(program: program, text: text)
        let matched = machine.run()
        return (matched, machine.steps, machine.comparisons)
    }
}

/// The thread lists of the simulation: a sparse set (Briggs & Torczon) per list, so clearing is
/// O(1) and each instruction is entered at most once per position.
private struct ThreadList {
    private var dense: [Int]
    private var sparse: [Int]
    private(set) var count = 0

    init(capacity: Int) {
        dense = Array(repeating: 0, count: capacity)
        sparse = Array(repeating: 0, count: capacity)
    }

    func contains(_ pc: Int) -> Bool {
        let slot = sparse[pc]
        return slot < count && dense[slot] == pc
    }

    /// Adds `pc`; false when it was already there.
    mutating func insert(_ pc: Int) -> Bool {
        guard !contains(pc) else { return false }
        sparse[pc] = count
        dense[count] = pc
        count += 1
        return true
    }

    subscript(index: Int) -> Int { dense[index] }

    mutating func clear() { count = 0 }
}

private struct PikeMachine {
    let program: RegexProgram
    let text: [Unicode.Scalar]
    var steps = 0
    var comparisons = 0
    /// The threads at this position and at the next one; `current` says which is which.
    private var lists: [ThreadList]
    private var current = 0
    /// The explicit stack of addThread (no recursion: a program may be 10,000 instructions long).
    private var stack: [Int] = []

    init(program: RegexProgram, text: [Unicode.Scalar]) {
        self.program = program
        self.text = text
        lists = Array(repeating: ThreadList(capacity: program.instructions.count), count: 2)
    }

    mutating func run() -> Bool {
        // A pattern that starts with `^` can only start at 0, and fails once its threads die.
        let anchored = program.instructions.first == .assertion(.textStart)
        for position in 0...text.count {
            // Unanchored: a new thread starts at every position.
            if position == 0 || !anchored, addThread(0, at: position, to: current) { return true }
            if anchored && lists[current].count == 0 { return false }
            guard position < text.count else { break }
            let scalar = text[position]
            let next = 1 - current
            lists[next].clear()
            for index in 0..<lists[current].count {
                let pc = lists[current][index]
                steps += 1
                let consumed: Bool
                switch program.instructions[pc] {
                case let .scalar(expected): consumed = scalar == expected
                case let .set(table): consumed = program.tables[table].contains(scalar, comparisons: &comparisons)
                default: consumed = false  // only consuming instructions are kept in a list
                }
                if consumed, addThread(pc + 1, at: position + 1, to: next) { return true }
            }
            current = next
        }
        return false
    }

    /// Follows jumps, splits and assertions from `start` at `position`, keeping the consuming
    /// instructions it reaches; true as soon as `match` is reachable.
    private mutating func addThread(_ start: Int, at position: Int, to list: Int) -> Bool {
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        while let pc = stack.popLast() {
            guard lists[list].insert(pc) else { continue }
            steps += 1
            switch program.instructions[pc] {
            case .match: return true
            case let .jump(target): stack.append(target)
            case let .split(first, second):
                stack.append(second)
                stack.append(first)
            case let .assertion(assertion):
                if holds(assertion, at: position) { stack.append(pc + 1) }
            case .scalar, .set: break
            }
        }
        return false
    }

    private func holds(_ assertion: RegexAssertion, at position: Int) -> Bool {
        let before = position > 0 ? text[position - 1] : nil
        let after = position < text.count ? text[position] : nil
        switch assertion {
        case .textStart: return position == 0
        case .textEnd: return position == text.count
        case .textEndOrFinalNewline: return position == text.count || (position == text.count - 1 && after == "\n")
        case .lineStart: return before == nil || before == "\n"
        case .lineEnd: return after == nil || after == "\n"
        case .wordBoundary, .notWordBoundary:
            let boundary = (before.map(CharacterKind.isWord) ?? false) != (after.map(CharacterKind.isWord) ?? false)
            return boundary == (assertion == .wordBoundary)
        }
    }
}
