#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A streaming numa_maps parser: fed the file in chunks as they are read, it hands each
/// line's mapping to a visitor and keeps nothing. Inspecting a process with 30k mappings
/// must cost little next to the kernel's own page walk that produces the file, so the hot
/// loop works on bytes, reuses its `Mapping`s, and allocates only for new policy spellings
/// and (when asked) file paths.
///
/// Most lines of a large numa_maps repeat a recent line but for the address: runs of alike
/// mappings (allocator arenas), and alternations such as a thread's guard page and its stack,
/// one pair per thread. The scanner remembers the last `recentLines + 1` lines it parsed
/// (`NumaMapsRecentLines`; distinct, but for a repeat a visitor declined that had to be parsed
/// again, or one not looked for while the search kept missing: `missesBeforeProbing`), and a
/// line whose bytes after the address are one of those is not parsed again: it is that
/// mapping at a new address. Each parsed line gets a `shape` number the visitor is told, so a
/// tally can classify a shape once and add its repeats without looking at them again; a
/// visitor that takes summaries (a tally) is handed a parsed line's `NumaMapsLineSummary`
/// instead of its mapping; a line whose tokens are a learned line's but for count digits is
/// read against that layout (`NumaMapsTokenTemplate`).
public struct NumaMapsScanner {
    public let keepsFilePaths: Bool
    /// False: addresses are checked but not converted, and every mapping's `address` is 0
    /// (a tally has no use for them).
    public let keepsAddresses: Bool
    /// Distinct policy spellings one numa_maps may hold (`NumaMapsPolicySpellings`).
    public static let maximumPolicies = 4096
    /// How many parsed lines before the last one a line is compared with before it is parsed.
    public static let recentLines = 8
    /// A line's bytes after its address longer than this are parsed every time they occur.
    public static let longestRememberedTail = 1024
    /// After this many lines in a row were parsed because no remembered line was theirs
    /// (mbind'ed regions, each with its own counts), only every `probeInterval`th line is
    /// compared with the remembered ones until one is found again: a search that keeps
    /// missing cost about 6% of such a line. A line not compared is parsed, which gives the
    /// same mapping; a run of repeats after the stretch is found again within the interval.
    /// 128, not 64: the lines remembered before each compared one (`recentLines + 1`) are read
    /// by `parseLine`, the others by `takeSummaries` for about half as much, so every line
    /// of the interval so remembered cost the bench's distinct victim ~6% (2026-12-04).
    static let missesBeforeProbing = 64
    static let probeInterval = 128
    /// `summaryPause` after a `takeSummaries` that took no line.
    static let summaryPauseLines = 16
    private var carry: [UInt8] = []
    private var lineNumber = 1
    /// The lines a line is compared with before it is parsed (`NumaMapsRecentLines`).
    private var lines: NumaMapsRecentLines
    /// The line being parsed: the mapping handed over, unless the recent lines keep mappings
    /// (then it becomes their last line, and this holds an older line's storage to reuse).
    private var scratch = Mapping(address: 0, policy: .default)
    /// Mappings handed to the visitor so far (a file of empty lines has none).
    public private(set) var mappingsVisited = 0
    /// False: every token goes through the general loop (tests compare the two ways).
    var readsUsualTokens = true
    /// The policies read so far, by spelling (`NumaMapsPolicySpellings`).
    private var spellings = NumaMapsPolicySpellings()
    /// The line being read for a visitor that takes summaries.
    private var summary = NumaMapsLineSummary()
    /// Its node counts, beside it (`NumaMapsLineSummary.Nodes`).
    private var summaryNodes = NumaMapsLineSummary.Nodes(repeating: .init(node: 0, pages: 0))
    /// The tokens of a line read into `summary`, for the lines after it.
    private var template = NumaMapsTokenTemplate()
    /// Lines parsed in a row since a line last repeated a remembered one (`missesBeforeProbing`).
    private var misses = 0
    /// Whether `hand` gave the visitor a remembered line again by its shape alone.
    private var tookByShape = false
    /// Digits of the address of a line just taken so by a tally's scanner (0: none), or -1
    /// after a line read against the token layout while the scanner was not remembering
    /// lines: `takeAhead` looks at the lines after it.
    private var aheadDigits = 0
    /// Lines `parseLine` reads against the layout before `takeSummaries` is tried again, after
    /// it took none: lines of two layouts in turn (the template holds one) would otherwise
    /// have every other line checked there for nothing, then read by `take` from its start.
    private var summaryPause = 0
    /// Digits of the address of the line `parseLine` read last.
    private var lineDigits = 0
    /// The shape of the line handed over last (-1: none, or one with no shape).
    private var previousShape = -1

