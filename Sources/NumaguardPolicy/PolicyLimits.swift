import NumaguardCore

/// What one policy file may hold. A policy is read by root daemons (`watch` reloads it on
/// SIGHUP between samples), so loading it must take bounded time and memory whatever is in
/// it: every limit here is checked while the file is read and refused with a located error
/// (exit 78), never truncated silently. The limits are far above any real host's policy.
public enum PolicyLimits {
    /// The file itself: 1 MiB.
    public static let maximumFileBytes = 1 << 20
    /// Items in any one list (`workloads`, `reserve`, `waivers`, `host.hugepages`,
    /// `forbid_processes`, a node list written as a YAML list, ...) and entries in a by-node mapping.
    public static let maximumListItems = 4096
    /// Bytes in any one value: a name, a path, a `match.cmdline` pattern.
    public static let maximumValueBytes = 4096
    /// Values read in all, counting each use of a YAML alias again: anchors cannot multiply
    /// a small file into an unbounded amount of work.
    public static let maximumValues = 1_000_000
    /// Lists and mappings open inside one another. A real policy nests six deep; the limit
    /// keeps a file of `[[[[...` from costing more than its size in stack or bookkeeping.
    public static let maximumNesting = 64
    /// Diagnostics reported for one file; the rest are counted in a last one.
    public static let maximumDiagnostics = 100
}
