/// The tokens of a line a tally's scanner read as a summary (`NumaMapsLineSummary.read`),
/// with the digits of its counts left open: a later line whose tokens are the same bytes but
/// for those digits (as many of them) is the same summary with other counts, read by
/// comparing eight bytes at a time.
///
/// Lines that repeat no recent line but for the address (mbind'ed regions, each with its own
/// counts; the bench's distinct victim) were read token by token, most of a tally's cost for
/// such a line. Their tokens mostly share one layout: the same keys in the kernel's order,
/// the same nodes, counts of the same widths. Only a line `NumaMapsLineSummary.read` took is
/// learned, so its keys, bare words, node ids and count widths are ones that reader accepts;
/// a line matching it differs only in count digits, which the reader would read the same way
/// (any digits, 1 to 18 of them, ending the token). So a line read here is read as the reader
/// would read it (NumaMapsTokenTemplateTests, the parsers fuzzer): only the sizes are checked
/// again.
struct NumaMapsTokenTemplate {
    /// Token bytes a template holds (after the policy, from the space before the first token).
    static let longest = 128

    /// The bytes, eight to a word (`Word`).
    private var words = InlineArray<16, Word>(repeating: Word())
    /// -1: nothing learned (or the last line learned did not fit).
    private var length = -1
    /// Where the counts a tally uses are, as offsets from the start and digit counts
    /// (`digits` 0: the line had no such token).
    private var anon = Count()
    /// The page size is part of the layout (its digits are not open): its value, -1 for none,
    /// and bytes.
    private var pageKiB = -1
    private var pageBytes = 0
    private var nodes = InlineArray<4, Count>(repeating: Count())
    private var nodeCount = 0
    /// What the bare words and `file=` made the line.
    private var category = 0
    private var file = false
    private var huge = false
    /// Whether every line of this layout makes real bytes (`NumaMapsTokens.sizes`): its node
    /// counts at their widest (all nines) times the page size, summed, stay below 2^63, so
    /// their sizes need no check.
    private var fits = false
    /// Lines summarized since the template was learned (at first as if that were long ago:
    /// the first line is learned).
    private var sinceLearning = NumaMapsScanner.probeInterval

    /// Eight bytes of the template, little-endian: `expected` holds the bytes, with 0x30 where
    /// a count's digit is (zero past `length`); `fixed` is 0xFF on every other byte; `addend`
    /// 0x76 and `high` 0x80 on the digits' bytes. A line's word `w` matches when
    /// `y = w ^ expected` is zero on the fixed bytes and every digit's byte of `y` (its value,
    /// 0 to 9) stays below 0x80 with 0x76 added: `((y + addend) | y) & high == 0`. A byte of
    /// `y` from 0x0A up sets its high bit either way; a carry out of one (0x8A up) only
    /// reaches bytes of a line already refused.
    private struct Word {
        var expected: UInt64 = 0
        var fixed: UInt64 = 0
        var addend: UInt64 = 0
        var high: UInt64 = 0
    }

    private struct Count {
        var node = 0
        var offset = 0
        var digits = 0
    }

    private static var ones: UInt64 { 0x0101_0101_0101_0101 }

    /// Reads the tokens in `start..<end` into `summary`: as the template's tokens with other
    /// counts when they are, else token by token (`NumaMapsLineSummary.read`, whose answer
    /// this is), and then learns them if `NumaMapsScanner.probeInterval` lines went by since
    /// the template was learned. Learning costs a few lines read, so it is never done more
    /// often: lines of several layouts in turn keep one template (and the others are read as
    /// before), and a process whose layout changes for good is followed within so many lines.
    /// Says which way the tokens were read (nil: neither took them).
    @inline(__always)
    mutating func summarize(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, limit: Int,
                            into summary: inout NumaMapsLineSummary, nodes: inout NumaMapsLineSummary.Nodes) -> Reading? {
        if sinceLearning < NumaMapsScanner.probeInterval { sinceLearning &+= 1 }
        if read(base, start, end, limit: limit, into: &summary, nodes: &nodes) { return .layout }
        guard summary.read(base, start, end, nodes: &nodes) else { return nil }
        if sinceLearning >= NumaMapsScanner.probeInterval {
            learn(base, start, end, summary)
            sinceLearning = 0
        }
        return .tokens
    }

