#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a tally takes of a numa_maps line, read straight from its bytes: where its bytes go
/// (numastat's category, the backing, the page size) and its pages per node.
///
/// A tally has no use for most of a `Mapping` (the file's path, dirty, mapped, active...), and
/// building one cost a line parsed in full more than reading it: resetting a dozen fields,
/// appending node counts to an array, handing the mapping over and copying its node counts
/// again. A scanner whose visitor takes summaries (`MemoryTallyBuilder`) reads the tokens after
/// the policy here; this takes only what the kernel prints (`show_numa_map`), each token as
/// the scanner's general loop would read it, and turns down anything else — an unknown or
/// malformed token, a count of 19 digits or more, more node counts than `Nodes` holds, sizes
/// that overflow — so that the scanner parses that line in full, which reads it or says what
/// is wrong. A line read here therefore tallies exactly as its mapping would
/// (NumaMapsLineSummaryTests, the parsers fuzzer).
public struct NumaMapsLineSummary {
    /// `MemoryTally.Category` and `Backing` raw values, and bytes per page (0 without
    /// `kernelpagesize_kB`).
    var category = 0
    var backing = 0
    var pageBytes = 0
    /// Which of the scanner's kept policy spellings the line's policy was (-1: not kept).
    /// A slot may later hold another spelling, so this only says where to look first.
    var spelling = -1
    /// That spelling's serial (`NumaMapsPolicySpellings.lastSerial`; -1: not kept): the same
    /// serial is the same spelling, so the same policy.
    var serial = -1
    /// How many node counts the line had: the first `nodeCount` of the `Nodes` it was read with.
    var nodeCount = 0

    /// Where a summary's node counts go (32: a line with more is parsed in full): beside it in
    /// the scanner, in place. An array here was checked for uniqueness, and made unique, at
    /// every line, and a summary holding them in place was copied whole at every hand-over.
    typealias Nodes = InlineArray<32, Mapping.NodePages>

