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
/// malformed token, a count of 19 digits or more, more than `capacity` node counts, sizes
/// that overflow — so that the scanner parses that line in full, which reads it or says what
/// is wrong. A line read here therefore tallies exactly as its mapping would
/// (NumaMapsSummaryTests, the parsers fuzzer).
public struct NumaMapsLineSummary {
    /// Node counts one summary holds; a line with more is parsed in full.
    static let capacity = 32

    /// `MemoryTally.Category` and `Backing` raw values, and bytes per page (0 without
    /// `kernelpagesize_kB`).
    var category = 0
    var backing = 0
    var pageBytes = 0
    /// Which of the scanner's kept policy spellings the line's policy was (-1: not kept).
    /// A slot may later hold another spelling, so this only says where to look first.
    var spelling = -1
    /// The line's node counts: the first `nodeCount` entries.
    private(set) var nodes = [Mapping.NodePages](repeating: .init(node: 0, pages: 0), count: NumaMapsLineSummary.capacity)
    private(set) var nodeCount = 0

    /// Reads the tokens in `start..<end` (after the policy); false when the line has anything
    /// this leaves to the full parse, and then the summary means nothing.
    @inline(__always)
    mutating func read(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var cursor = start
        var anon = 0, pageKiB = -1, heap = false, stack = false, huge = false, file = false
        var count = 0
        let read = nodes.withUnsafeMutableBufferPointer { nodes -> Bool in
            while cursor < end {
                while cursor < end && base[cursor] == 0x20 { cursor += 1 }
                guard cursor < end else { break }
                if let token = NumaMapsTokens.usualToken(base, cursor, end) {
                    if let counter = token.counter {
                        if counter == .anon { anon = token.value } else if counter == .pageSize { pageKiB = token.value }
                    } else {
                        guard count < nodes.count else { return false }
                        nodes[count] = .init(node: token.node, pages: token.value)
                        count += 1
                    }
                    cursor = token.end
                    continue
                }
                let tokenStart = cursor
                while cursor < end && base[cursor] != 0x20 { cursor += 1 }
                switch Self.word(base, tokenStart, cursor) {
                case .file: file = true
                case .heap: heap = true
                case .stack: stack = true
                case .huge: huge = true
                case .count: break
                case nil: return false
                }
            }
            return true
        }
        guard read else { return false }
        nodeCount = count
        // The scanner's size checks (`checkSizes`), as conditions: a line failing one is parsed
        // in full, which refuses it at the right column.
        if pageKiB >= 0, KernelArithmetic.bytes(kibibytes: pageKiB) == nil { return false }
        var totalPages = 0
        if count > 0 {
            guard pageKiB >= 0 else { return false }
            var totalBytes = 0
            for index in 0..<count {
                let pages = nodes[index].pages
                guard let bytes = KernelArithmetic.bytes(pages: pages, pageKiB: pageKiB) else { return false }
                let (bytesSum, bytesOverflow) = totalBytes.addingReportingOverflow(bytes)
                let (pagesSum, pagesOverflow) = totalPages.addingReportingOverflow(pages)
                guard !bytesOverflow, !pagesOverflow else { return false }
                totalBytes = bytesSum
                totalPages = pagesSum
            }
        }
        // `MemoryTally.category(of:)` and `backing(of:)` of the mapping the line makes.
        let kind: MemoryTally.Category = huge ? .huge : heap ? .heap : stack ? .stack : .private
        category = kind.rawValue
        let backs: MemoryTally.Backing = !file || huge ? .anonymous : anon == 0 ? .file : anon >= totalPages ? .anonymous : .mixed
        backing = backs.rawValue
        pageBytes = KernelArithmetic.product(max(pageKiB, 0), 1024)
        return true
    }

    private enum Word { case file, heap, stack, huge, count }

    /// A token `usualToken` did not take, as far as a tally is concerned: `file=` (whatever
    /// path follows), the bare words `heap`, `stack` and `huge`, or one of the other counters
    /// the kernel prints (`swapcache=`, `writeback=`: checked to be a count of 1 to 18 digits,
    /// their value unused). Nil: anything else (the full parse reads it, or says what is wrong).
    private static func word(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Word? {
        let length = end - start
        func matches(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard length >= count else { return false }
            return memcmp(base + start, text.utf8Start, count) == 0
        }
        switch base[start] {
        case 0x66: return matches("file=") ? .file : nil  // f
        case 0x68: return length == 4 ? (matches("heap") ? .heap : matches("huge") ? .huge : nil) : nil  // h
        case 0x73:  // s
            if length == 5 { return matches("stack") ? .stack : nil }
            return matches("swapcache=") && isCount(base, start + 10, end) ? .count : nil
        case 0x77: return matches("writeback=") && isCount(base, start + 10, end) ? .count : nil  // w
        default: return nil
        }
    }

    /// Whether `start..<end` is 1 to 18 decimal digits (too few to overflow).
    private static func isCount(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        guard end > start, end - start <= 18 else { return false }
        for index in start..<end where base[index] &- 0x30 > 9 { return false }
        return true
    }
}