    /// How `summarize` read a line's tokens: against the learned layout, or token by token.
    enum Reading {
        case layout
        case tokens
    }

    /// How many bytes the learned tokens take (-1: none learned): a line read against them
    /// ends there, so the scanner's loop over such lines (`NumaMapsScanner.takeSummaries`)
    /// looks for its newline at that one place instead of searching for it.
    var layoutLength: Int { length }

    /// `summarize` for a line that only the layout may read (false: it did not, and nothing
    /// was changed but `nodes`): counted as `summarize` counts it.
    @inline(__always)
    mutating func summarizeByLayout(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, limit: Int,
                                    into summary: inout NumaMapsLineSummary, nodes: inout NumaMapsLineSummary.Nodes) -> Bool {
        guard read(base, start, end, limit: limit, into: &summary, nodes: &nodes) else { return false }
        if sinceLearning < NumaMapsScanner.probeInterval { sinceLearning &+= 1 }
        return true
    }

    /// Reads the tokens in `start..<end` into `summary` and `nodes` when they are the learned
    /// tokens but for count digits; false otherwise (and then nothing was changed but
    /// `nodes`). `limit`: the buffer's end, which no load passes. The last bytes are loaded as
    /// the eight that end the tokens, shifted down, so a line that ends its buffer (each
    /// read of numa_maps returns whole lines) is read here too; only tokens shorter than
    /// eight bytes are loaded from their start and need the buffer to go on.
    /// (Mutating only so that the template is passed in place: a non-mutating call on the
    /// scanner's stored template copied it whole at every line.)
    @inline(__always)
    mutating func read(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, limit: Int,
              into summary: inout NumaMapsLineSummary, nodes found: inout NumaMapsLineSummary.Nodes) -> Bool {
        let length = end &- start
        guard length == self.length, length >= 8 || limit &- start >= 8 else { return false }
        // Whole words, then the last bytes (the load's bytes past `end` masked off).
        let whole = length &>> 3
        var index = 0
        while index < whole {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + (start &+ index &<< 3)).loadUnaligned(as: UInt64.self))
            guard Self.matches(word, words[index], live: .max) else { return false }
            index &+= 1
        }
        let left = length & 7
        if left > 0 {
            let word = whole > 0
                ? UInt64(littleEndian: UnsafeRawPointer(base + (end &- 8)).loadUnaligned(as: UInt64.self)) &>> UInt64((8 &- left) &<< 3)
                : UInt64(littleEndian: UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self))
            guard Self.matches(word, words[index], live: (UInt64(1) &<< UInt64(left &<< 3)) &- 1) else { return false }
        }
        // Every open byte is a digit: the counts are read without checks.
        var position = 0, totalPages = 0
        while position < nodeCount {
            let pages = Self.value(base, start, nodes[position])
            found[position] = .init(node: nodes[position].node, pages: pages)
            totalPages &+= pages
            position &+= 1
        }
        if !fits {
            let sizes = found.span.withUnsafeBufferPointer { all in
                NumaMapsTokens.sizes(pageKiB: pageKiB >= 0 ? pageKiB : nil, UnsafeBufferPointer(rebasing: all[0..<nodeCount]))
            }
            guard case let .fit(total) = sizes else { return false }
            totalPages = total
        }
        summary.nodeCount = nodeCount
        summary.category = category
        // Only a file's mapping outside hugetlb has a backing that depends on its counts.
        summary.backing = file && !huge
            ? NumaMapsLineSummary.backing(file: true, huge: false, anon: Self.value(base, start, anon), totalPages: totalPages).rawValue
            : MemoryTally.Backing.anonymous.rawValue
        summary.pageBytes = pageBytes
        return true
    }

    /// Whether `word` matches `template` (`Word`) in its `live` bytes. Digits' bytes are never
    /// past the line's end.
    @inline(__always)
    private static func matches(_ word: UInt64, _ template: Word, live: UInt64) -> Bool {
        let difference = word ^ template.expected
        return difference & template.fixed & live == 0 && ((difference &+ template.addend) | difference) & template.high == 0
    }

    /// The count at `count`'s place (0 for none).
    @inline(__always)
    private static func value(_ base: UnsafePointer<UInt8>, _ start: Int, _ count: Count) -> Int {
        var at = start &+ count.offset
        let stop = at &+ count.digits
        guard count.digits > 1 else { return count.digits == 1 ? Int(base[at] &- 0x30) : 0 }
        var value = 0
        while at < stop {
            value = value &* 10 &+ Int(base[at] &- 0x30)
            at &+= 1
        }
        return value
    }

    /// Learns the tokens in `start..<end`, which `NumaMapsLineSummary.read` has just read into
    /// `summary`. Tokens longer than `longest`, more than four node counts, or anything the
    /// reader would not have taken leave no template. Read from the line in place, once in
    /// `probeInterval` lines at most (`summarize`).
    mutating func learn(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ summary: NumaMapsLineSummary) {
        length = -1
        let length = end - start
        guard length >= 0, length <= Self.longest else { return }
        let line = base + start
        var open = InlineArray<16, UInt64>(repeating: 0)
        anon = Count()
        pageKiB = -1
        nodeCount = 0
        file = false
        huge = false
        var cursor = 0
        while cursor < length {
            if line[cursor] == 0x20 {
                cursor += 1
                continue
            }
            let token = cursor
            while cursor < length, line[cursor] != 0x20, line[cursor] != 0x3D { cursor += 1 }
            let key = token..<cursor
            guard cursor < length, line[cursor] == 0x3D else {
                // A bare word: `huge` makes the backing anonymous (`heap` and `stack` only the
                // category, which `summary` has).
                if NumaMapsTokens.equals(line, key.lowerBound, key.upperBound, "huge") { huge = true }
                continue
            }
            if NumaMapsTokens.equals(line, key.lowerBound, key.upperBound, "file") {
                file = true
                while cursor < length, line[cursor] != 0x20 { cursor += 1 }
                continue
            }
            cursor += 1
            let value = cursor, pageSize = NumaMapsTokens.equals(line, key.lowerBound, key.upperBound, "kernelpagesize_kB")
            while cursor < length, line[cursor] != 0x20 {
                guard line[cursor] &- 0x30 < 10 else { return }
                if !pageSize { open[cursor >> 3] |= 0xFF << UInt64((cursor & 7) * 8) }
                cursor += 1
            }
            let count = Count(node: 0, offset: value, digits: cursor - value)
            guard count.digits > 0, count.digits <= 18 else { return }
            if NumaMapsTokens.equals(line, key.lowerBound, key.upperBound, "anon") {
                anon = count
            } else if pageSize {
                pageKiB = Self.value(line, 0, count)
            } else if line[token] == 0x4E {
                guard nodeCount < nodes.count, let node = Self.node(line, key) else { return }
                nodes[nodeCount] = Count(node: node, offset: value, digits: count.digits)
                nodeCount += 1
            }
        }
        // Only the words a line of this length reaches (`read` compares lengths first).
        for index in 0..<((length + 7) / 8) {
            var word: UInt64 = 0
            for byte in (0..<8).reversed() where index * 8 + byte < length { word |= UInt64(line[index * 8 + byte]) << UInt64(byte * 8) }
            let digits = open[index]
            words[index] = Word(expected: word & ~digits | Self.ones &* 0x30 & digits, fixed: ~digits,
                                addend: Self.ones &* 0x76 & digits, high: Self.ones &* 0x80 & digits)
        }
        category = summary.category
        pageBytes = KernelArithmetic.product(max(pageKiB, 0), 1024)
        // All nines on every node, times the page size, and their sum: no overflow, no check.
        var most = 0, overflow = pageKiB < 0 && nodeCount > 0 || KernelArithmetic.bytes(kibibytes: max(pageKiB, 0)) == nil
        for index in 0..<nodeCount where !overflow {
            var nines = 0
            for _ in 0..<nodes[index].digits { nines = nines * 10 + 9 }
            let (bytes, productOverflow) = nines.multipliedReportingOverflow(by: pageBytes)
            let (sum, sumOverflow) = most.addingReportingOverflow(bytes)
            overflow = productOverflow || sumOverflow
            most = sum
        }
        fits = !overflow
        self.length = length
    }

    /// The node of an `N<node>` key (one to four digits, as the reader takes).
    private static func node(_ line: UnsafePointer<UInt8>, _ key: Range<Int>) -> Int? {
        guard key.count >= 2, key.count <= 5,
              let node = Lex.decimal(UnsafeBufferPointer(start: line, count: key.upperBound), key.lowerBound + 1, key.upperBound)
        else { return nil }
        return node <= KernelArithmetic.maximumNode ? node : nil
    }
}
