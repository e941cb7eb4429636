/// One line of /proc/PID/numa_maps: a mapping, its policy and where its pages are.
public struct Mapping: Equatable, Sendable, Codable {
    public struct NodePages: Equatable, Sendable, Codable {
        public var node: Int
        public var pages: Int
        public init(node: Int, pages: Int) {
            self.node = node
            self.pages = pages
        }
    }

    /// What numastat -p and a placement audit care about. Hugetlb wins over heap and
    /// stack (the kernel never marks one mapping as both), file means page cache.
    public enum Kind: String, Sendable, Codable {
        case huge, heap, stack, file, anon
    }

    public var address: UInt64
    public var policy: MemoryPolicy
    /// The path as numa_maps prints it (the kernel escapes space, tab, newline and backslash as octal).
    public var file: String?
    public var heap = false
    public var stack = false
    /// A hugetlb mapping: its page counts are in huge pages of `pageSizeKiB`.
    public var huge = false
    public var anon = 0
    public var dirty = 0
    public var mapped = 0
    public var mapmax = 0
    public var swapcache = 0
    public var active: Int?
    public var writeback = 0
    public var nodePages: [NodePages] = []
    /// Absent when the mapping has no resident pages: the kernel then prints no counts at all.
    public var pageSizeKiB: Int?

    public init(address: UInt64, policy: MemoryPolicy, file: String? = nil) {
        self.address = address
        self.policy = policy
        self.file = file
    }

    public var kind: Kind {
        if huge { return .huge }
        if heap { return .heap }
        if stack { return .stack }
        if file != nil { return .file }
        return .anon
    }

    public var totalPages: Int { nodePages.reduce(0) { $0 + $1.pages } }

    public func pages(on node: Int) -> Int {
        nodePages.first { $0.node == node }?.pages ?? 0
    }

    /// Bytes resident on each node; THP pages are counted by the kernel in base pages,
    /// hugetlb pages in huge pages, so `kernelpagesize_kB` is the right multiplier for both.
    public func bytes(on node: Int) -> Int { pages(on: node) * (pageSizeKiB ?? 0) * 1024 }
}

/// Parser for /proc/PID/numa_maps (fs/proc/task_mmu.c `show_numa_map`).
///
/// Works on bytes because an inspect of a process with 30k mappings must cost little
/// next to the kernel's own page walk that produced the file.
public enum NumaMapsParser {
    public static func parse(_ text: String) throws(ParseError) -> [Mapping] {
        var copy = text
        return try copy.withUTF8 { buffer in
            Result { () throws(ParseError) in try parse(bytes: buffer) }
        }.get()
    }