    /// Reads the tokens in `start..<end` (after the policy), the node counts into `nodes`;
    /// false when the line has anything this leaves to the full parse, and then the summary
    /// means nothing. One loop over the line's tokens with every value in a local: each
    /// token's reader leaves the cursor on the space after it (or at `end`), which the loop
    /// steps over. Positions only move forward within `start...end`, so they are added
    /// without overflow checks.
    @inline(__always)
    mutating func read(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, nodes: inout Nodes) -> Bool {
        var cursor = start
        var anon = 0, pageKiB = -1, heap = false, stack = false, huge = false, file = false
        var count = 0
        while cursor < end {
            let first = base[cursor]
            if first == 0x20 {
                cursor &+= 1
                continue
            }
            // Most tokens are eight bytes or more: their key is one load and a compare.
            let word = end &- cursor >= 8 ? UInt64(littleEndian: UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self)) : 0
            switch first {
            case 0x4E:  // N<node>=<pages>, the node of at most four digits
                var at = cursor &+ 1, node = 0
                while at < end && at < cursor &+ 5, case let digit = base[at] &- 0x30, digit < 10 {
                    node = node &* 10 &+ Int(digit)
                    at &+= 1
                }
                guard at > cursor &+ 1, at < end, base[at] == 0x3D, node <= KernelArithmetic.maximumNode, count < nodes.count else { return false }
                cursor = at &+ 1
                let pages = Self.count(base, &cursor, end)
                guard pages >= 0 else { return false }
                nodes[count] = .init(node: node, pages: pages)
                count &+= 1
            case 0x61:  // a
                if word & 0xFF_FFFF_FFFF == NumaMapsTokens.key("anon=") {
                    cursor &+= 5
                    anon = Self.count(base, &cursor, end)
                    guard anon >= 0 else { return false }
                } else {
                    guard word & 0xFF_FFFF_FFFF_FFFF == NumaMapsTokens.key("active="), Self.skipCount(base, &cursor, 7, end) else { return false }
                }
            case 0x64:  // d
                guard word & 0xFFFF_FFFF_FFFF == NumaMapsTokens.key("dirty="), Self.skipCount(base, &cursor, 6, end) else { return false }
            case 0x6D:  // m
                let seven = word & 0xFF_FFFF_FFFF_FFFF
                guard seven == NumaMapsTokens.key("mapped=") || seven == NumaMapsTokens.key("mapmax="),
                      Self.skipCount(base, &cursor, 7, end) else { return false }
            case 0x6B:  // k
                guard word == NumaMapsTokens.key("kernelpa"), end &- cursor >= 18,
                      UInt64(littleEndian: UnsafeRawPointer(base + (cursor &+ 8)).loadUnaligned(as: UInt64.self)) == NumaMapsTokens.key("gesize_k"),
                      base[cursor &+ 16] == 0x42, base[cursor &+ 17] == 0x3D else { return false }  // "B="
                cursor &+= 18
                pageKiB = Self.count(base, &cursor, end)
                guard pageKiB >= 0 else { return false }
            default:
                let tokenStart = cursor
                if first == 0x66, NumaMapsTokens.hasPrefix(base, cursor, end, "file=") {
                    // The path, to the next space (numa_maps escapes spaces in paths).
                    file = true
                    cursor = Self.space(base, cursor &+ 5, end)
                } else {
                    cursor = Self.space(base, cursor, end)
                    switch Self.word(base, tokenStart, cursor) {
                    case .heap: heap = true
                    case .stack: stack = true
                    case .huge: huge = true
                    case .count: break
                    case nil: return false
                    }
                }
            }
            cursor &+= 1
        }
        nodeCount = count
        // The scanner's size checks: a line failing one is parsed in full, which refuses it at
        // the right column.
        let sizes = nodes.span.withUnsafeBufferPointer { all in
            NumaMapsTokens.sizes(pageKiB: pageKiB >= 0 ? pageKiB : nil, UnsafeBufferPointer(rebasing: all[0..<count]))
        }
        guard case let .fit(totalPages) = sizes else { return false }
        // `MemoryTally.category(of:)` and `backing(of:)` of the mapping the line makes.
        let kind: MemoryTally.Category = huge ? .huge : heap ? .heap : stack ? .stack : .private
        category = kind.rawValue
        backing = Self.backing(file: file, huge: huge, anon: anon, totalPages: totalPages).rawValue
        pageBytes = KernelArithmetic.product(max(pageKiB, 0), 1024)
        return true
    }

    /// `MemoryTally.backing(of:)` of a mapping with these tokens.
    @inline(__always)
    static func backing(file: Bool, huge: Bool, anon: Int, totalPages: Int) -> MemoryTally.Backing {
        !file || huge ? .anonymous : anon == 0 ? .file : anon >= totalPages ? .anonymous : .mixed
    }

    /// Steps over a counter's key of `keyLength` bytes and its count, whose value a tally does
    /// not use: checked, not kept.
    @inline(__always)
    private static func skipCount(_ base: UnsafePointer<UInt8>, _ cursor: inout Int, _ keyLength: Int, _ end: Int) -> Bool {
        cursor &+= keyLength
        return count(base, &cursor, end) >= 0
    }

    private enum Word { case heap, stack, huge, count }

    /// A token of no key the reader above matched, as far as a tally is concerned: the bare
    /// words `heap`, `stack` and `huge`, or one of the other counters the kernel prints
    /// (`swapcache=`, `writeback=`: checked to be a count of 1 to 18 digits, their value
    /// unused). Nil: anything else (the full parse reads it, or says what is wrong).
    private static func word(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Word? {
        let length = end - start
        func counted(_ key: StaticString) -> Bool {
            var at = start + key.utf8CodeUnitCount
            return NumaMapsTokens.hasPrefix(base, start, end, key) && count(base, &at, end) >= 0
        }
        switch base[start] {
        case 0x68: return length == 4 ? (NumaMapsTokens.hasPrefix(base, start, end, "heap") ? .heap : NumaMapsTokens.hasPrefix(base, start, end, "huge") ? .huge : nil) : nil  // h
        case 0x73:  // s
            if length == 5 { return NumaMapsTokens.hasPrefix(base, start, end, "stack") ? .stack : nil }
            return counted("swapcache=") ? .count : nil
        case 0x77: return counted("writeback=") ? .count : nil  // w
        default: return nil
        }
    }

    /// The count of 1 to 18 digits (too few to overflow) at `cursor`, which must end its
    /// token (a space or `end` follows), with `cursor` moved past it; -1 for anything else.
    /// One digit and a space (the counts of most small mappings) are two compares.
    @inline(__always)
    private static func count(_ base: UnsafePointer<UInt8>, _ cursor: inout Int, _ end: Int) -> Int {
        let first = cursor
        if end &- first >= 2, case let digit = base[first] &- 0x30, digit < 10, base[first &+ 1] == 0x20 {
            cursor = first &+ 1
            return Int(digit)
        }
        var at = first, value = 0
        while at < end, case let digit = base[at] &- 0x30, digit < 10 {
            value = value &* 10 &+ Int(digit)
            at &+= 1
        }
        let digits = at &- first
        guard digits > 0, digits <= 18, at == end || base[at] == 0x20 else { return -1 }
        cursor = at
        return value
    }

    /// Where the next space is at or after `start`, or `end`.
    @inline(__always)
    private static func space(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        guard start < end, let found = memchr(base + start, 0x20, end - start) else { return end }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
}
