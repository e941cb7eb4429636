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
    private var shapeOfSlot = [Int](repeating: -1, count: MemoryTallyBuilder.slots)
    private var addedForShape = [MemoryTally.Added](repeating: MemoryTally.Added(), count: MemoryTallyBuilder.slots)
    private var nodesForShape = [[Mapping.NodePages]](repeating: [], count: MemoryTallyBuilder.slots)
    /// Repeats of each slot's shape counted but not yet added.
    private var pending = [Int](repeating: 0, count: MemoryTallyBuilder.slots)

    public init() {
        assert(Self.slots > NumaMapsScanner.recentLines && Self.slots & (Self.slots - 1) == 0)
    }

    /// Adds a mapping the scanner gave with `shape`: the first of a shape is classified and
    /// added (so policies are listed in the order first seen), its repeats are counted.
    public mutating func visit(_ mapping: Mapping, shape: Int) {
        let index = shape & (Self.slots - 1)
        if shapeOfSlot[index] == shape {
            pending[index] += 1
            return
        }
        settle(index)
        let added = tally.added(mapping)
        tally.apply(added, mapping.nodePages)
        shapeOfSlot[index] = shape
        addedForShape[index] = added
        // Its own copy of the node counts: sharing the scanner's array would make the scanner
        // copy it when it parses the next line into that storage.
        // (removeLast, not removeAll: no generic replaceSubrange for a line's one or two nodes.)
        while !nodesForShape[index].isEmpty { nodesForShape[index].removeLast() }
        for entry in mapping.nodePages { nodesForShape[index].append(entry) }
    }

    /// A repeat of a shape still in its slot is counted; any other is handed over by `visit`.
    public mutating func visitAgain(shape: Int) -> Bool {
        let index = shape & (Self.slots - 1)
        guard shapeOfSlot[index] == shape else { return false }
        pending[index] += 1
        return true
    }

    /// The tally of every mapping added, repeats included.
    public mutating func settled() -> MemoryTally {
        for index in 0..<Self.slots { settle(index) }
        return tally
    }

    private mutating func settle(_ index: Int) {
        guard pending[index] > 0 else { return }
        tally.apply(addedForShape[index], nodesForShape[index], times: pending[index])
        pending[index] = 0
    }
}
