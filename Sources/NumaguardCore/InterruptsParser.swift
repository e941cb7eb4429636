/// `/proc/interrupts`: which interrupt sources fired on which CPU, counted since boot.
///
/// The file has a column per *online* CPU only (the header names them: `CPU0 CPU2` when CPU 1
/// is offline), so a count is found by the header's CPU number, never by position. Counts are
/// the kernel's `%10u`: 32-bit and they wrap, so two readings are compared with modular
/// arithmetic (`InterruptTable.delta`). Rows are numeric IRQs (`45: … PCI-MSIX-0000:21:00.0
/// 1-edge virtio1-input.0`) or named per-CPU sources (`LOC`, `RES`, `CAL`, `TLB`, … with a
/// description); `ERR:` and `MIS:` carry one host-wide value.
public struct InterruptTable: Equatable, Sendable {
    /// The header's CPU numbers, in column order.
    public var cpus: [Int]
    public var rows: [InterruptRow]

    public init(cpus: [Int], rows: [InterruptRow]) {
        self.cpus = cpus
        self.rows = rows
    }

    /// The row of `source`, if the file has one.
    public func row(_ source: InterruptRow.Source) -> InterruptRow? { rows.first { $0.source == source } }

    /// How many times each source fired on each CPU between `earlier` and this reading, only
    /// where it did (non-zero). A count is compared only where both readings have the source and
    /// the CPU's column (a CPU that went offline in between is left out, not read as zero); a
    /// source new in this reading counts from zero. Modular: a 32-bit count that wrapped once in
    /// between still gives the right difference (it cannot tell two wraps from none).
    public func delta(since earlier: InterruptTable) -> [InterruptDelta] {
        var before: [InterruptRow.Source: [Int: UInt32]] = [:]
        for row in earlier.rows {
            var counts: [Int: UInt32] = [:]
            for (column, count) in row.counts.enumerated() where column < earlier.cpus.count { counts[earlier.cpus[column]] = count }
            before[row.source] = counts
        }
        let earlierCPUs = Set(earlier.cpus)
        var deltas: [InterruptDelta] = []
        for row in rows where row.counts.count == cpus.count && !row.isHostWide {
            let old = before[row.source]
            for (column, count) in row.counts.enumerated() where column < cpus.count {
                let cpu = cpus[column]
                guard earlierCPUs.contains(cpu) else { continue }
                let fired = Self.delta(from: old?[cpu] ?? 0, to: count)
                if fired > 0 { deltas.append(InterruptDelta(source: row.source, cpu: cpu, count: fired, detail: row.detail)) }
            }
        }
        return deltas
    }

    /// `new - old` modulo 2^32: the kernel's counters are `unsigned int` and wrap.
    public static func delta(from old: UInt32, to new: UInt32) -> UInt32 { new &- old }
}

/// One row of /proc/interrupts.
public struct InterruptRow: Equatable, Sendable {
    public enum Source: Hashable, Sendable, CustomStringConvertible {
        /// A numbered IRQ (its number changes from boot to boot: never a check ID or a label).
        case irq(Int)
        /// A named source: `LOC`, `RES`, `CAL`, `TLB`, `NMI`, `ERR`, `MIS`, ...
        case named(String)

        public var description: String {
            switch self {
            case let .irq(number): "IRQ \(number)"
            case let .named(name): name
            }
        }
    }

    public var source: Source
    /// Per column of the header (one value for `ERR`/`MIS`).
    public var counts: [UInt32]
    /// The text after the counts: chip, hwirq and actions for an IRQ (`PCI-MSIX-0000:00:02.0
    /// 1-edge virtio1-req.0`), the description for a named row. Untrusted (drivers put interface
    /// names in actions), single-spaced and capped at `InterruptsParser.maximumDetailBytes`.
    public var detail: String

    public init(source: Source, counts: [UInt32], detail: String) {
        self.source = source
        self.counts = counts
        self.detail = detail
    }

    /// `ERR` and `MIS`: one host-wide value, not a count per CPU.
    public var isHostWide: Bool { source == .named("ERR") || source == .named("MIS") }

