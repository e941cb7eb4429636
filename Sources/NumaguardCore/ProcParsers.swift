#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The fields of /proc/PID/stat (or task/TID/stat) that placement depends on.
public struct TaskStat: Equatable, Sendable {
    public var pid: Int
    public var comm: String
    public var state: Character
    public var ppid: Int
    /// Clock ticks since boot; with the pid it identifies a process across pid reuse.
    public var startTime: UInt64
    /// The CPU the task last ran on (field 39).
    public var processor: Int
    /// PF_* flags (field 9).
    public var flags: UInt64

    /// Zombie (Z) or dead (X): the process has exited, only its entry is left, and nothing
    /// read from it (memory, placement) describes a running process.
    public var hasExited: Bool { state == "Z" || state == "X" }

    public init(pid: Int, comm: String, state: Character, ppid: Int, startTime: UInt64, processor: Int, flags: UInt64 = 0) {
        self.pid = pid
        self.comm = comm
        self.state = state
        self.ppid = ppid
        self.startTime = startTime
        self.processor = processor
        self.flags = flags
    }

    /// PF_KTHREAD: a kernel thread has no user memory to place.
    public var isKernelThread: Bool { flags & 0x0020_0000 != 0 }
}

public enum TaskStatParser {
    /// comm sits in parentheses and may itself hold spaces and `)`, so fields are
    /// counted from the last `)` (as procps does). Works on bytes and picks out only the
    /// five fields it keeps: an audit reads one stat line per process on the host.
    public static func parse(_ text: String) throws(ParseError) -> TaskStat {
        var copy = text
        return try copy.withUTF8 { bytes in
            Result { () throws(ParseError) in try parse(bytes: bytes, text) }
        }.get()
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>, _ text: String) throws(ParseError) -> TaskStat {
        func fail(_ reason: String) -> ParseError { ParseError(what: "stat", input: Lex.trimmed(text), reason: reason) }
        guard let open = bytes.firstIndex(of: 0x28), let close = bytes.lastIndex(of: 0x29), open < close else {
            throw fail("no (comm) field")
        }
        var pid = 0
        var sawDigit = false
        for index in 0..<open where bytes[index] != 0x20 {
            guard Lex.isDigit(bytes[index]), pid < Int.max / 10 - 10 else { throw fail("pid is not a number") }
            pid = pid * 10 + Int(bytes[index] - 0x30)
            sawDigit = true
        }
        guard sawDigit else { throw fail("pid is not a number") }
        let comm = String(decoding: UnsafeBufferPointer(rebasing: bytes[(open + 1)..<close]), as: UTF8.self)
        // Fields after ") ": field 3 (state) onwards, single-space separated.
        // The five fields wanted, each in its own variable: a dictionary or an array of
        // optional ranges is generic metadata the static front builds at run time.
        var stateField: Range<Int>?, ppid: Range<Int>?, flags: Range<Int>?, startTime: Range<Int>?, processor: Range<Int>?
        var field = 3
        var cursor = close + 1
        while cursor < bytes.count && field <= 39 {
            while cursor < bytes.count && (bytes[cursor] == 0x20 || bytes[cursor] == 0x0A) { cursor += 1 }
            let start = cursor
            while cursor < bytes.count && bytes[cursor] != 0x20 && bytes[cursor] != 0x0A { cursor += 1 }
            guard cursor > start else { break }
            switch field {
            case 3: stateField = start..<cursor
            case 4: ppid = start..<cursor
            case 9: flags = start..<cursor
            case 22: startTime = start..<cursor
            case 39: processor = start..<cursor
            default: break
            }
            field += 1
        }
        func number(_ index: Int, _ range: Range<Int>?) throws(ParseError) -> UInt64 {
            guard let range else { throw fail("has \(field - 1) fields, field \(index) needed") }
            var value: UInt64 = 0
            for position in range {
                guard Lex.isDigit(bytes[position]), value < UInt64.max / 10 - 10 else {
                    throw fail("field \(index) is not a number")
                }
                value = value * 10 + UInt64(bytes[position] - 0x30)
            }
            return value
        }
        // A PID or CPU number beyond Int is no kernel's: an error, never a trap (the fuzzer found one).
        func int(_ index: Int, _ range: Range<Int>?) throws(ParseError) -> Int {
            guard let value = Int(exactly: try number(index, range)) else { throw fail("field \(index) is out of range") }
            return value
        }
        guard let stateRange = stateField, stateRange.count == 1 else { throw fail("field 3 (state) is not one letter") }
        let state = Character(Unicode.Scalar(bytes[stateRange.lowerBound]))
        return TaskStat(
            pid: pid, comm: comm, state: state, ppid: try int(4, ppid),
            startTime: try number(22, startTime), processor: try int(39, processor), flags: try number(9, flags)
        )
    }
}