    public static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(ParseError) -> [Mapping] {
        var mappings: [Mapping] = []
        mappings.reserveCapacity(bytes.count / 80)
        var policies = PolicyCache()
        var lineStart = 0
        var lineNumber = 1
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            if lineEnd > lineStart {
                do {
                    mappings.append(try parseLine(bytes, lineStart, lineEnd, &policies))
                } catch {
                    var located = error
                    located.what = "numa_maps line \(lineNumber)"
                    throw located
                }
            }
            lineStart = lineEnd + 1
            lineNumber += 1
        }
        return mappings
    }

    public static func parseLine(_ line: some StringProtocol) throws(ParseError) -> Mapping {
        var copy = String(line)
        var policies = PolicyCache()
        return try copy.withUTF8 { buffer in
            Result { () throws(ParseError) in try parseLine(buffer, 0, buffer.count, &policies) }
        }.get()
    }

    /// Most lines of one process share a handful of policies; parse each spelling once.
    struct PolicyCache {
        var entries: [String: MemoryPolicy] = [:]
        mutating func policy(_ text: String) throws(ParseError) -> MemoryPolicy {
            if let known = entries[text] { return known }
            let parsed = try MemoryPolicy.parse(text)
            entries[text] = parsed
            return parsed
        }
    }

    private static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard end - at >= count else { return false }
        let pointer = prefix.utf8Start
        for offset in 0..<count where bytes[at + offset] != pointer[offset] { return false }
        return true
    }

    private static func decimal(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
        guard start < end, end - start <= 18 else { return nil }
        var value = 0
        for index in start..<end {
            let byte = bytes[index]
            guard Lex.isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    private static func parseLine(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ policies: inout PolicyCache
    ) throws(ParseError) -> Mapping {
        func fail(_ at: Int, _ reason: String) -> ParseError {
            ParseError(what: "numa_maps line", input: text(bytes, start, end), column: at - start + 1, reason: reason)
        }
        var cursor = start
        // Address: hex digits up to the first space.
        var address: UInt64 = 0
        while cursor < end && bytes[cursor] != 0x20 {
            let byte = bytes[cursor]
            let digit: UInt64
            switch byte {
            case 0x30...0x39: digit = UInt64(byte - 0x30)
            case 0x61...0x66: digit = UInt64(byte - 0x61 + 10)
            default: throw fail(cursor, "address is not hexadecimal")
            }
            guard address >> 60 == 0 else { throw fail(cursor, "address wider than 64 bits") }
            address = address << 4 | digit
            cursor += 1
        }
        guard cursor > start, cursor < end else { throw fail(cursor, "expected an address followed by a policy") }
        cursor += 1
        // Policy: two kernel spellings contain a space, so skip over them before looking for the token's end.
        let policyStart = cursor
        if hasPrefix(bytes, cursor, end, "prefer (many)") {
            cursor += 13
        } else if hasPrefix(bytes, cursor, end, "weighted interleave") {
            cursor += 19
        }
        while cursor < end && bytes[cursor] != 0x20 { cursor += 1 }
        let policy: MemoryPolicy
        do {
            policy = try policies.policy(text(bytes, policyStart, cursor))
        } catch {
            throw fail(policyStart + (error.column ?? 1) - 1, error.reason)
        }
        var mapping = Mapping(address: address, policy: policy)
        // Remaining tokens: `key=value` or bare words, separated by single spaces.
        while cursor < end {
            while cursor < end && bytes[cursor] == 0x20 { cursor += 1 }
            let tokenStart = cursor
            var equals = -1
            while cursor < end && bytes[cursor] != 0x20 {
                if equals < 0 && bytes[cursor] == 0x3D { equals = cursor }
                cursor += 1
            }
            guard cursor > tokenStart else { break }
            if equals < 0 {
                if hasPrefix(bytes, tokenStart, cursor, "heap") && cursor - tokenStart == 4 {
                    mapping.heap = true
                } else if hasPrefix(bytes, tokenStart, cursor, "stack") {
                    // Kernels before 4.5 printed `stack:TID` for thread stacks.
                    mapping.stack = true
                } else if hasPrefix(bytes, tokenStart, cursor, "huge") && cursor - tokenStart == 4 {
                    mapping.huge = true
                }
                continue  // other bare words are future kernel additions; they carry no counts
            }
            if hasPrefix(bytes, tokenStart, equals, "file") && equals - tokenStart == 4 {
                mapping.file = text(bytes, equals + 1, cursor)
                continue
            }
            guard let value = decimal(bytes, equals + 1, cursor) else {
                // Only counters are numeric; an unknown key with a non-numeric value is tolerated,
                // but a node count or a known counter that does not parse is corruption.
                if bytes[tokenStart] == 0x4E || isKnownCounter(bytes, tokenStart, equals) {
                    throw fail(equals + 1, "\"\(text(bytes, tokenStart, equals))\" needs a decimal count")
                }
                continue
            }
            if bytes[tokenStart] == 0x4E, let node = decimal(bytes, tokenStart + 1, equals) {
                mapping.nodePages.append(.init(node: node, pages: value))
                continue
            }
            switch text(bytes, tokenStart, equals) {
            case "anon": mapping.anon = value
            case "dirty": mapping.dirty = value
            case "mapped": mapping.mapped = value
            case "mapmax": mapping.mapmax = value
            case "swapcache": mapping.swapcache = value
            case "active": mapping.active = value
            case "writeback": mapping.writeback = value
            case "kernelpagesize_kB": mapping.pageSizeKiB = value
            default: break
            }
        }
        if !mapping.nodePages.isEmpty && mapping.pageSizeKiB == nil {
            throw fail(end, "page counts without kernelpagesize_kB")
        }
        return mapping
    }

    private static func isKnownCounter(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        ["anon", "dirty", "mapped", "mapmax", "swapcache", "active", "writeback", "kernelpagesize_kB"]
            .contains(text(bytes, start, end))
    }
}