    /// The chip's name: the detail's first word of a numeric row.
    public var chip: String? {
        guard case .irq = source else { return nil }
        return detail.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// The handlers' names of a numeric row: the detail after the chip and the hwirq/type word
    /// (x86's layout, `IO-APIC 5-edge ACPI:Ged`). Best effort: other architectures lay the chip
    /// out differently; `/sys/kernel/irq/N/actions` is the authority.
    public var actions: String? {
        guard case .irq = source else { return nil }
        let words = detail.split(separator: " ", maxSplits: 2)
        return words.count == 3 ? String(words[2]) : nil
    }
}

/// Interrupts of one source on one CPU between two readings.
public struct InterruptDelta: Equatable, Sendable {
    public var source: InterruptRow.Source
    public var cpu: Int
    public var count: UInt32
    public var detail: String

    public init(source: InterruptRow.Source, cpu: Int, count: UInt32, detail: String) {
        self.source = source
        self.cpu = cpu
        self.count = count
        self.detail = detail
    }
}

public enum InterruptsParser {
    /// NR_CPUS is at most 8192: a header naming more columns is not a kernel's.
    public static let maximumColumns = 8192
    /// A line longer than this (8192 columns of `%10u` are about 90 KiB) is refused, naming it.
    public static let maximumLineBytes = 1 << 20
    public static let maximumDetailBytes = 256

    /// The whole file's text (tests, fixtures); the readers stream it (`InterruptsScanner`).
    public static func parse(_ text: String) throws(ParseError) -> InterruptTable {
        var scanner = InterruptsScanner()
        var copy = text
        try copy.withUTF8 { bytes in Result { () throws(ParseError) in try scanner.scan(bytes) } }.get()
        return try scanner.finish()
    }
}

/// /proc/interrupts parsed as it streams in: one pass over the bytes, a partial line carried to
/// the next chunk (at most `maximumLineBytes`), no per-field string unless kept.
public struct InterruptsScanner {
    private var carry: [UInt8] = []
    private var lineNumber = 0
    private var cpus: [Int]?
    private var rows: [InterruptRow] = []
    private var seen: Set<InterruptRow.Source> = []

    public init() {}

