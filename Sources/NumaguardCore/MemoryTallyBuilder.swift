/// Sums a numa_maps as `NumaMapsScanner` hands it over, mapping by mapping with its shape.
///
/// Most lines of a large numa_maps are a recent line again at a new address (the scanner says
/// so with the same shape), and then there is nothing to classify or add that was not added
/// before: the builder counts such a repeat and adds all repeats of a shape at once, as one
/// product, when the shape leaves its slot or the tally is asked for. Adding one at a time
/// was most of what inspect spent on a line that repeats. Sums saturate, and every count the
/// scanner gives is at least zero, so a product of repeats saturates where adding them one by
/// one would: the tally is the same as `MemoryTally.add` of every mapping (NumaMapsRepeatTests,
/// the parsers fuzzer).
///
/// Shapes must all come from one scanner; only the tally (`settled()`) is read, so no figure
/// can be taken while repeats are still being counted.
public struct MemoryTallyBuilder: NumaMapsVisitor {
    private var tally = MemoryTally()
    /// Slots by the low bits of a shape. The scanner numbers shapes in order and keeps
    /// `recentLines + 1` lines, so a power of two above that many never makes two of them
    /// collide (a collision would only add that shape's repeats early and classify it again).
    private static let slots = 16
    /// A shape's first mapping as added (where its bytes go, its node counts) and its repeats
    /// counted but not yet added.
    private struct Slot {
        var shape = -1
        var added = MemoryTally.Added()
        var nodes: [Mapping.NodePages] = []
        var pending = 0
    }
    private var slots = [Slot](repeating: Slot(), count: MemoryTallyBuilder.slots)
    /// The tally's policy index last found for each of the scanner's kept policy spellings,
    /// and that spelling's serial: a line whose spelling has the serial takes the index with
    /// no compare (one spelling is one policy); any other finds it by the policy's identity,
    /// the slot's index first (a process with a few policies in turn finds each so).
    private var usageBySpelling = [Int](repeating: -1, count: NumaMapsPolicySpellings.kept)
    private var serialBySpelling = [Int](repeating: -1, count: NumaMapsPolicySpellings.kept)

    public init() {
        assert(Self.slots > NumaMapsScanner.recentLines && Self.slots & (Self.slots - 1) == 0)
    }

    /// Adds a mapping the scanner gave with `shape`: the first of a shape is classified and
    /// added (so policies are listed in the order first seen), its repeats are counted. A
    /// mapping with no shape (-1: the scanner did not remember its line) is only added.
    public mutating func visit(_ mapping: Mapping, shape: Int) {
        if visitAgain(shape: shape) { return }
        let added = tally.added(mapping)
        mapping.nodePages.withUnsafeBufferPointer { nodes in
            tally.apply(added, nodes)
            keep(shape, added, nodes)
        }
    }

    /// A shape's first line as added, in its slot, for its repeats, once the repeats of the
    /// shape the slot held are added (sums saturate, so in any order they come to the same);
    /// nothing for a line with no shape. Its own copy of the node counts: sharing the
    /// scanner's array would make the scanner copy it when it parses the next line into that
    /// storage.
    private mutating func keep(_ shape: Int, _ added: MemoryTally.Added, _ nodes: UnsafeBufferPointer<Mapping.NodePages>) {
        guard shape >= 0 else { return }
        let index = shape & (Self.slots - 1)
        settle(index)
        slots.withUnsafeMutableBufferPointer { slots in
            slots[index].shape = shape
            slots[index].added = added
            slots[index].nodes.removeAllKeepingStorage()
            for entry in nodes { slots[index].nodes.append(entry) }
        }
    }

    public static var takesSummaries: Bool { true }

    /// The same for a line the scanner read as a summary (no `Mapping` built).
    public mutating func visit(_ summary: NumaMapsLineSummary, nodes: UnsafeBufferPointer<Mapping.NodePages>, policy: () -> MemoryPolicy, shape: Int) {
        if visitAgain(shape: shape) { return }
        let spelling = summary.spelling, kept = usageBySpelling.indices.contains(spelling)
        let added: MemoryTally.Added
        if kept, summary.serial >= 0, serialBySpelling[spelling] == summary.serial {
            added = MemoryTally.Added(policy: usageBySpelling[spelling], category: summary.category,
                                      backing: summary.backing, pageBytes: summary.pageBytes)
        } else {
            added = tally.added(policy: policy(), known: kept ? usageBySpelling[spelling] : -1, category: summary.category,
                                backing: summary.backing, pageBytes: summary.pageBytes)
            if kept {
                usageBySpelling[spelling] = added.policy
                serialBySpelling[spelling] = summary.serial
            }
        }
        tally.apply(added, nodes)
        keep(shape, added, nodes)
    }

    /// A repeat of a shape still in its slot is counted; any other is handed over by `visit`
    /// (as is a line with no shape: an empty slot's shape is -1 too).
    public mutating func visitAgain(shape: Int) -> Bool {
        let index = shape & (Self.slots - 1)
        guard shape >= 0, slots[index].shape == shape else { return false }
        slots[index].pending += 1
        return true
    }

    /// The tally of every mapping added, repeats included.
    public mutating func settled() -> MemoryTally {
        for index in 0..<Self.slots { settle(index) }
        return tally
    }

    private mutating func settle(_ index: Int) {
        guard slots[index].pending > 0 else { return }
        let (added, times) = (slots[index].added, slots[index].pending)
        slots[index].nodes.withUnsafeBufferPointer { nodes in tally.apply(added, nodes, times: times) }
        slots[index].pending = 0
    }
}
