#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The pieces of a numa_maps line `NumaMapsScanner` reads: pure functions over its bytes, so
/// the scanner holds only the loop and what it keeps between lines.
enum NumaMapsTokens {
    static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ word: StaticString) -> Bool {
        end - start == word.utf8CodeUnitCount && hasPrefix(bytes, start, end, word)
    }

    /// The same from a line's base address (`NumaMapsTokenTemplate` learns from a pointer).
    static func equals(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ word: StaticString) -> Bool {
        end - start == word.utf8CodeUnitCount && hasPrefix(base, start, end, word)
    }

    /// Whether the bytes at `at` (before `end`) begin with `prefix`, a non-empty literal.
    static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int, _ prefix: StaticString) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        return hasPrefix(base, at, end, prefix)
    }

    /// The same from the line's base address (`NumaMapsLineSummary` reads from a pointer).
    @inline(__always)
    static func hasPrefix(_ base: UnsafePointer<UInt8>, _ at: Int, _ end: Int, _ prefix: StaticString) -> Bool {
        end - at >= prefix.utf8CodeUnitCount && memcmp(base + at, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
    }

    /// The address in `start..<end`, digit by digit: the first byte that is not a lowercase
    /// hex digit, or the digit that takes it past 64 bits, is the error's column.
    static func exactAddress(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ fail: (Int, String) -> ParseError
    ) throws(ParseError) -> UInt64 {
        var address: UInt64 = 0
        for cursor in start..<end {
            let byte = bytes[cursor]
            var digit = byte &- 0x30
            if digit > 9 {
                digit = byte &- 0x61
                guard digit < 6 else { throw fail(cursor, "address is not hexadecimal") }
                digit += 10
            }
            guard address >> 60 == 0 else { throw fail(cursor, "address wider than 64 bits") }
            address = address << 4 | UInt64(digit)
        }
        return address
    }

    /// Where the line's `index`th node count (`N<node>=<pages>`, as `parseLine` appended them)
    /// starts: found again only when one is refused, so the hot path keeps no positions.
    static func nodeTokenStart(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ index: Int) -> Int {
        var cursor = start
        var seen = 0
        while cursor < end {
            while cursor < end && bytes[cursor] == 0x20 { cursor += 1 }
            let tokenStart = cursor
            var equalsAt = -1
            while cursor < end && bytes[cursor] != 0x20 {
                if equalsAt < 0 && bytes[cursor] == 0x3D { equalsAt = cursor }
                cursor += 1
            }
            guard equalsAt > tokenStart, bytes[tokenStart] == 0x4E,
                  Lex.decimal(bytes, tokenStart + 1, equalsAt) != nil,
                  Lex.decimal(bytes, equalsAt + 1, cursor) != nil else { continue }
            if seen == index { return tokenStart }
            seen += 1
        }
        return start
    }

    /// What a line's counts come to in bytes: every node's pages times the page size, and
    /// their sum, must stay below 2^63 (`KernelArithmetic`) so that no tally of what was
    /// parsed can trap. One check for the scanner's full parse (which turns a failure into its
    /// error, at the token's column) and for `NumaMapsLineSummary` (which leaves such a line
    /// to the full parse).
    enum Sizes: Equatable {
        case fit(totalPages: Int)
        case pageSizeOverflows
        case countsWithoutPageSize
        /// The node count at `index` alone, or the sum up to it, passes 2^63 bytes.
        case nodeOverflows(index: Int)
        case totalOverflows(index: Int)
    }

    static func sizes(pageKiB: Int?, _ nodes: UnsafeBufferPointer<Mapping.NodePages>) -> Sizes {
        if let pageKiB, KernelArithmetic.bytes(kibibytes: pageKiB) == nil { return .pageSizeOverflows }
        guard !nodes.isEmpty else { return .fit(totalPages: 0) }
        guard let pageKiB else { return .countsWithoutPageSize }
        var totalBytes = 0
        var totalPages = 0
        for index in nodes.indices {
            guard let bytes = KernelArithmetic.bytes(pages: nodes[index].pages, pageKiB: pageKiB) else { return .nodeOverflows(index: index) }
            let (bytesSum, bytesOverflow) = totalBytes.addingReportingOverflow(bytes)
            let (pagesSum, pagesOverflow) = totalPages.addingReportingOverflow(nodes[index].pages)
            guard !bytesOverflow, !pagesOverflow else { return .totalOverflows(index: index) }
            totalBytes = bytesSum
            totalPages = pagesSum
        }
        return .fit(totalPages: totalPages)
    }

    /// The counters a line may carry, each a field of `Mapping`.
    enum Counter { case anon, dirty, mapped, mapmax, swapcache, active, writeback, pageSize }

    /// A token `usualToken` read: a counter's value, or a node's pages.
    struct UsualToken {
        var counter: Counter?
        var node: Int
        var value: Int
        /// Where the token ends (a space or the line's end).
        var end: Int
    }

    /// A resident line's usual tokens read at once: a counter the kernel prints on most lines
    /// (`anon=`, `dirty=`, `mapped=`, `mapmax=`, `active=`, `kernelpagesize_kB=`) or a node's
    /// `N<node>=`: a counter's key matched by one load and compare of eight bytes (the node's
    /// read byte by byte, at most four digits), then 1 to 18 digits (too few to overflow)
    /// ending the token. Nil leaves the token to the scanner's general
    /// loop, which reads these tokens the same way (NumaMapsTokensTests compares the two) and
    /// anything else, and says what is wrong.
    @inline(__always)
    static func usualToken(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> UsualToken? {
        guard end - start >= 8 else { return nil }
        let word = UInt64(littleEndian: UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self))
        var token = UsualToken(counter: nil, node: -1, value: 0, end: start)
        switch UInt8(truncatingIfNeeded: word) {
        case 0x61:  // a
            if word & 0xFF_FFFF_FFFF == key("anon=") {
                token.counter = .anon
                token.end += 5
            } else if word & 0xFF_FFFF_FFFF_FFFF == key("active=") {
                token.counter = .active
                token.end += 7
            } else {
                return nil
            }
        case 0x64:  // d
            guard word & 0xFFFF_FFFF_FFFF == key("dirty=") else { return nil }
            token.counter = .dirty
            token.end += 6
        case 0x6D:  // m
            let seven = word & 0xFF_FFFF_FFFF_FFFF
            if seven == key("mapped=") {
                token.counter = .mapped
            } else if seven == key("mapmax=") {
                token.counter = .mapmax
            } else {
                return nil
            }
            token.end += 7
        case 0x6B:  // k
            guard word == key("kernelpa"), end - start >= 18,
                  UInt64(littleEndian: UnsafeRawPointer(base + start + 8).loadUnaligned(as: UInt64.self)) == key("gesize_k"),
                  base[start + 16] == 0x42, base[start + 17] == 0x3D else { return nil }  // "B="
            token.counter = .pageSize
            token.end += 18
        case 0x4E:  // "N<node>=", the node of at most four digits
            var cursor = start + 1, node = 0
            while cursor < start + 5, case let digit = base[cursor] &- 0x30, digit < 10 {
                node = node * 10 + Int(digit)
                cursor += 1
            }
            guard cursor > start + 1, base[cursor] == 0x3D, node <= KernelArithmetic.maximumNode else { return nil }
            token.node = node
            token.end = cursor + 1
        default:
            return nil
        }
        let digitsStart = token.end
        var cursor = digitsStart
        while cursor < end, case let digit = base[cursor] &- 0x30, digit < 10 {
            token.value = token.value &* 10 &+ Int(digit)
            cursor += 1
        }
        guard cursor > digitsStart, cursor - digitsStart <= 18, cursor == end || base[cursor] == 0x20 else { return nil }
        token.end = cursor
        return token
    }


    /// Up to eight bytes of a key as one little-endian word, as `usualToken` loads them.
    @inline(__always)
    static func key(_ text: StaticString) -> UInt64 {
        var word: UInt64 = 0
        for index in (0..<min(text.utf8CodeUnitCount, 8)).reversed() { word = word << 8 | UInt64(text.utf8Start[index]) }
        return word
    }

    static func counter(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Counter? {
        // Every counter starts with one of these letters: most other keys (N0, file) are
        // turned away on one byte.
        switch bytes[start] {
        case 0x61, 0x64, 0x6D, 0x73, 0x77, 0x6B: break  // a d m s w k
        default: return nil
        }
        switch end - start {
        case 4: return equals(bytes, start, end, "anon") ? .anon : nil
        case 5: return equals(bytes, start, end, "dirty") ? .dirty : nil
        case 6:
            if equals(bytes, start, end, "mapped") { return .mapped }
            if equals(bytes, start, end, "mapmax") { return .mapmax }
            return equals(bytes, start, end, "active") ? .active : nil
        case 9:
            if equals(bytes, start, end, "swapcache") { return .swapcache }
            return equals(bytes, start, end, "writeback") ? .writeback : nil
        case 17: return equals(bytes, start, end, "kernelpagesize_kB") ? .pageSize : nil
        default: return nil
        }
    }
}

extension Mapping {
    /// Sets the field a counter token names.
    mutating func set(_ counter: NumaMapsTokens.Counter, _ value: Int) {
        switch counter {
        case .anon: anon = value
        case .dirty: dirty = value
        case .mapped: mapped = value
        case .mapmax: mapmax = value
        case .swapcache: swapcache = value
        case .active: active = value
        case .writeback: writeback = value
        case .pageSize: pageSizeKiB = value
        }
    }
}
