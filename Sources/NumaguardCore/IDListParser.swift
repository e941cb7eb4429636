/// Parsers for the kernel's two spellings of CPU and node sets.
public enum IDListParser {
    /// Kernel limits are NR_CPUS ≤ 8192 and MAX_NUMNODES ≤ 1024; anything far beyond
    /// is corruption, and refusing it keeps a hostile capture from allocating gigabytes.
    public static let maximumMember = 1 << 16

    /// Parses a list such as `0-3,8,10-11` (the `%*pbl` format of cpulist, Cpus_allowed_list,
    /// Mems_allowed_list, node `possible`/`online`). Blank input is the empty set, as the
    /// kernel prints an empty line for an empty mask (e.g. `isolated` with no isolcpus).
    public static func parse(_ text: some StringProtocol, what: String = "cpu/node list") throws(ParseError) -> IDSet {
        let body = Lex.trimmed(text)
        var set = IDSet()
        if body.isEmpty { return set }
        var column = 1
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            defer { column += part.count + 1 }
            guard !part.isEmpty else {
                throw ParseError(what: what, input: body, column: column, reason: "empty element")
            }
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2, let low = Lex.decimal(bounds[0]) else {
                throw ParseError(what: what, input: body, column: column, reason: "expected N or N-M, found \"\(part)\"")
            }
            var high = low
            if bounds.count == 2 {
                guard let parsed = Lex.decimal(bounds[1]) else {
                    throw ParseError(what: what, input: body, column: column, reason: "expected N or N-M, found \"\(part)\"")
                }
                high = parsed
            }
            guard low <= high else {
                throw ParseError(what: what, input: body, column: column, reason: "range \(low)-\(high) is descending")
            }
            guard high <= maximumMember else {
                throw ParseError(what: what, input: body, column: column, reason: "\(high) exceeds the largest supported id \(maximumMember)")
            }
            set.insert(range: low...high)
        }
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