/// /proc/PID/status as key/value pairs, with typed accessors for the placement fields.
public struct ProcStatus: Equatable, Sendable {
    /// Each key once, with its last value. Two lists rather than a dictionary: a reader keeps
    /// only the few keys it uses (`parse(keeping:)`), and a `[String: String]`'s type was built
    /// at its first use by the static front, a tenth of a small inspect.
    private var keys: [String] = []
    private var values: [String] = []

    private init() {}

    public init(fields: [String: String]) {
        for key in fields.keys.sorted() {
            keys.append(key)
            values.append(fields[key] ?? "")
        }
    }

    /// Every field read, by key.
    public var fields: [String: String] {
        var fields: [String: String] = [:]
        for index in keys.indices { fields[keys[index]] = values[index] }
        return fields
    }

    /// The value of `key`, nil when the status had no such line (or it was not kept).
    public func value(_ key: String) -> String? {
        keys.firstIndex(of: key).map { values[$0] }
    }

    public static func == (lhs: ProcStatus, rhs: ProcStatus) -> Bool { lhs.fields == rhs.fields }

    /// Every `Key:\tvalue` line; lines without a colon are skipped, a key seen twice keeps its
    /// last value. Byte-wise over the text (watch reads the status of every thread of a
    /// protected process each interval): the key ends at the first colon byte, the value is
    /// what follows with ASCII blanks trimmed.
    /// `keeping`: store only these keys (a process read for inspect or audit needs four of
    /// status's ~55 lines; a String pair for each of the others was a tenth of a small
    /// inspect). Either way the work is linear in the text: kept keys are searched among at
    /// most `wanted.count`, every key by a dictionary of indices.
    public static func parse(_ text: String, keeping wanted: [String]? = nil) -> ProcStatus {
        var text = text
        var status = ProcStatus()
        var index: [String: Int] = [:]
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            func blank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C }
            func text(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self) }
            var lineStart = 0
            while lineStart < bytes.count {
                let lineEnd = memchr(base + lineStart, 0x0A, bytes.count - lineStart)
                    .map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? bytes.count
                defer { lineStart = lineEnd + 1 }
                guard let found = memchr(base + lineStart, 0x3A, lineEnd - lineStart) else { continue }
                let colon = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - base
                var valueStart = colon + 1, valueEnd = lineEnd
                while valueStart < valueEnd && blank(bytes[valueStart]) { valueStart += 1 }
                while valueEnd > valueStart && blank(bytes[valueEnd - 1]) { valueEnd -= 1 }
                if let wanted {
                    guard let key = wanted.first(where: { Lex.bytes(bytes, lineStart, colon, equal: $0) }) else { continue }
                    status.set(key, text(valueStart, valueEnd), at: status.keys.firstIndex(of: key))
                } else {
                    let key = text(lineStart, colon)
                    let at = index[key]
                    if at == nil { index[key] = status.keys.count }
                    status.set(key, text(valueStart, valueEnd), at: at)
                }
            }
        }
        return status
    }

    /// `value` for `key`, at `index` when the key is there already.
    private mutating func set(_ key: String, _ value: String, at index: Int?) {
        if let index {
            values[index] = value
        } else {
            keys.append(key)
            values.append(value)
        }
    }

    public var name: String? { value("Name") }

    /// One field's value without building the table: the launcher needs two fields of its
    /// own status and no dictionary on its path.
    public static func value(of key: String, in text: String) -> Substring? {
        // Over contiguous UTF-8 bytes with plain loops: Character-wise search runs grapheme
        // breaking, and the generic Collection algorithms on UTF8View slices resolve
        // associated types at run time, both measurable on the launch path.
        var text = text
        var key = key
        let found = text.withUTF8 { bytes in
            key.withUTF8 { name -> (start: Int, end: Int)? in
                guard let base = bytes.baseAddress else { return nil }
                var lineStart = 0
                while lineStart < bytes.count {
                    // memchr, not a byte loop: status is ~1.4 KB and the launcher looks up four lines.
                    let lineEnd = memchr(base + lineStart, 0x0A, bytes.count - lineStart)
                        .map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? bytes.count
                    if lineEnd - lineStart > name.count, bytes[lineStart + name.count] == 0x3A {
                        var matches = true
                        for offset in 0..<name.count where bytes[lineStart + offset] != name[offset] {
                            matches = false
                            break
                        }
                        if matches { return (lineStart + name.count + 1, lineEnd) }
                    }
                    lineStart = lineEnd + 1
                }
                return nil
            }
        }
        guard let found else { return nil }
        let utf8 = text.utf8
        return Lex.trimmed(text[utf8.index(utf8.startIndex, offsetBy: found.start)..<utf8.index(utf8.startIndex, offsetBy: found.end)])
    }

    public func idSet(_ key: String) throws(ParseError) -> IDSet? {
        guard let value = value(key) else { return nil }
        return try IDListParser.parse(value, what: key)
    }

    public var cpusAllowed: IDSet? { get throws(ParseError) { try idSet("Cpus_allowed_list") } }
    public var memsAllowed: IDSet? { get throws(ParseError) { try idSet("Mems_allowed_list") } }

    /// Real, effective, saved and filesystem uid.
    public var uids: [Int] { (value("Uid") ?? "").split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { Lex.decimal($0) } }

    /// A `kB` field in bytes (VmRSS, RssAnon, ...); nil when absent or not a number. A count
    /// whose bytes pass 2^63 cannot be real and is refused, naming the field.
    public func kilobytes(_ key: String) throws(ParseError) -> Int? {
        guard let value = value(key), let number = Lex.decimal(value.split(separator: " ").first ?? "") else { return nil }
        guard let bytes = KernelArithmetic.bytes(kibibytes: number) else {
            throw ParseError(what: "status field \(key)", input: value, reason: "\(number) kB overflows")
        }
        return bytes
    }
}