    public init(keepsFilePaths: Bool, keepsAddresses: Bool = true, keepsRecentMappings: Bool = true) {
        self.keepsFilePaths = keepsFilePaths
        self.keepsAddresses = keepsAddresses
        lines = NumaMapsRecentLines(keepsMappings: keepsRecentMappings)
        assert(Self.probeInterval & (Self.probeInterval - 1) == 0, "takeSummaries masks with it")
    }

    /// Parses every complete line in `chunk`; a trailing partial line waits for the next chunk.
    public mutating func scan(_ chunk: UnsafeBufferPointer<UInt8>, _ visit: (Mapping) -> Void) throws(ParseError) {
        try scan(chunk) { mapping, _ in visit(mapping) }
    }

    /// The same, telling the visitor each mapping's shape: two mappings of one scanner with the
    /// same shape are equal in every field but `address`.
    public mutating func scan(_ chunk: UnsafeBufferPointer<UInt8>, _ visit: (Mapping, _ shape: Int) -> Void) throws(ParseError) {
        try withoutActuallyEscaping(visit) { (visit) throws(ParseError) in
            var visitor = ClosureVisitor(body: visit)
            try scan(chunk, into: &visitor)
        }
    }

    /// The same, handing each mapping to a visitor's method: no closure between the scanner
    /// and a tally, and the mapping passed in place.
    public mutating func scan<Visitor: NumaMapsVisitor>(_ chunk: UnsafeBufferPointer<UInt8>, into visitor: inout Visitor) throws(ParseError) {
        try scanChunk(chunk, into: &visitor)
    }

    /// The same for a tally, compiled for it here: a generic call from another module would go
    /// through the protocol's witness table and hand over a copy of the mapping at every line.
    public mutating func scan(_ chunk: UnsafeBufferPointer<UInt8>, into builder: inout MemoryTallyBuilder) throws(ParseError) {
        try scanChunk(chunk, into: &builder)
    }

