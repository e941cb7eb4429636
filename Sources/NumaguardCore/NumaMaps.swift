#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Parser for /proc/PID/numa_maps (fs/proc/task_mmu.c `show_numa_map`).
public enum NumaMapsParser {
    public static func parse(_ text: String) throws(ParseError) -> [Mapping] {
        var copy = text
        return try copy.withUTF8 { buffer in
            Result { () throws(ParseError) in try parse(bytes: buffer) }
        }.get()
    }

    /// Every mapping as a value (with file paths); `NumaMapsScanner` streams instead.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(ParseError) -> [Mapping] {
        var mappings: [Mapping] = []
        mappings.reserveCapacity(bytes.count / 64)
        var scanner = NumaMapsScanner(keepsFilePaths: true)
        try scanner.scan(bytes) { mappings.append($0) }
        try scanner.finish { mappings.append($0) }
        return mappings
    }

    public static func parseLine(_ line: some StringProtocol) throws(ParseError) -> Mapping {
        var copy = String(line)
        return try copy.withUTF8 { buffer in
            Result { () throws(ParseError) in
                var scanner = NumaMapsScanner(keepsFilePaths: true)
                var result: Mapping?
                try scanner.scan(buffer) { result = $0 }
                try scanner.finish { result = $0 }
                guard let result else { throw ParseError(what: "numa_maps line", input: line, reason: "empty line") }
                return result
            }
        }.get()
    }
}

/// A streaming numa_maps parser: fed the file in chunks as they are read, it hands each
/// line's mapping to a visitor and keeps nothing. Inspecting a process with 30k mappings
/// must cost little next to the kernel's own page walk that produces the file, so the hot
/// loop works on bytes, reuses one `Mapping`, and allocates only for new policy spellings
/// and (when asked) file paths. A line whose bytes after the address are the previous
/// line's (runs of alike mappings: guard pages, thread stacks, allocator arenas) is not
/// parsed again: it is the previous mapping at a new address, and the visitor is told so.
public struct NumaMapsScanner {
    public let keepsFilePaths: Bool
    /// Distinct policy spellings one numa_maps may hold (`setPolicy`).
    public static let maximumPolicies = 4096
    private var carry: [UInt8] = []
    private var lineNumber = 1
    private var current = Mapping(address: 0, policy: .default)
    /// The spelling of `current.policy`: a line spelling its policy the same way keeps it.
    private var lastPolicyBytes: [UInt8] = Array("default".utf8)
    /// False when the last spelling is a word that begins a two-word one (`samePolicyLength`).
    private var lastPolicyMayBeMatched = true
    private var policies: [String: MemoryPolicy] = [:]
    /// The previous line's bytes after its address, while they are still in the chunk being
    /// scanned and `current` is that line's mapping: nil at each chunk's start, after a line
    /// carried over from the last chunk and after a line that did not parse. Not copied, so
    /// a line that does not repeat costs one length compare (or one memcmp) more.
    private var previousTail: UnsafeBufferPointer<UInt8>?
    /// Whether the line just parsed repeated the previous one after its address.
    private var repeated = false

    public init(keepsFilePaths: Bool) {
        self.keepsFilePaths = keepsFilePaths
    }

    /// Parses every complete line in `chunk`; a trailing partial line waits for the next chunk.
    public mutating func scan(_ chunk: UnsafeBufferPointer<UInt8>, _ visit: (Mapping) -> Void) throws(ParseError) {
        try scan(chunk) { mapping, _ in visit(mapping) }
    }

