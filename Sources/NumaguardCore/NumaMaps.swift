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

/// What `NumaMapsScanner` hands each line's mapping to.
public protocol NumaMapsVisitor {
    /// `shape`: two mappings of one scanner with the same shape are equal in every field but
    /// `address` (a line repeating a recent line's bytes after the address is not parsed again).
    mutating func visit(_ mapping: Mapping, shape: Int)

    /// A line repeated a recent line of this shape after its address: true when the visitor
    /// has taken it from the shape alone (a tally that has seen the shape counts it), so the
    /// scanner need not bring that mapping forward; false to be handed it by `visit`.
    mutating func visitAgain(shape: Int) -> Bool
}

extension NumaMapsVisitor {
    public mutating func visitAgain(shape: Int) -> Bool { false }
}

/// A streaming numa_maps parser: fed the file in chunks as they are read, it hands each
/// line's mapping to a visitor and keeps nothing. Inspecting a process with 30k mappings
/// must cost little next to the kernel's own page walk that produces the file, so the hot
/// loop works on bytes, reuses its `Mapping`s, and allocates only for new policy spellings
/// and (when asked) file paths.
///
/// Most lines of a large numa_maps repeat a recent line but for the address: runs of alike
/// mappings (allocator arenas), and alternations such as a thread's guard page and its stack,
/// one pair per thread. The scanner remembers the bytes after the address of the last
/// `recentLines + 1` distinct lines it parsed (each at most `longestRememberedTail` bytes: a
/// bound on what it keeps), and a line whose bytes are one of those is not parsed again: it is
/// that mapping at a new address. Each parsed line gets a `shape` number the visitor is told, so a tally can
/// classify a shape once and add its repeats without looking at them again.
public struct NumaMapsScanner {
    public let keepsFilePaths: Bool
    /// False: addresses are checked but not converted, and every mapping's `address` is 0
    /// (a tally has no use for them).
    public let keepsAddresses: Bool
    /// Distinct policy spellings one numa_maps may hold (`setPolicy`).
    public static let maximumPolicies = 4096
    /// How many parsed lines before the last one a line is compared with before it is parsed.
    public static let recentLines = 8
    /// A line's bytes after its address longer than this are parsed every time they occur.
    public static let longestRememberedTail = 1024
    private var carry: [UInt8] = []
    private var lineNumber = 1
    /// What identifies a parsed line: its shape, and where its bytes after the address are
    /// kept (`tails`, `longestRememberedTail` bytes a region; a count of -1: nothing kept).
    private struct Key {
        var shape = -1
        var tailCount = -1
        var region: Int
    }
    /// The line last visited (compared first: runs of alike lines), the `recentLines` before
    /// it (keys apart from mappings, so the search touches no reference), and the one being
    /// parsed. Mappings move between these by `swap`, which moves their arrays and strings
    /// without retaining them: the visitor is handed `current` in place.
    private var current = Mapping(address: 0, policy: .default)
    private var currentKey = Key(region: 0)
    private var recent = [Mapping](repeating: Mapping(address: 0, policy: .default), count: NumaMapsScanner.recentLines)
    private var recentKeys = (1...NumaMapsScanner.recentLines).map { Key(region: $0) }
    private var scratch = Mapping(address: 0, policy: .default)
    private var scratchKey = Key(region: NumaMapsScanner.recentLines + 1)
    private var tails = [UInt8](repeating: 0, count: (NumaMapsScanner.recentLines + 2) * NumaMapsScanner.longestRememberedTail)
    /// The slot of `recent` a newly parsed line's predecessor takes (oldest first).
    private var nextSlot = 0
    private var shapeCount = 0
    /// Mappings handed to the visitor so far (a file of empty lines has none).
    public private(set) var mappingsVisited = 0
    /// A policy as a line spelled it.
    private struct PolicySpelling {
        var bytes: [UInt8]
        var policy: MemoryPolicy
        /// False when the spelling is a word that begins a two-word one (`samePolicyLength`).
        var mayBeMatched: Bool