/// `key: value kB` files: /proc/meminfo and, with a `Node N ` prefix, node*/meminfo.
public enum MeminfoParser {
    /// Values in bytes for `kB` lines, raw counts otherwise (HugePages_*). Read as bytes: every
    /// command that reads the topology parses one of these per node, and String's character
    /// walk (split, firstIndex) made it a third of `topology`'s and `inspect`'s start-up.
    /// Lines as `Lex.lines` gives them; blank ones skipped; words separated by runs of spaces.
    /// A space or colon is the byte, whatever follows it: the kernel writes ASCII, and a
    /// combining mark after a separator no longer hides it (String's Characters joined the two,
    /// so `A: 5 \u{301}` was refused as a value that is not a number; now it is 5, as
    /// `A: 5 extra` always was).
    public static func parse(_ text: String) throws(ParseError) -> [String: Int] {
        var values: [String: Int] = [:]
        try lines(text) { bytes, key, value in
            values[String(decoding: UnsafeBufferPointer(rebasing: bytes[key]), as: UTF8.self)] = value
        }
        return values
    }

    /// MemTotal and MemFree, each nil when absent, every line checked as `parse` checks it:
    /// what the topology takes of a node's ~30 lines. No String per line and no dictionary (a
    /// `[String: Int]`'s type is built at its first use in the static front, a tenth of a small
    /// inspect).
    public static func totals(_ text: String) throws(ParseError) -> (total: Int?, free: Int?) {
        var totals: (total: Int?, free: Int?) = (nil, nil)
        try lines(text) { bytes, key, value in
            if NumaMapsTokens.equals(bytes, key.lowerBound, key.upperBound, "MemTotal") {
                totals.total = value
            } else if NumaMapsTokens.equals(bytes, key.lowerBound, key.upperBound, "MemFree") {
                totals.free = value
            }
        }
        return totals
    }