    @inline(__always)
    private mutating func scanChunk<Visitor: NumaMapsVisitor>(_ chunk: UnsafeBufferPointer<UInt8>, into visitor: inout Visitor) throws(ParseError) {
        var start = 0
        if !carry.isEmpty {
            guard let newline = Self.newline(in: chunk, from: 0) else {
                carry.append(contentsOf: chunk)
                return
            }
            carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<newline]))
            let end = carry.count
            var line: [UInt8] = []
            swap(&line, &carry)
            let result = line.withUnsafeBufferPointer { buffer in
                Result { () throws(ParseError) in try take(buffer, 0, end, to: &visitor) }
            }
            try result.get()
            // Its storage serves the next split line (one a chunk when numa_maps is read a
            // seq_file page at a time).
            line.removeAll(keepingCapacity: true)
            swap(&line, &carry)
            start = takeAhead(chunk, newline + 1, into: &visitor)
        }
        while start < chunk.count {
            guard let end = Self.newline(in: chunk, from: start) else {
                carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start...]))
                return
            }
            try take(chunk, start, end, to: &visitor)
            start = takeAhead(chunk, end + 1, into: &visitor)
        }
    }

    /// After a line taken as a remembered line again by its shape, the lines that follow as
    /// they followed before (`takeRun`, `takeCycle`); where the first other line starts.
    @inline(__always)
    private mutating func takeAhead<Visitor: NumaMapsVisitor>(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, into visitor: inout Visitor
    ) -> Int {
        let digits = aheadDigits
        guard digits != 0 else { return start }
        aheadDigits = 0
        if digits < 0 { return takeSummaries(bytes, start, into: &visitor) }
        if previousShape >= 0, previousShape == lines.lastKey.shape, lines.follower(of: previousShape) == previousShape {
            // The last line again after itself: a run, which `takeRun` reads for less.
            return takeRun(bytes, start, digits: digits, into: &visitor)
        }
        return takeCycle(bytes, start, digits: digits, into: &visitor)
    }

    /// Lines from `start` that repeat, line after line, the remembered line that followed the
    /// line before them last time, each handed to the visitor by its shape while it takes
    /// them so; where the first other line starts. A cycle of shapes (a thread's guard page
    /// and stack, one pair per thread; the bench's varied victim, each line repeating the
    /// one four before) otherwise has each line searched for among the remembered ones after
    /// its address was read. Each line is compared with the one expected, its end where that
    /// line's bytes end if a newline is there (then the first one, as in `takeRun`), and its
    /// address checked.
    @inline(never)
    private mutating func takeCycle<Visitor: NumaMapsVisitor>(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, digits: Int, into visitor: inout Visitor
    ) -> Int {
        var start = start
        guard let base = bytes.baseAddress else { return start }
        while previousShape >= 0 {
            guard let next = lines.follower(of: previousShape), let key = lines.key(ofShape: next) else { return start }
            let space = start + digits, end = space + 1 + key.tailCount
            guard key.tailCount > 0, end < bytes.count, bytes[end] == 0x0A, bytes[space] == 0x20,
                  lines.isTail(key, base + space + 1, key.tailCount),
                  HexAddress.value(bytes, start, digits: digits, lineEnd: end, converting: false) != nil,
                  visitor.visitAgain(shape: key.shape) else { return start }
            misses = 0
            previousShape = key.shape
            mappingsVisited += 1
            lineNumber += 1
            start = end + 1
        }
        return start
    }

    /// Lines from `start` that `parseLine` would read against the token layout without
    /// remembering them (their bytes after the address are not looked for among the recent
    /// lines: `missesBeforeProbing`), each read so and handed to the visitor as `parseLine`
    /// and `hand` would; where the first other line starts. Such lines (mbind'ed regions, each
    /// with its own counts; the bench's distinct victim) went through `take` one by one: the
    /// search for the newline, the check for a repeat of the last line (there is none: it was
    /// forgotten), and `parseLine`'s bookkeeping cost as much as reading the line. Here the
    /// address is checked, the policy must be a kept spelling, and the line must end where the
    /// layout's tokens end: every byte before that newline is then a hex digit, the space,
    /// a spelling's byte or a layout's byte (none of them a newline), so it is the first one
    /// `take` would have found. Anything else is left to `take` from the line's start (a
    /// kept spelling matched here only moves the spellings' guess of the next one).
    @inline(never)
    private mutating func takeSummaries<Visitor: NumaMapsVisitor>(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, into visitor: inout Visitor
    ) -> Int {
        var start = start
        let layout = template.layoutLength
        guard Visitor.takesSummaries, !lines.keepsMappings, lines.lastTailCount < 0, layout >= 0,
              let base = bytes.baseAddress else { return start }
        let limit = bytes.count
        // The counts `take` keeps per line, kept here and stored once: a store each per line
        // was a tenth of the loop.
        var misses = self.misses, taken = 0
        defer {
            self.misses = misses
            mappingsVisited &+= taken
            lineNumber &+= taken
            if taken > 0 { previousShape = -1 } else { summaryPause = Self.summaryPauseLines }
        }
        while true {
            // The lines `parseLine` neither compares nor remembers (`probeInterval` is a power
            // of two, and `misses` at least `missesBeforeProbing` when this is read).
            guard misses >= Self.missesBeforeProbing, misses < Int.max else { return start }
            let position = misses & (Self.probeInterval &- 1)
            guard position != 0, position < Self.probeInterval - Self.recentLines - 1,
                  let digits = HexAddress.digits(bytes, start, limit),
                  let policy = spellings.keptLength(bytes, start &+ digits &+ 1, limit) else { return start }
            let tokens = start &+ digits &+ 1 &+ policy, end = tokens &+ layout
            guard end < limit, end &- start >= 16, base[end] == 0x0A,
                  template.summarizeByLayout(base, tokens, end, limit: limit, into: &summary, nodes: &summaryNodes)
            else { return start }
            summary.spelling = spellings.lastSlot
            summary.serial = spellings.lastSerial
            misses &+= 1
            taken &+= 1
            handSummary(to: &visitor, shape: -1)
            start = end &+ 1
        }
    }

    /// The line handed over last had `shape`: it follows the one before (`takeCycle`).
    @inline(__always)
    private mutating func handed(_ shape: Int) {
        if previousShape >= 0, shape >= 0 { lines.follow(previousShape, by: shape) }
        previousShape = shape
    }

    /// Lines from `start` that are the last line again at an address of `digits` digits,
    /// each handed to the visitor by its shape, while the visitor takes them so; where the
    /// first other line starts. A run of alike lines (most of the bench's 32k-mapping victim,
    /// an allocator's arenas) costs here a compare and the address's check a line: its end
    /// is where the last line's bytes end, if a newline is there (digits and a line's bytes
    /// hold none, so it is the first one), found without searching for it. A loop apart from
    /// `take`'s, entered (`takeAhead`) after a line repeated the last line, which followed
    /// itself before: put in the main loop, the check slowed every other line (and `take` was
    /// no longer inlined).
    @inline(never)
    private mutating func takeRun<Visitor: NumaMapsVisitor>(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, digits: Int, into visitor: inout Visitor
    ) -> Int {
        var start = start
        let count = lines.lastTailCount, shape = lines.shape(ofSlot: -1)
        guard count > 0, let base = bytes.baseAddress else { return start }
        while true {
            let space = start + digits, end = space + 1 + count
            guard end < bytes.count, bytes[end] == 0x0A, bytes[space] == 0x20, lines.isLastTail(base + space + 1, count),
                  HexAddress.value(bytes, start, digits: digits, lineEnd: end, converting: false) != nil,
                  visitor.visitAgain(shape: shape) else { return start }
            mappingsVisited += 1
            lineNumber += 1
            start = end + 1
        }
    }

    /// Parses a final line that had no newline.
    public mutating func finish(_ visit: (Mapping) -> Void) throws(ParseError) {
        try finish { mapping, _ in visit(mapping) }
    }

    public mutating func finish(_ visit: (Mapping, _ shape: Int) -> Void) throws(ParseError) {
        try withoutActuallyEscaping(visit) { (visit) throws(ParseError) in
            var visitor = ClosureVisitor(body: visit)
            try finish(into: &visitor)
        }
    }

    public mutating func finish<Visitor: NumaMapsVisitor>(into visitor: inout Visitor) throws(ParseError) {
        guard !carry.isEmpty else { return }
        let line = carry
        carry = []
        let result = line.withUnsafeBufferPointer { buffer in
            Result { () throws(ParseError) in try take(buffer, 0, buffer.count, to: &visitor) }
        }
        try result.get()
    }

    /// Hands the line in `start..<end` to the visitor: the last line again at a new address
    /// (`repeatsLast`), else what `parseLine` makes of it. A repeat the visitor does not take by
    /// its shape, when the recent lines keep no mappings, is parsed again as a new line.
    @inline(__always)
    private mutating func take<Visitor: NumaMapsVisitor>(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, to visitor: inout Visitor
    ) throws(ParseError) {
        defer { lineNumber += 1 }
        // A tally's scanner: the visitor takes summaries, every remembered shape again, and no
        // later repeat will want a line's mapping. Only for it do `takeRun` and `takeCycle`
        // read ahead: another visitor declining a line in those loops would be asked about it
        // again by this one.
        let tallies = Visitor.takesSummaries && !lines.keepsMappings
        if let address = repeatsLast(bytes, start, end), hand(.again(slot: -1, address: address), to: &visitor) {
            if tookByShape, tallies { aheadDigits = end - lines.lastTailCount - 1 - start }
            return
        }
        // A summary serves only when no later repeat will want this line's mapping.
        let line = try parseNumberedLine(bytes, start, end, recalling: true, summarizing: tallies)
        if hand(line, to: &visitor) {
            if case .again = line, tookByShape, tallies { aheadDigits = lineDigits }
            return
        }
        _ = try hand(parseNumberedLine(bytes, start, end, recalling: false, summarizing: tallies), to: &visitor)
    }

    /// The line's address when the line is the last line again: its bytes after the address
    /// are the last line's when they end the line after a space, and the bytes before that
    /// space are all lowercase hex digits (`HexAddress` checks them knowing how many there
    /// are). The first check of every line, so a run of alike lines (most of a large numa_maps)
    /// costs a compare and that check, not the search for the address's end; anything else
    /// goes on to `parseLine`.
    @inline(__always)
    private mutating func repeatsLast(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64? {
        let count = lines.lastTailCount, space = end - count - 1
        guard count > 0, space > start, bytes[space] == 0x20, let base = bytes.baseAddress,
              lines.isLastTail(base + space + 1, count) else { return nil }
        misses = 0
        return HexAddress.value(bytes, start, digits: space - start, lineEnd: end, converting: keepsAddresses)
    }

    /// What a line was: nothing (empty), a line parsed into `scratch` (or read into `summary`)
    /// and given `shape`, or a remembered line again (the last one, -1, or a recent one) at
    /// `address`.
    private enum Line {
        case empty
        case parsed(shape: Int)
        case summarized(shape: Int)
        case again(slot: Int, address: UInt64)
    }

    /// Hands the line's mapping to the visitor: a remembered line first by its shape alone, and
    /// only when the visitor wants the mapping itself is that line brought forward. False when
    /// it wants it and the recent lines keep no mappings: the line must be parsed.
    @inline(__always)
    private mutating func hand<Visitor: NumaMapsVisitor>(_ line: Line, to visitor: inout Visitor) -> Bool {
        switch line {
        case .empty:
            return true
        case let .parsed(shape):
            handed(shape)
            mappingsVisited += 1
            if lines.keepsMappings {
                visitor.visit(lines.last, shape: shape)
            } else {
                visitor.visit(scratch, shape: shape)
            }
        case let .summarized(shape):
            handed(shape)
            mappingsVisited += 1
            handSummary(to: &visitor, shape: shape)
        case let .again(slot, address):
            let shape = lines.shape(ofSlot: slot)
            tookByShape = visitor.visitAgain(shape: shape)
            if tookByShape {
                handed(shape)
                mappingsVisited += 1
                return true
            }
            previousShape = -1
            guard lines.keepsMappings else { return false }
            lines.bringForward(slot, address: address)
            mappingsVisited += 1
            visitor.visit(lines.last, shape: lines.lastKey.shape)
        }
        return true
    }

    /// Hands `summary`, its node counts and its policy to the visitor (`hand`, `takeSummaries`).
    @inline(__always)
    private mutating func handSummary<Visitor: NumaMapsVisitor>(to visitor: inout Visitor, shape: Int) {
        let count = summary.nodeCount
        summaryNodes.span.withUnsafeBufferPointer { all in
            visitor.visit(summary, nodes: UnsafeBufferPointer(rebasing: all[0..<count]), policy: { spellings.lastPolicy }, shape: shape)
        }
    }

    private struct ClosureVisitor: NumaMapsVisitor {
        let body: (Mapping, Int) -> Void
        mutating func visit(_ mapping: Mapping, shape: Int) { body(mapping, shape) }
    }

    /// What the line is (`hand` gives it to the visitor); `recalling` false: parsed even when
    /// it repeats a remembered line; `summarizing`: read into `summary` when it can be.
    private mutating func parseNumberedLine(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, recalling: Bool, summarizing: Bool
    ) throws(ParseError) -> Line {
        guard end > start else { return .empty }
        do {
            return try parseLine(bytes, start, end, recalling: recalling, summarizing: summarizing)
        } catch {
            var located = error
            located.what = "numa_maps line \(lineNumber)"
            located.line = lineNumber
            throw located
        }
    }

    /// memchr is vectorised; the scan for line ends is the one pass over every byte.
    private static func newline(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count,
              let found = memchr(base + start, 0x0A, bytes.count - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Parses one line into `scratch` (or, `summarizing`, reads it into `summary` when that
    /// takes it) and remembers it, or (`recalling`) finds it among the remembered ones.
    private mutating func parseLine(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, recalling: Bool, summarizing: Bool
    ) throws(ParseError) -> Line {
        func fail(_ at: Int, _ reason: String) -> ParseError {
            ParseError(what: "numa_maps line", input: NumaMapsTokens.text(bytes, start, end), column: at - start + 1, reason: reason)
        }
        var cursor = start
        // Address: hex digits up to the first space, eight bytes at a time (`HexAddress`); what
        // that does not take (16 digits, a short line, any other byte) digit by digit, which
        // also says where such a line goes wrong.
        var address: UInt64 = 0
        if !keepsAddresses, let digits = HexAddress.digits(bytes, start, end) {
            cursor += digits
        } else if keepsAddresses, let leading = HexAddress.leading(bytes, start, end) {
            address = leading.value
            cursor += leading.digits
        } else {
            while cursor < end && bytes[cursor] != 0x20 { cursor += 1 }
            let exact = try NumaMapsTokens.exactAddress(bytes, start, cursor, fail)
            if keepsAddresses { address = exact }
        }
        guard cursor > start, cursor < end else { throw fail(cursor, "expected an address followed by a policy") }
        lineDigits = cursor - start
        cursor += 1
        // Bytes after the address seen on a recent line parse to the same fields: only the address is new.
        let tailCount = end - cursor
        let position = misses % Self.probeInterval
        let compared = misses < Self.missesBeforeProbing || position == 0
        if recalling, let base = bytes.baseAddress {
            if compared, let slot = lines.slot(of: base + cursor, tailCount) {
                misses = 0
                return .again(slot: slot, address: address)
            }
            if misses < Int.max { misses += 1 }
        }
        // While probing, a tally's scanner remembers only the lines the next compared line is
        // compared with (the `recentLines + 1` before it) and the compared lines: it finds
        // what it found remembering every line. Remembering (the bytes copied, a shape, the
        // builder's slot) was a tenth of a line parsed in full. A line not remembered is
        // handed over with no shape (-1): counted, never repeated by shape; and the line
        // before it is no longer the last line (a repeat of it is found as a run of alike
        // lines is, once the lines before a compared one are remembered).
        let remembered = compared || !recalling || !summarizing || position >= Self.probeInterval - Self.recentLines - 1
        if !remembered { lines.forgetLast() }
        // Policy: almost always spelled as on the line before, or as on a recent line.
        let policyStart = cursor
        if let length = spellings.keptLength(bytes, cursor, end) {
            cursor += length
        } else {
            // Two kernel spellings contain a space, so skip over them before looking for the token's end.
            if NumaMapsTokens.hasPrefix(bytes, cursor, end, "prefer (many)") {
                cursor += 13
            } else if NumaMapsTokens.hasPrefix(bytes, cursor, end, "weighted interleave") {
                cursor += 19
            }
            while cursor < end && bytes[cursor] != 0x20 { cursor += 1 }
            do {
                try spellings.read(bytes, policyStart, cursor)
            } catch {
                throw fail(policyStart + (error.column ?? 1) - 1, error.reason)
            }
        }
        if summarizing, let base = bytes.baseAddress,
           let reading = template.summarize(base, cursor, end, limit: bytes.count, into: &summary, nodes: &summaryNodes) {
            summary.spelling = spellings.lastSlot
            summary.serial = spellings.lastSerial
            // A line of the learned layout, neither compared nor remembered: the lines after it
            // are likely the same (`takeSummaries`).
            if reading == .layout, !remembered {
                if summaryPause == 0 { aheadDigits = -1 } else { summaryPause -= 1 }
            }
            return .summarized(shape: remembered ? lines.remember(&scratch, base + end - tailCount, tailCount) : -1)
        }
        scratch.reset(address: address)
        spellings.setLast(in: &scratch)
        var pageSizeStart = end
        // Remaining tokens: `key=value` or bare words, separated by single spaces.
        while cursor < end {
            while cursor < end && bytes[cursor] == 0x20 { cursor += 1 }
            let tokenStart = cursor
            guard tokenStart < end else { break }
            if readsUsualTokens, let base = bytes.baseAddress, let token = NumaMapsTokens.usualToken(base, tokenStart, end) {
                if let counter = token.counter {
                    scratch.set(counter, token.value)
                    if counter == .pageSize { pageSizeStart = tokenStart }
                } else {
                    scratch.nodePages.append(.init(node: token.node, pages: token.value))
                }
                cursor = token.end
                continue
            }
            // Any other token (a file, a bare word, a count too long or malformed, a key of a
            // later kernel), in one pass: the key up to `=` (or the bare word up to a space),
            // then the value up to a space, read as a decimal on the way.
            while cursor < end && bytes[cursor] != 0x20 && bytes[cursor] != 0x3D { cursor += 1 }
            var equalsAt = -1
            var decimal: Int? = nil
            if cursor < end && bytes[cursor] == 0x3D {
                equalsAt = cursor
                cursor += 1
                var value = 0
                var numeric = cursor < end && bytes[cursor] != 0x20
                while cursor < end && bytes[cursor] != 0x20 {
                    let digit = bytes[cursor] &- 0x30
                    if numeric {
                        if digit > 9 {
                            numeric = false
                        } else {
                            let (product, overflowA) = value.multipliedReportingOverflow(by: 10)
                            let (sum, overflowB) = product.addingReportingOverflow(Int(digit))
                            if overflowA || overflowB { numeric = false } else { value = sum }
                        }
                    }
                    cursor += 1
                }
                if numeric { decimal = value }
            }
            if equalsAt < 0 {
                if NumaMapsTokens.equals(bytes, tokenStart, cursor, "heap") {
                    scratch.heap = true
                } else if NumaMapsTokens.hasPrefix(bytes, tokenStart, cursor, "stack") {
                    // Kernels before 4.5 printed `stack:TID` for thread stacks.
                    scratch.stack = true
                } else if NumaMapsTokens.equals(bytes, tokenStart, cursor, "huge") {
                    scratch.huge = true
                }
                continue  // other bare words are future kernel additions; they carry no counts
            }
            if NumaMapsTokens.equals(bytes, tokenStart, equalsAt, "file") {
                scratch.fileBacked = true
                if keepsFilePaths { scratch.file = NumaMapsTokens.text(bytes, equalsAt + 1, cursor) }
                continue
            }
            let isNode = bytes[tokenStart] == 0x4E  // "N<node>="
            guard let value = decimal else {
                // Only counters are numeric; an unknown key with a non-numeric value is tolerated,
                // but a node count or a known counter that does not parse is corruption.
                if isNode || NumaMapsTokens.counter(bytes, tokenStart, equalsAt) != nil {
                    throw fail(equalsAt + 1, "\"\(NumaMapsTokens.text(bytes, tokenStart, equalsAt))\" needs a decimal count")
                }
                continue
            }
            if isNode, let node = Lex.decimal(bytes, tokenStart + 1, equalsAt) {
                guard node <= KernelArithmetic.maximumNode else {
                    throw fail(tokenStart + 1, "node \(node) is beyond the largest node id Linux has (\(KernelArithmetic.maximumNode))")
                }
                scratch.nodePages.append(.init(node: node, pages: value))
                continue
            }
            if let counter = NumaMapsTokens.counter(bytes, tokenStart, equalsAt) {
                scratch.set(counter, value)
                if counter == .pageSize { pageSizeStart = tokenStart }
            }
        }
        try checkSizes(bytes, start, end, pageSizeStart: pageSizeStart, fail)
        guard let base = bytes.baseAddress else { return .empty }
        return .parsed(shape: remembered ? lines.remember(&scratch, base + end - tailCount, tailCount) : -1)
    }

    /// Every count must make real bytes (`NumaMapsTokens.sizes`); a line whose counts do not is
    /// refused at the token that takes it past 2^63 bytes.
    /// (Mutating only so that the scanner is passed by reference: a non-mutating method called
    /// from `parseLine` was handed a copy of the whole scanner at every line.)
    private mutating func checkSizes(
        _ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, pageSizeStart: Int, _ fail: (Int, String) -> ParseError
    ) throws(ParseError) {
        let pageKiB = scratch.pageSizeKiB, size = scratch.pageSizeKiB ?? 0
        func node(_ index: Int) -> (at: Int, text: String) {
            let entry = scratch.nodePages[index]
            return (NumaMapsTokens.nodeTokenStart(line, start, end, index), "N\(entry.node)=\(entry.pages) pages of \(size) kB")
        }
        switch scratch.nodePages.withUnsafeBufferPointer({ NumaMapsTokens.sizes(pageKiB: pageKiB, $0) }) {
        case .fit:
            return
        case .pageSizeOverflows:
            throw fail(pageSizeStart, "kernelpagesize_kB=\(size) overflows")
        case .countsWithoutPageSize:
            throw fail(pageSizeStart, "page counts without kernelpagesize_kB")
        case let .nodeOverflows(index):
            let (at, text) = node(index)
            throw fail(at, "\(text) overflows")
        case let .totalOverflows(index):
            let (at, text) = node(index)
            throw fail(at, "\(text) take the mapping beyond 2^63 bytes")
        }
    }
}