        /// Whether the `length` bytes at `at` are this spelling.
        func isSpelled(by bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ length: Int) -> Bool {
            guard length == self.bytes.count else { return false }
            guard length > 0, let base = bytes.baseAddress else { return length == 0 }
            return self.bytes.withUnsafeBufferPointer { spelling in
                guard let first = spelling.baseAddress else { return false }
                return memcmp(first, base + at, length) == 0
            }
        }
    }
    /// The last policy parsed: a line spelling its policy the same way gets this value (its
    /// node set's storage shared, so a tally knows it without comparing).
    private var lastSpelling = PolicySpelling(bytes: Array("default".utf8), policy: .default, mayBeMatched: true)
    /// The spellings before the last one (up to `recentLines`): a line whose policy is one of
    /// them takes it without a String or a dictionary lookup.
    private var otherSpellings: [PolicySpelling] = []
    private var nextOtherSpelling = 0
    private var policies: [String: MemoryPolicy] = [:]

    public init(keepsFilePaths: Bool, keepsAddresses: Bool = true) {
        self.keepsFilePaths = keepsFilePaths
        self.keepsAddresses = keepsAddresses
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
            var line = carry
            carry = []
            let result = line.withUnsafeBufferPointer { buffer in
                Result { () throws(ParseError) in try parseNumberedLine(buffer, 0, buffer.count) }
            }
            hand(try result.get(), to: &visitor)
            line.removeAll()
            start = newline + 1
        }
        while start < chunk.count {
            guard let end = Self.newline(in: chunk, from: start) else {
                carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start...]))
                return
            }
            if !repeatsCurrent(chunk, start, end, to: &visitor) {
                hand(try parseNumberedLine(chunk, start, end), to: &visitor)
            }
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
            Result { () throws(ParseError) in try parseNumberedLine(buffer, 0, buffer.count) }
        }
        hand(try result.get(), to: &visitor)
    }

    /// Whether the line is the current line again at a new address, handed to the visitor if
    /// so: its bytes after the address are the current line's when they end the line after a
    /// space, and the bytes before that space are all lowercase hex digits (`HexAddress` checks
    /// them knowing how many there are). The first check of every line in a chunk, so a run of
    /// alike lines (most of a large numa_maps) costs a compare and that check, not the search
    /// for the address's end; anything else goes on to `parseLine`.
    @inline(__always)
    private mutating func repeatsCurrent<Visitor: NumaMapsVisitor>(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, to visitor: inout Visitor
    ) -> Bool {
        let count = currentKey.tailCount, space = end - count - 1
        guard count > 0, space > start, bytes[space] == 0x20, let base = bytes.baseAddress else { return false }
        let key = currentKey
        let same = tails.withUnsafeBufferPointer { tails in tails.baseAddress.map { Self.isTail(of: key, $0, base + space + 1, count) } ?? false }
        guard same, let address = HexAddress.value(bytes, start, digits: space - start, lineEnd: end, converting: keepsAddresses) else {
            return false
        }
        lineNumber += 1
        hand(.again(slot: -1, address: address), to: &visitor)
        return true
    }

    /// What a line was: nothing (empty), a line parsed into `current`, or a remembered line
    /// again (the last one, -1, or `recent[slot]`) at `address`.
    private enum Line {
        case empty
        case parsed
        case again(slot: Int, address: UInt64)
    }

    /// Hands the line's mapping to the visitor: a remembered line first by its shape alone,
    /// and only when the visitor wants the mapping itself is that line made `current`.
    @inline(__always)
    private mutating func hand<Visitor: NumaMapsVisitor>(_ line: Line, to visitor: inout Visitor) {
        switch line {
        case .empty: return
        case .parsed: break
        case let .again(slot, address):
            if visitor.visitAgain(shape: slot < 0 ? currentKey.shape : recentKeys[slot].shape) {
                mappingsVisited += 1
                return
            }
            if slot >= 0 {
                swap(&current, &recent[slot])
                swap(&currentKey, &recentKeys[slot])
            }
            current.address = address
        }
        mappingsVisited += 1
        visitor.visit(current, shape: currentKey.shape)
    }

    private struct ClosureVisitor: NumaMapsVisitor {
        let body: (Mapping, Int) -> Void
        mutating func visit(_ mapping: Mapping, shape: Int) { body(mapping, shape) }
    }

    /// What the line is (`hand` gives it to the visitor).
    private mutating func parseNumberedLine(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) -> Line {
        defer { lineNumber += 1 }
        guard end > start else { return .empty }
        do {
            return try parseLine(bytes, start, end)
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
    private mutating func samePolicyLength(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int) -> Int? {
        let length = lastSpelling.bytes.count
        guard end - at >= length, at + length == end || bytes[at + length] == 0x20, lastSpelling.mayBeMatched,
              lastSpelling.isSpelled(by: bytes, at, length) else { return nil }
        return length
    }

    /// Sets `scratch.policy` from its spelling. Consecutive lines almost always share a policy:
    /// compare bytes with the last one, then with the few before it, and take the value that
    /// matches, before hashing a new String.
    private mutating func setPolicy(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) {
        if lastSpelling.isSpelled(by: bytes, start, end - start) { return keepLastPolicy() }
        if let index = otherSpellings.firstIndex(where: { $0.isSpelled(by: bytes, start, end - start) }) {
            // One of the recent spellings: it becomes the last, the last takes its place.
            swap(&otherSpellings[index], &lastSpelling)
            return keepLastPolicy()
        }
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
        let spelled = PolicySpelling(bytes: Array(UnsafeBufferPointer(rebasing: bytes[start..<end])), policy: parsed,
                                     mayBeMatched: !Self.equals(bytes, start, end, "prefer") && !Self.equals(bytes, start, end, "weighted"))
        if otherSpellings.count < Self.recentLines {
            otherSpellings.append(lastSpelling)
        } else {
            otherSpellings[nextOtherSpelling] = lastSpelling
            nextOtherSpelling = (nextOtherSpelling + 1) % Self.recentLines
        }
        lastSpelling = spelled
        scratch.policy = parsed
    }

    /// The line's policy is the last one: `scratch` (an earlier line's storage) usually has it already.
    private mutating func keepLastPolicy() {
        if !scratch.policy.isSameValue(as: lastSpelling.policy) { scratch.policy = lastSpelling.policy }
    }

    /// Parses one line (into `scratch`, then made `current` by `remember`), or finds it among
    /// the remembered ones.
    private mutating func parseLine(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) -> Line {
        func fail(_ at: Int, _ reason: String) -> ParseError {
            ParseError(what: "numa_maps line", input: Self.text(bytes, start, end), column: at - start + 1, reason: reason)
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
            let exact = try Self.exactAddress(bytes, start, cursor, fail)
            if keepsAddresses { address = exact }
        }
        guard cursor > start, cursor < end else { throw fail(cursor, "expected an address followed by a policy") }
        cursor += 1
        // Bytes after the address seen on a recent line parse to the same fields: only the address is new.
        let tailCount = end - cursor
        if tailCount <= Self.longestRememberedTail, let slot = rememberedSlot(bytes, cursor, tailCount) {
            return .again(slot: slot, address: address)
        }
        // Policy: almost always spelled as on the line before.
        let policyStart = cursor
        if let length = samePolicyLength(bytes, cursor, end) {
            cursor += length
            keepLastPolicy()
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
        scratch.reset(address: address)
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
                    scratch.heap = true
                } else if Self.hasPrefix(bytes, tokenStart, cursor, "stack") {
                    // Kernels before 4.5 printed `stack:TID` for thread stacks.
                    scratch.stack = true
                } else if Self.equals(bytes, tokenStart, cursor, "huge") {
                    scratch.huge = true
                }
                continue  // other bare words are future kernel additions; they carry no counts
            }
            if Self.equals(bytes, tokenStart, equalsAt, "file") {
                scratch.fileBacked = true
                if keepsFilePaths { scratch.file = Self.text(bytes, equalsAt + 1, cursor) }
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
                scratch.nodePages.append(.init(node: node, pages: value))
                continue
            }
            if let key = known?.counter ?? Self.counter(bytes, tokenStart, equalsAt) {
                switch key {
                case .anon: scratch.anon = value
                case .dirty: scratch.dirty = value
                case .mapped: scratch.mapped = value
                case .mapmax: scratch.mapmax = value
                case .swapcache: scratch.swapcache = value
                case .active: scratch.active = value
                case .writeback: scratch.writeback = value
                case .pageSize:
                    scratch.pageSizeKiB = value
                    pageSizeStart = tokenStart
                }
            }
        }
        try checkSizes(bytes, start, end, pageSizeStart: pageSizeStart, fail)
        remember(bytes, end - tailCount, tailCount)
        return .parsed
    }

    /// The remembered line whose bytes after the address are the `count` bytes at `at`: its slot
    /// in `recent`, or -1 for the last line (compared last: `repeatsCurrent` tried it already,
    /// for all but lines it could not check, e.g. shorter than 16 bytes).
    /// (Mutating, as the other helpers `parseLine` calls, only so that the scanner is passed by
    /// reference: a non-mutating method called from a mutating one was handed a copy of it.)
    private mutating func rememberedSlot(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ count: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let last = currentKey
        return tails.withUnsafeBufferPointer { tails in
            recentKeys.withUnsafeBufferPointer { keys in
                guard let stored = tails.baseAddress else { return nil }
                for slot in keys.indices where Self.isTail(of: keys[slot], stored, base + at, count) { return slot }
                return Self.isTail(of: last, stored, base + at, count) ? -1 : nil
            }
        }
    }

    /// Whether the `count` bytes at `line` are the bytes after the address `key`'s line had
    /// (`tails` is the scanner's store of them).
    @inline(__always)
    private static func isTail(of key: Key, _ tails: UnsafePointer<UInt8>, _ line: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        key.tailCount == count && memcmp(tails + key.region * longestRememberedTail, line, count) == 0
    }

    /// Makes the line just parsed into `scratch` current, with a new shape and (when short
    /// enough) its bytes after the address kept; the line before it takes the oldest recent
    /// line's place, and that one's storage is `scratch`'s to reuse.
    private mutating func remember(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ count: Int) {
        scratchKey.shape = shapeCount
        shapeCount += 1
        if count <= Self.longestRememberedTail, let base = bytes.baseAddress {
            let offset = scratchKey.region * Self.longestRememberedTail
            tails.withUnsafeMutableBufferPointer { tails in
                if let stored = tails.baseAddress { memcpy(stored + offset, base + at, count) }
            }
            scratchKey.tailCount = count
        } else {
            scratchKey.tailCount = -1
        }
        swap(&recent[nextSlot], &current)
        swap(&recentKeys[nextSlot], &currentKey)
        swap(&current, &scratch)
        swap(&currentKey, &scratchKey)
        nextSlot = (nextSlot + 1) % Self.recentLines
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
        if let size = scratch.pageSizeKiB, KernelArithmetic.bytes(kibibytes: size) == nil {
            throw fail(pageSizeStart, "kernelpagesize_kB=\(size) overflows")
        }
        guard !scratch.nodePages.isEmpty else { return }
        guard let size = scratch.pageSizeKiB else { throw fail(pageSizeStart, "page counts without kernelpagesize_kB") }
        var totalBytes = 0
        var totalPages = 0
        for (index, entry) in scratch.nodePages.enumerated() {
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
