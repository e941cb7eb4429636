/// A parser's refusal, precise enough for an operator to find the bad byte.
///
/// Parsers never guess: a value the kernel would not print is an error naming the
/// text and the column, so a corrupted capture or an unknown kernel spelling is
/// reported instead of silently becoming a zero.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being parsed, e.g. "cpulist" or "numa_maps line".
    public var what: String
    /// The offending input (truncated to keep messages readable).
    public var input: String
    /// 1-based column in `input` where parsing failed, when known.
    public var column: Int?
    public var reason: String
    /// 1-based line in the file when the parser reads a multi-line file line by line
    /// (numa_maps): `HostError` then names the place as `path:line`.
    public var line: Int?

    public init(what: String, input: some StringProtocol, column: Int? = nil, reason: String, line: Int? = nil) {
        self.what = what
        self.input = input.count > 120 ? String(input.prefix(117)) + "..." : String(input)
        self.column = column
        self.reason = reason
        self.line = line
    }

    public var description: String {
        let place = column.map { " at column \($0)" } ?? ""
        // The input is often a host file's bytes (a captured tree is anyone's), and a reason
        // often quotes part of it: controls are escaped in both; backslashes and tabs kept,
        // as a policy's author wrote them.
        return "invalid \(what) \"\(UntrustedText.escaped(input, authored: true))\"\(place): "
            + UntrustedText.escaped(reason, limit: 1024, authored: true)
    }
}
