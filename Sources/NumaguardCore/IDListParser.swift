/// Parsers for the kernel's two spellings of CPU and node sets.
public enum IDListParser {
    /// Kernel limits are NR_CPUS ≤ 8192 and MAX_NUMNODES ≤ 1024; anything far beyond
    /// is corruption, and refusing it keeps a hostile capture from allocating gigabytes.
    public static let maximumMember = 1 << 16

    /// Parses a list such as `0-3,8,10-11` (the `%*pbl` format of cpulist, Cpus_allowed_list,
    /// Mems_allowed_list, node `possible`/`online`). Blank input is the empty set, as the
    /// kernel prints an empty line for an empty mask (e.g. `isolated` with no isolcpus).
    public static func parse(_ text: some StringProtocol, what: String = "cpu/node list") throws(ParseError) -> IDSet {
        var body = Lex.trimmed(text)
        var set = IDSet()
        // Byte-wise with plain loops: no [Substring] from split and no generic number
        // parsing, since the launcher parses several of these lists before every exec.
        let failure: (column: Int, reason: String)? = body.withUTF8 { bytes in
            var elementStart = 0
            while elementStart <= bytes.count, !bytes.isEmpty {
                var elementEnd = elementStart
                while elementEnd < bytes.count, bytes[elementEnd] != 0x2C { elementEnd += 1 }   // ,
                let column = elementStart + 1
                guard elementEnd > elementStart else { return (column, "empty element") }
                var dash: Int?
                for index in elementStart..<elementEnd where bytes[index] == 0x2D { dash = index; break }   // -
                func found() -> String { "expected N or N-M, found \"\(String(decoding: bytes[elementStart..<elementEnd], as: UTF8.self))\"" }
                guard let low = Lex.decimal(bytes, elementStart, dash ?? elementEnd) else { return (column, found()) }
                var high = low
                if let dash {
                    guard let parsed = Lex.decimal(bytes, dash + 1, elementEnd) else { return (column, found()) }
                    high = parsed
                }
                guard low <= high else { return (column, "range \(low)-\(high) is descending") }
                guard high <= maximumMember else { return (column, "\(high) exceeds the largest supported id \(maximumMember)") }
                set.insert(range: low...high)
                elementStart = elementEnd + 1
            }
            return nil
        }
        if let failure { throw ParseError(what: what, input: body, column: failure.column, reason: failure.reason) }
        return set
    }

    /// Parses a hex mask such as `00000000,0000000f` (cpumap, Cpus_allowed, Mems_allowed):
    /// comma-separated 32-bit groups, most significant first.
    public static func parseMask(_ text: some StringProtocol, what: String = "cpu/node mask") throws(ParseError) -> IDSet {
        let body = Lex.trimmed(text)
        guard !body.isEmpty else { throw ParseError(what: what, input: body, reason: "empty mask") }
        let groups = body.split(separator: ",", omittingEmptySubsequences: false)
        var set = IDSet()
        var bitBase = 0
        for group in groups.reversed() {
            guard !group.isEmpty, group.count <= 8, let value = UInt32(group, radix: 16) else {
                throw ParseError(what: what, input: body, reason: "\"\(group)\" is not a group of up to 8 hex digits")
            }
            var remaining = value
            while remaining != 0 {
                let bit = remaining.trailingZeroBitCount
                remaining &= remaining - 1
                let member = bitBase + bit
                guard member <= maximumMember else {
                    throw ParseError(what: what, input: body, reason: "mask wider than the largest supported id \(maximumMember)")
                }
                set.insert(member)
            }
            bitBase += 32
        }
        return set
    }
}
