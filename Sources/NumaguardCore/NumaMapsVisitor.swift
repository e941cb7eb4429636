/// What `NumaMapsScanner` hands each line's mapping to.
public protocol NumaMapsVisitor {
    /// `shape`: two mappings of one scanner with the same shape are equal in every field but
    /// `address` (a line repeating a recent line's bytes after the address is not parsed again).
    mutating func visit(_ mapping: Mapping, shape: Int)

    /// A line repeated a recent line of this shape after its address: true when the visitor
    /// has taken it from the shape alone (a tally that has seen the shape counts it), so the
    /// scanner need not bring that mapping forward; false to be handed it by `visit`.
    mutating func visitAgain(shape: Int) -> Bool

    /// True for a visitor that takes a parsed line's `NumaMapsLineSummary` (with its policy)
    /// instead of its mapping, when the scanner keeps no mappings: what a tally needs, read
    /// without building a `Mapping` (a line the summary turns down is still parsed in full and
    /// handed to `visit(_:shape:)`). Such a visitor is also handed lines the scanner did not
    /// remember (`missesBeforeProbing`) with shape -1: no later line repeats them by shape.
    static var takesSummaries: Bool { get }

    /// A parsed line's summary, node counts and policy, with its shape (as `visit(_:shape:)`
    /// has it). The policy is asked for only when needed: a tally that knows the line's
    /// spelling (`NumaMapsLineSummary.serial`) does not load, and retain, the value.
    mutating func visit(_ summary: NumaMapsLineSummary, nodes: UnsafeBufferPointer<Mapping.NodePages>, policy: () -> MemoryPolicy, shape: Int)
}

extension NumaMapsVisitor {
    public mutating func visitAgain(shape: Int) -> Bool { false }
    public static var takesSummaries: Bool { false }
    public mutating func visit(_ summary: NumaMapsLineSummary, nodes: UnsafeBufferPointer<Mapping.NodePages>, policy: () -> MemoryPolicy, shape: Int) {
        preconditionFailure("a scanner hands summaries only to a visitor that takes them")
    }
}
