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

    public init() {
        assert(Self.slots > NumaMapsScanner.recentLines && Self.slots & (Self.slots - 1) == 0)
    }

    /// Adds a mapping the scanner gave with `shape`: the first of a shape is classified and
    /// added (so policies are listed in the order first seen), its repeats are counted.
    public mutating func visit(_ mapping: Mapping, shape: Int) {
        let index = shape & (Self.slots - 1)
        if slots[index].shape == shape {
            slots[index].pending += 1
            return
        }
        settle(index)
        let added = tally.added(mapping)
        tally.apply(added, mapping.nodePages)
        slots.withUnsafeMutableBufferPointer { slots in
            slots[index].shape = shape
            slots[index].added = added
            // Its own copy of the node counts: sharing the scanner's array would make the
            // scanner copy it when it parses the next line into that storage.
            slots[index].nodes.removeAllKeepingStorage()
            for entry in mapping.nodePages { slots[index].nodes.append(entry) }
        }
    }

    /// A repeat of a shape still in its slot is counted; any other is handed over by `visit`.
    public mutating func visitAgain(shape: Int) -> Bool {
        let index = shape & (Self.slots - 1)
        guard slots[index].shape == shape else { return false }
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
        tally.apply(slots[index].added, slots[index].nodes, times: slots[index].pending)
        slots[index].pending = 0
    }
}