    public mutating func scan(_ chunk: UnsafeBufferPointer<UInt8>) throws(ParseError) {
        var start = 0
        while start < chunk.count {
            var end = start
            while end < chunk.count, chunk[end] != 0x0A { end += 1 }
            if end == chunk.count {
                // No newline yet: carry the piece, bounded.
                guard carry.count + (end - start) <= InterruptsParser.maximumLineBytes else { throw tooLong() }
                carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start..<end]))
                return
            }
            if carry.isEmpty {
                guard end - start <= InterruptsParser.maximumLineBytes else { throw tooLong() }
                try line(UnsafeBufferPointer(rebasing: chunk[start..<end]))
            } else {
                guard carry.count + (end - start) <= InterruptsParser.maximumLineBytes else { throw tooLong() }
                carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start..<end]))
                let whole = carry
                carry = []
                try whole.withUnsafeBufferPointer { bytes in Result { () throws(ParseError) in try line(bytes) } }.get()
            }
            start = end + 1
        }
    }

    /// The table, after a last line without a newline. A file with no header is refused.
    public mutating func finish() throws(ParseError) -> InterruptTable {
        if !carry.isEmpty {
            let whole = carry
            carry = []
            try whole.withUnsafeBufferPointer { bytes in Result { () throws(ParseError) in try line(bytes) } }.get()
        }
        guard let cpus else { throw ParseError(what: "/proc/interrupts", input: "", reason: "no CPU header line", line: 1) }
        return InterruptTable(cpus: cpus, rows: rows)
    }

    private func tooLong() -> ParseError {
        ParseError(what: "/proc/interrupts line", input: "",
                   reason: "line \(lineNumber + 1) is longer than \(InterruptsParser.maximumLineBytes) bytes", line: lineNumber + 1)
    }

    private func fail(_ bytes: UnsafeBufferPointer<UInt8>, column: Int? = nil, _ reason: String) -> ParseError {
        ParseError(what: "/proc/interrupts line \(lineNumber)", input: String(decoding: bytes.prefix(120), as: UTF8.self),
                   column: column, reason: reason, line: lineNumber)
    }

    /// The next blank-separated word at or after `from`, as [start, end).
    private static func nextWord(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Range<Int>? {
        var start = from
        while start < bytes.count, Lex.isSpace(bytes[start]) { start += 1 }
        guard start < bytes.count else { return nil }
        var end = start
        while end < bytes.count, !Lex.isSpace(bytes[end]) { end += 1 }
        return start..<end
    }

    private mutating func line(_ bytes: UnsafeBufferPointer<UInt8>) throws(ParseError) {
        lineNumber += 1
        guard let columns = cpus else { return try header(bytes) }
        guard let first = Self.nextWord(bytes, from: 0) else { return }   // a blank line
        // The label: `45:` or `LOC:`.
        guard first.count >= 2, bytes[first.upperBound - 1] == 0x3A else {
            throw fail(bytes, column: first.lowerBound + 1, "expected a label ending in \":\" (\"45:\", \"LOC:\")")
        }
        let labelEnd = first.upperBound - 1
        let source: InterruptRow.Source
        if let number = Lex.decimal(bytes, first.lowerBound, labelEnd) {
            source = .irq(number)
        } else {
            for index in first.lowerBound..<labelEnd where !(bytes[index] >= 0x41 && bytes[index] <= 0x5A) && !Lex.isDigit(bytes[index])
                && !(bytes[index] >= 0x61 && bytes[index] <= 0x7A) && bytes[index] != 0x5F {
                throw fail(bytes, column: index + 1, "a row label is a number or a name of letters and digits")
            }
            source = .named(String(decoding: UnsafeBufferPointer(rebasing: bytes[first.lowerBound..<labelEnd]), as: UTF8.self))
        }
        var counts: [UInt32] = []
        counts.reserveCapacity(columns.count)
        var cursor = first.upperBound
        var detailStart = bytes.count
        while let word = Self.nextWord(bytes, from: cursor) {
            guard counts.count < columns.count, Lex.isDigit(bytes[word.lowerBound]) else {
                detailStart = word.lowerBound
                break
            }
            guard let value = Lex.decimal(bytes, word.lowerBound, word.upperBound) else {
                // Digits then something else: a chip named `8x`? Only as the detail, after the counts.
                detailStart = word.lowerBound
                break
            }
            guard value <= Int(UInt32.max) else {
                throw fail(bytes, column: word.lowerBound + 1, "count \(value) does not fit the kernel's 32-bit counter")
            }
            counts.append(UInt32(value))
            cursor = word.upperBound
        }
        guard !counts.isEmpty else { throw fail(bytes, column: cursor + 1, "\(source) has no count") }
        guard seen.insert(source).inserted else { throw fail(bytes, column: first.lowerBound + 1, "\(source) is listed twice") }
        rows.append(InterruptRow(source: source, counts: counts, detail: Self.detail(bytes, from: detailStart)))
    }

    /// `CPU0 CPU1 ...`: the online CPUs, ascending, at most `maximumColumns`.
    private mutating func header(_ bytes: UnsafeBufferPointer<UInt8>) throws(ParseError) {
        var numbers: [Int] = []
        var cursor = 0
        while let word = Self.nextWord(bytes, from: cursor) {
            guard word.count > 3, bytes[word.lowerBound] == 0x43, bytes[word.lowerBound + 1] == 0x50, bytes[word.lowerBound + 2] == 0x55,
                  let cpu = Lex.decimal(bytes, word.lowerBound + 3, word.upperBound), cpu <= IDListParser.maximumMember else {
                throw fail(bytes, column: word.lowerBound + 1, "the header names CPUs as CPU<n>")
            }
            guard numbers.count < InterruptsParser.maximumColumns else {
                throw fail(bytes, column: word.lowerBound + 1, "more than \(InterruptsParser.maximumColumns) CPU columns")
            }
            if let last = numbers.last, cpu <= last {
                throw fail(bytes, column: word.lowerBound + 1, "CPU\(cpu) after CPU\(last): the header lists CPUs ascending")
            }
            numbers.append(cpu)
            cursor = word.upperBound
        }
        guard !numbers.isEmpty else { throw fail(bytes, "the first line must name the CPU columns") }
        cpus = numbers
    }

    /// The rest of the line, blanks collapsed to one space, capped.
    private static func detail(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> String {
        var kept: [UInt8] = []
        var cursor = start
        while let word = nextWord(bytes, from: cursor), kept.count < InterruptsParser.maximumDetailBytes {
            if !kept.isEmpty { kept.append(0x20) }
            kept.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[word]).prefix(InterruptsParser.maximumDetailBytes - kept.count))
            cursor = word.upperBound
        }
        return String(decoding: kept, as: UTF8.self)
    }
}