    /// Each line's key (where it is in the bytes) and value, in order; blank lines skipped.
    private static func lines(
        _ text: String, _ take: (UnsafeBufferPointer<UInt8>, Range<Int>, Int) -> Void
    ) throws(ParseError) {
        var copy = text
        try copy.withUTF8 { bytes in
            Result { () throws(ParseError) in
                var start = 0
                while start <= bytes.count {
                    var end = start
                    while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                    if let (key, value) = try parseLine(bytes, start, end) { take(bytes, key, value) }
                    start = end + 1
                }
            }
        }.get()
    }

    private static func parseLine(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) -> (Range<Int>, Int)? {
        func text(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self) }
        func blank(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        guard (start..<end).contains(where: { !blank(bytes[$0]) }) else { return nil }
        // The line as text only for a message: most lines are read without one.
        func failure(_ what: String, _ reason: String) -> ParseError { ParseError(what: what, input: text(start, end), reason: reason) }
        // The next word (a run of bytes other than space) from `at`: its start and end.
        func word(from at: Int, to limit: Int) -> (Int, Int)? {
            var first = at
            while first < limit && bytes[first] == 0x20 { first += 1 }
            guard first < limit else { return nil }
            var last = first
            while last < limit && bytes[last] != 0x20 { last += 1 }
            return (first, last)
        }
        var body = start
        if NumaMapsTokens.hasPrefix(bytes, start, end, "Node ") {
            // "Node N key: value": the rest from just after the space that ends N (as
            // split(separator:maxSplits: 2) cuts it), which must not be empty.
            guard let node = word(from: start, to: end), let id = word(from: node.1, to: end), id.1 + 1 < end else {
                throw failure("node meminfo line", "expected \"Node N key: value\"")
            }
            body = id.1 + 1
        }
        guard let colon = (body..<end).first(where: { bytes[$0] == 0x3A }) else {
            throw failure("meminfo line", "no ':'")
        }
        guard let number = word(from: colon + 1, to: end), let value = Lex.decimal(bytes, number.0, number.1) else {
            throw failure("meminfo line", "value is not a number")
        }
        if let unit = word(from: number.1, to: end), unit.1 - unit.0 == 2, bytes[unit.0] == 0x6B, bytes[unit.0 + 1] == 0x42 {
            guard let converted = KernelArithmetic.bytes(kibibytes: value) else {
                throw failure("meminfo line", "\(text(body, colon)): \(value) kB overflows")
            }
            return (body..<colon, converted)
        }
        return (body..<colon, value)
    }
}

/// `key value` files: /proc/vmstat and node*/numastat, node*/vmstat.
public enum CounterFileParser {
    /// Every `name value` line, validated. `keeping`: store only these names (watch reads
    /// /proc/vmstat's ~180 lines every second for six of them; building a String key for each
    /// line was a tenth of its CPU). Every line is still checked whatever is kept.
    public static func parse(_ text: String, keeping wanted: [String]? = nil) throws(ParseError) -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for line in Lex.lines(text) {
            // Two words separated by spaces (as split(separator: " ") counts them), over the
            // line's bytes: no array, no String per line unless it is kept.
            var storage = line
            let parsed = storage.withUTF8 { bytes -> (name: Range<Int>, value: UInt64)?? in
                var cursor = 0
                func skip(blank: Bool) { while cursor < bytes.count && (bytes[cursor] == 0x20) == blank { cursor += 1 } }
                // A line of ASCII blanks alone (as Lex.trimmed sees them) is skipped.
                if bytes.allSatisfy({ Lex.isSpace($0) || $0 == 0x0B || $0 == 0x0C }) { return .some(nil) }
                skip(blank: true)
                let nameStart = cursor
                skip(blank: false)
                let nameEnd = cursor
                skip(blank: true)
                guard nameStart < nameEnd else { return nil }
                let valueStart = cursor
                var value: UInt64 = 0
                while cursor < bytes.count && bytes[cursor] != 0x20 {
                    guard Lex.isDigit(bytes[cursor]) else { return nil }
                    let (product, overflowA) = value.multipliedReportingOverflow(by: 10)
                    let (sum, overflowB) = product.addingReportingOverflow(UInt64(bytes[cursor] - 0x30))
                    guard !overflowA && !overflowB else { return nil }
                    value = sum
                    cursor += 1
                }
                guard cursor > valueStart else { return nil }
                skip(blank: true)
                guard cursor == bytes.count else { return nil }
                return .some((nameStart..<nameEnd, value))
            }
            guard let parsed else {
                throw ParseError(what: "counter line", input: line, reason: "expected \"name value\"")
            }
            guard let entry = parsed else { continue }
            let utf8 = line.utf8
            let name = line[utf8.index(utf8.startIndex, offsetBy: entry.name.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: entry.name.upperBound)]
            if let wanted {
                if let kept = wanted.first(where: { name == $0 }) { values[kept] = entry.value }
            } else {
                values[String(name)] = entry.value
            }
        }
        return values
    }
}