    /// The same, telling the visitor whether the mapping is the previous one's at a new
    /// address (every field but `address` equal), so a tally can add it again without
    /// looking at it.
    public mutating func scan(_ chunk: UnsafeBufferPointer<UInt8>, _ visit: (Mapping, _ repeatsPrevious: Bool) -> Void) throws(ParseError) {
        previousTail = nil
        defer { previousTail = nil }
        var start = 0
        if !carry.isEmpty {
            guard let newline = Self.newline(in: chunk, from: 0) else {
                carry.append(contentsOf: chunk)
                return
            }
            carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<newline]))
            var line = carry
            carry = []
            let result = line.withUnsafeBufferPointer { buffer in
                Result { () throws(ParseError) in try parseNumberedLine(buffer, 0, buffer.count) }
            }
            previousTail = nil
            if try result.get() { visit(current, repeated) }
            line.removeAll()
            start = newline + 1
        }
        while start < chunk.count {
            guard let end = Self.newline(in: chunk, from: start) else {
                carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start...]))
                return
            }
            if try parseNumberedLine(chunk, start, end) { visit(current, repeated) }
            start = end + 1
        }
    }

    /// Parses a final line that had no newline.
    public mutating func finish(_ visit: (Mapping) -> Void) throws(ParseError) {
        try finish { mapping, _ in visit(mapping) }
    }

    public mutating func finish(_ visit: (Mapping, _ repeatsPrevious: Bool) -> Void) throws(ParseError) {
        guard !carry.isEmpty else { return }
        let line = carry
        carry = []
        previousTail = nil
        let result = line.withUnsafeBufferPointer { buffer in
            Result { () throws(ParseError) in try parseNumberedLine(buffer, 0, buffer.count) }
        }
        previousTail = nil
        if try result.get() { visit(current, repeated) }
    }

    /// Returns false for an empty line (nothing to visit).
    private mutating func parseNumberedLine(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) -> Bool {
        defer { lineNumber += 1 }
        guard end > start else { return false }
        do {
            try parseLine(bytes, start, end)
        } catch {
            var located = error
            located.what = "numa_maps line \(lineNumber)"
            located.line = lineNumber
            throw located
        }
        return true
    }

    /// memchr is vectorised; the scan for line ends is the one pass over every byte.
    private static func newline(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count,
              let found = memchr(base + start, 0x0A, bytes.count - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    private static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ word: StaticString) -> Bool {
        end - start == word.utf8CodeUnitCount && hasPrefix(bytes, start, end, word)
    }

    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard end - at >= count else { return false }
        let pointer = prefix.utf8Start
        for offset in 0..<count where bytes[at + offset] != pointer[offset] { return false }
        return true
    }

    /// The length of the last policy's spelling when the line spells its policy the same way
    /// at `at` (the whole token: a space or the line's end follows), else nil. Not when the last
    /// spelling is `prefer`: the line may go on as `prefer (many)`, one token with a space.
    private func samePolicyLength(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int) -> Int? {
        let length = lastPolicyBytes.count
        guard end - at >= length, at + length == end || bytes[at + length] == 0x20, lastPolicyMayBeMatched,
              spellsLastPolicy(bytes, at, length) else { return nil }
        return length
    }

    /// Whether the `length` bytes at `at` are the last policy's spelling.
    private func spellsLastPolicy(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ length: Int) -> Bool {
        guard length == lastPolicyBytes.count else { return false }
        guard length > 0, let base = bytes.baseAddress else { return length == 0 }
        return lastPolicyBytes.withUnsafeBufferPointer { last in
            guard let spelling = last.baseAddress else { return false }
            return memcmp(spelling, base + at, length) == 0
        }
    }

    /// Sets `current.policy` from its spelling. Consecutive lines almost always share a policy:
    /// compare bytes with the last one, and leave the policy in place (no copy, no retain)
    /// when they match, before hashing a new String.
    private mutating func setPolicy(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) {
        if spellsLastPolicy(bytes, start, end - start) { return }
        let spelling = Self.text(bytes, start, end)
        let parsed: MemoryPolicy
        if let known = policies[spelling] {
            parsed = known
        } else {
            // A bound on what one file can make the scanner and a tally keep: a process with
            // more distinct policies than this is not a real workload (a captured tree can be
            // anything).
            guard policies.count < Self.maximumPolicies else {
                throw ParseError(what: "memory policy", input: spelling, column: 1,
                                 reason: "more than \(Self.maximumPolicies) distinct memory policies in one numa_maps")
            }
            parsed = try MemoryPolicy.parse(spelling)
            policies[spelling] = parsed
        }
        lastPolicyBytes = Array(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        lastPolicyMayBeMatched = !Self.equals(bytes, start, end, "prefer") && !Self.equals(bytes, start, end, "weighted")
        current.policy = parsed
    }

    private mutating func parseLine(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) {
        func fail(_ at: Int, _ reason: String) -> ParseError {
            ParseError(what: "numa_maps line", input: Self.text(bytes, start, end), column: at - start + 1, reason: reason)
        }
        var cursor = start
        // Address: hex digits up to the first space, eight bytes at a time (`HexAddress`); what
        // that does not take (16 digits, a short line, any other byte) digit by digit, which
        // also says where such a line goes wrong.
        let address: UInt64
        if let leading = HexAddress.leading(bytes, start, end) {
            address = leading.value
            cursor += leading.digits
        } else {
            while cursor < end && bytes[cursor] != 0x20 { cursor += 1 }
            address = try Self.exactAddress(bytes, start, cursor, fail)
        }
        guard cursor > start, cursor < end else { throw fail(cursor, "expected an address followed by a policy") }
        cursor += 1
        // The same bytes after the address parse to the same fields: only the address is new.
        let tail = UnsafeBufferPointer(rebasing: bytes[cursor..<end])
        if let previous = previousTail, previous.count == tail.count, let a = previous.baseAddress, let b = tail.baseAddress,
           memcmp(a, b, tail.count) == 0 {
            current.address = address
            repeated = true
            return
        }
        repeated = false
        previousTail = nil
        // Policy: almost always spelled as on the line before, and then `current` has it already.
        let policyStart = cursor
        if let length = samePolicyLength(bytes, cursor, end) {
            cursor += length
        } else {
            // Two kernel spellings contain a space, so skip over them before looking for the token's end.
            if Self.hasPrefix(bytes, cursor, end, "prefer (many)") {
                cursor += 13
            } else if Self.hasPrefix(bytes, cursor, end, "weighted interleave") {
                cursor += 19
            }
            while cursor < end && bytes[cursor] != 0x20 { cursor += 1 }
            do {
                try setPolicy(bytes, policyStart, cursor)
            } catch {
                throw fail(policyStart + (error.column ?? 1) - 1, error.reason)
            }
        }
        current.reset(address: address)
        var pageSizeStart = end
        // Remaining tokens: `key=value` or bare words, separated by single spaces.
        while cursor < end {
            while cursor < end && bytes[cursor] == 0x20 { cursor += 1 }
            let tokenStart = cursor
            guard tokenStart < end else { break }
            // One pass per token: the key up to `=` (or the bare word up to a space), then the
            // value up to a space, read as a decimal on the way (counters are most tokens).
            // The kernel's usual counters are recognised with their `=` by one compare each;
            // any other key is scanned to its `=` and matched after.
            let known = Self.knownCounter(bytes, tokenStart, end)
            if let known {
                cursor = tokenStart + known.keyLength
            } else {
                while cursor < end && bytes[cursor] != 0x20 && bytes[cursor] != 0x3D { cursor += 1 }
            }
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
                if Self.equals(bytes, tokenStart, cursor, "heap") {
                    current.heap = true
                } else if Self.hasPrefix(bytes, tokenStart, cursor, "stack") {
                    // Kernels before 4.5 printed `stack:TID` for thread stacks.
                    current.stack = true
                } else if Self.equals(bytes, tokenStart, cursor, "huge") {
                    current.huge = true
                }
                continue  // other bare words are future kernel additions; they carry no counts
            }
            if Self.equals(bytes, tokenStart, equalsAt, "file") {
                current.fileBacked = true
                if keepsFilePaths { current.file = Self.text(bytes, equalsAt + 1, cursor) }
                continue
            }
            let isNode = bytes[tokenStart] == 0x4E  // "N<node>="
            guard let value = decimal else {
                // Only counters are numeric; an unknown key with a non-numeric value is tolerated,
                // but a node count or a known counter that does not parse is corruption.
                if isNode || known != nil || Self.counter(bytes, tokenStart, equalsAt) != nil {
                    throw fail(equalsAt + 1, "\"\(Self.text(bytes, tokenStart, equalsAt))\" needs a decimal count")
                }
                continue
            }
            if isNode, let node = Lex.decimal(bytes, tokenStart + 1, equalsAt) {
                guard node <= KernelArithmetic.maximumNode else {
                    throw fail(tokenStart + 1, "node \(node) is beyond the largest node id Linux has (\(KernelArithmetic.maximumNode))")
                }
                current.nodePages.append(.init(node: node, pages: value))
                continue
            }
            if let key = known?.counter ?? Self.counter(bytes, tokenStart, equalsAt) {
                switch key {
                case .anon: current.anon = value
                case .dirty: current.dirty = value
                case .mapped: current.mapped = value
                case .mapmax: current.mapmax = value
                case .swapcache: current.swapcache = value
                case .active: current.active = value
                case .writeback: current.writeback = value
                case .pageSize:
                    current.pageSizeKiB = value
                    pageSizeStart = tokenStart
                }
            }
        }
        try checkSizes(bytes, start, end, pageSizeStart: pageSizeStart, fail)
        previousTail = tail
    }

    /// The address in `start..<end`, digit by digit: the first byte that is not a lowercase
    /// hex digit, or the digit that takes it past 64 bits, is the error's column.
    private static func exactAddress(
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

    /// Every count must make real bytes: each node's pages times the page size, and their
    /// sum, below 2^63 (`KernelArithmetic`), so no tally of what was parsed can trap.
    /// (Mutating only so that the scanner is passed by reference: a non-mutating method called
    /// from `parseLine` was handed a copy of the whole scanner at every line.)
    private mutating func checkSizes(
        _ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, pageSizeStart: Int, _ fail: (Int, String) -> ParseError
    ) throws(ParseError) {
        if let size = current.pageSizeKiB, KernelArithmetic.bytes(kibibytes: size) == nil {
            throw fail(pageSizeStart, "kernelpagesize_kB=\(size) overflows")
        }
        guard !current.nodePages.isEmpty else { return }
        guard let size = current.pageSizeKiB else { throw fail(pageSizeStart, "page counts without kernelpagesize_kB") }
        var totalBytes = 0
        var totalPages = 0
        for (index, entry) in current.nodePages.enumerated() {
            guard let bytes = KernelArithmetic.bytes(pages: entry.pages, pageKiB: size) else {
                throw fail(Self.nodeTokenStart(line, start, end, index), "N\(entry.node)=\(entry.pages) pages of \(size) kB overflows")
            }
            let (bytesSum, bytesOverflow) = totalBytes.addingReportingOverflow(bytes)
            let (pagesSum, pagesOverflow) = totalPages.addingReportingOverflow(entry.pages)
            guard !bytesOverflow, !pagesOverflow else {
                throw fail(Self.nodeTokenStart(line, start, end, index),
                           "N\(entry.node)=\(entry.pages) pages of \(size) kB take the mapping beyond 2^63 bytes")
            }
            totalBytes = bytesSum
            totalPages = pagesSum
        }
    }

    /// Where the line's `index`th node count (`N<node>=<pages>`, as `parseLine` appended them)
    /// starts: found again only when one is refused, so the hot path keeps no positions.
    private static func nodeTokenStart(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ index: Int) -> Int {
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

    private enum Counter { case anon, dirty, mapped, mapmax, swapcache, active, writeback, pageSize }

    /// The counters every resident line has, with their `=`: matched whole at the token's
    /// start (memcmp) so the key is neither scanned byte by byte nor compared again after.
    private static func knownCounter(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
    ) -> (counter: Counter, keyLength: Int)? {
        func starts(_ prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard end - start >= count, let base = bytes.baseAddress else { return false }
            return memcmp(base + start, prefix.utf8Start, count) == 0
        }
        switch bytes[start] {
        case 0x6B: return starts("kernelpagesize_kB=") ? (.pageSize, 17) : nil
        case 0x61:
            if starts("anon=") { return (.anon, 4) }
            return starts("active=") ? (.active, 6) : nil
        case 0x64: return starts("dirty=") ? (.dirty, 5) : nil
        case 0x6D:
            if starts("mapped=") { return (.mapped, 6) }
            return starts("mapmax=") ? (.mapmax, 6) : nil
        default: return nil
        }
    }

    private static func counter(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Counter? {
        // Every counter starts with one of these letters: most other keys (N0, file) are
        // turned away on one byte.
        switch bytes[start] {
        case 0x61, 0x64, 0x6D, 0x73, 0x77, 0x6B: break  // a d m s w k
        default: return nil
        }
        switch end - start {
        case 4: return Self.equals(bytes, start, end, "anon") ? .anon : nil
        case 5: return Self.equals(bytes, start, end, "dirty") ? .dirty : nil
        case 6:
            if Self.equals(bytes, start, end, "mapped") { return .mapped }
            if Self.equals(bytes, start, end, "mapmax") { return .mapmax }
            return Self.equals(bytes, start, end, "active") ? .active : nil
        case 9:
            if Self.equals(bytes, start, end, "swapcache") { return .swapcache }
            return Self.equals(bytes, start, end, "writeback") ? .writeback : nil
        case 17: return Self.equals(bytes, start, end, "kernelpagesize_kB") ? .pageSize : nil
        default: return nil
        }
    }
}