/// One line of /proc/PID/cgroup: `hierarchy-id:controllers:path`.
public struct CgroupEntry: Equatable, Sendable, Codable {
    public var hierarchy: Int
    public var controllers: [String]
    public var path: String

    public init(hierarchy: Int, controllers: [String], path: String) {
        self.hierarchy = hierarchy
        self.controllers = controllers
        self.path = path
    }

    /// Byte-wise: the lines, the two `:` and each `,` are those bytes, whatever surrounds them
    /// (the kernel writes them as ASCII; String's Characters joined a separator with a
    /// neighbouring combining mark, joiner or prepended character into one, which hid it).
    /// Splitting Substrings instead was a tenth of a small inspect's start-up.
    public static func parse(_ text: String) throws(ParseError) -> [CgroupEntry] {
        var copy = text
        return try copy.withUTF8 { bytes in
            Result { () throws(ParseError) in
                var entries: [CgroupEntry] = []
                var start = 0
                while start < bytes.count {
                    var end = start
                    while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                    if end > start { entries.append(try entry(bytes, start, end)) }
                    start = end + 1
                }
                return entries
            }
        }.get()
    }

    /// The line in `start..<end` (not empty): `id:controllers:path`, controllers split at
    /// commas with empty names dropped, the path everything after the second colon.
    private static func entry(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) -> CgroupEntry {
        func text(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self) }
        func colon(from: Int) -> Int? { (from..<end).first { bytes[$0] == 0x3A } }
        guard let first = colon(from: start), let second = colon(from: first + 1), let id = Lex.decimal(bytes, start, first) else {
            throw ParseError(what: "cgroup line", input: text(start, end), reason: "expected \"id:controllers:path\"")
        }
        var controllers: [String] = []
        var name = first + 1
        for at in (first + 1)...second where at == second || bytes[at] == 0x2C {
            if at > name { controllers.append(text(name, at)) }
            name = at + 1
        }
        return CgroupEntry(hierarchy: id, controllers: controllers, path: text(second + 1, end))
    }
}

/// The whitespace-separated numbers of node*/distance.
public enum DistanceParser {
    public static func parse(_ text: String) throws(ParseError) -> [Int] {
        try Lex.trimmed(text).split(separator: " ").map { word throws(ParseError) in
            guard let value = Lex.decimal(word) else {
                throw ParseError(what: "node distance", input: text, reason: "\"\(word)\" is not a number")
            }
            return value
        }
    }
}

/// Sysfs selection files such as transparent_hugepage/enabled: `always [madvise] never`.
public enum BracketChoiceParser {
    public static func parse(_ text: String) throws(ParseError) -> String {
        for word in Lex.trimmed(text).split(separator: " ") where word.hasPrefix("[") && word.hasSuffix("]") && word.count > 2 {
            return String(word.dropFirst().dropLast())
        }
        throw ParseError(what: "sysfs choice", input: Lex.trimmed(text), reason: "no [selected] value")
    }
}
