/// Sums a numa_maps as `NumaMapsScanner` hands it over, mapping by mapping with its shape.
///
/// Most lines of a large numa_maps are a recent line again at a new address (the scanner says
/// so with the same shape), and then there is nothing to classify or add that was not added
/// before: the builder counts such a repeat and adds all repeats of a shape at once, as one
/// product, when the shape leaves its slot or the tally is asked for. Adding one at a time
/// was most of what inspect spent on a line that repeats. A line of a new shape whose bytes
/// go where a recent line's went (the same policy, category, backing and page size) has its
/// pages added to that line's, on the first `MemoryTallyBuilder.batchNodes` nodes, and the
/// sums go into the tally together (`Batch`). Sums saturate, and every count the scanner
/// gives is at least zero, so a product of repeats or a sum of pages saturates where adding
/// them one by one would: the tally is the same as `MemoryTally.add` of every mapping
/// (NumaMapsRepeatTests, the parsers fuzzer).
///
/// Everything a line touches is held in place (`InlineArray`): an array here was checked
/// for uniqueness at every line, several times over.
///
/// Shapes must all come from one scanner; only the tally (`settled()`) is read, so no figure
/// can be taken while repeats or pages are still being counted.
public struct MemoryTallyBuilder: NumaMapsVisitor {
    private var tally = MemoryTally()
    /// Slots by the low bits of a shape. The scanner numbers shapes in order and keeps
    /// `recentLines + 1` lines, so a power of two above that many never makes two of them
    /// collide (a collision would only add that shape's repeats early and classify it again).
    private static let slots = 16
    /// A shape's first mapping as added (where its bytes go, its node counts) and its repeats
    /// counted but not yet added. Up to four node counts in place, more in `more`.
    private struct Slot {
        var shape = -1
        var added = MemoryTally.Added()
        var count = 0
        var nodes = InlineArray<4, Mapping.NodePages>(repeating: .init(node: 0, pages: 0))
        var more: [Mapping.NodePages] = []
        var pending = 0
    }
    private var slots = InlineArray<16, Slot>(repeating: Slot())

    /// Pages of lines whose bytes go to the same place, summed per node before they are
    /// added (`pend`), by the low bits of the tally's policy index. `added.policy` -1: empty.
    private struct Batch {
        var added = MemoryTally.Added(policy: -1, category: 0, backing: 0, pageBytes: 0)
        var mappings = 0
        /// The highest node any of its lines named (-1: none), and each node's pages.
        var highest = -1
        var pages = InlineArray<8, Int>(repeating: 0)
    }
    /// Nodes a batch sums; a line naming another is added to the tally as it comes.
    static let batchNodes = 8
    private var batches = InlineArray<8, Batch>(repeating: Batch())

    /// The tally's policy index last found for each of the scanner's kept policy spellings,
    /// and that spelling's serial: a line whose spelling has the serial takes the index with
    /// no compare (one spelling is one policy); any other finds it by the policy's identity,
    /// the slot's index first (a process with a few policies in turn finds each so).
    private var usageBySpelling = InlineArray<16, Int>(repeating: -1)
    private var serialBySpelling = InlineArray<16, Int>(repeating: -1)

    public init() {
        assert(Self.slots > NumaMapsScanner.recentLines && Self.slots & (Self.slots - 1) == 0)
        assert(NumaMapsPolicySpellings.kept <= usageBySpelling.count && Self.batchNodes == Batch().pages.count)
    }

    /// Adds a mapping the scanner gave with `shape`: the first of a shape is classified and
    /// added (so policies are listed in the order first seen), its repeats are counted. A
    /// mapping with no shape (-1: the scanner did not remember its line) is only added.
    public mutating func visit(_ mapping: Mapping, shape: Int) {
        if visitAgain(shape: shape) { return }
        let added = tally.added(mapping)
        mapping.nodePages.withUnsafeBufferPointer { nodes in
            pend(added, nodes)
            keep(shape, added, nodes)
        }
    }

    public static var takesSummaries: Bool { true }

    /// The same for a line the scanner read as a summary (no `Mapping` built).
    public mutating func visit(_ summary: NumaMapsLineSummary, nodes: UnsafeBufferPointer<Mapping.NodePages>, policy: () -> MemoryPolicy, shape: Int) {
        if visitAgain(shape: shape) { return }
        let spelling = summary.spelling, kept = spelling >= 0 && spelling < usageBySpelling.count
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
        pend(added, nodes)
        keep(shape, added, nodes)
    }

    /// A repeat of a shape still in its slot is counted; any other is handed over by `visit`
    /// (as is a line with no shape: an empty slot's shape is -1 too).
    public mutating func visitAgain(shape: Int) -> Bool {
        let index = shape & (Self.slots - 1)
        guard shape >= 0, slots[index].shape == shape else { return false }
        slots[index].pending &+= 1
        return true
    }

    /// The tally of every mapping added, repeats included.
    public mutating func settled() -> MemoryTally {
        for index in 0..<Self.slots { settle(index) }
        for index in batches.indices { flush(index) }
        return tally
    }

    /// Adds one mapping's pages: to its batch when every node it names is one a batch sums,
    /// else to the tally.
    private mutating func pend(_ added: MemoryTally.Added, _ nodes: UnsafeBufferPointer<Mapping.NodePages>) {
        // (Index loops: an iterator over the buffer was not optimized away here.)
        var position = 0
        while position < nodes.count {
            let node = nodes[position].node
            guard node >= 0, node < Self.batchNodes else {
                tally.apply(added, nodes)
                return
            }
            position &+= 1
        }
        let index = added.policy & (batches.count - 1)
        if batches[index].added != added {
            flush(index)
            batches[index].added = added
        }
        batches[index].mappings &+= 1
        position = 0
        while position < nodes.count {
            let entry = nodes[position]
            batches[index].pages[entry.node] = KernelArithmetic.sum(batches[index].pages[entry.node], entry.pages)
            if entry.node > batches[index].highest { batches[index].highest = entry.node }
            position &+= 1
        }
    }

    /// Adds a batch's mappings and pages to the tally, and empties it. Every node up to the
    /// highest its lines named is handed over, so the tally's nodes grow as those lines'
    /// would have made them (a node with no pages adds nothing).
    private mutating func flush(_ index: Int) {
        let batch = batches[index]
        guard batch.added.policy >= 0, batch.mappings > 0 else { return }
        var nodes = InlineArray<8, Mapping.NodePages>(repeating: .init(node: 0, pages: 0))
        for node in 0..<(batch.highest + 1) { nodes[node] = .init(node: node, pages: batch.pages[node]) }
        nodes.span.withUnsafeBufferPointer { all in
            tally.apply(batch.added, UnsafeBufferPointer(rebasing: all[0..<(batch.highest + 1)]), mappings: batch.mappings)
        }
        batches[index] = Batch()
    }

    /// A shape's first line as added, in its slot, for its repeats, once the repeats of the
    /// shape the slot held are added (sums saturate, so in any order they come to the same);
    /// nothing for a line with no shape. Its own copy of the node counts: the scanner's are
    /// overwritten by the next line.
    private mutating func keep(_ shape: Int, _ added: MemoryTally.Added, _ nodes: UnsafeBufferPointer<Mapping.NodePages>) {
        guard shape >= 0 else { return }
        let index = shape & (Self.slots - 1)
        settle(index)
        slots[index].shape = shape
        slots[index].added = added
        slots[index].count = nodes.count
        if nodes.count <= slots[index].nodes.count {
            var position = 0
            while position < nodes.count {
                slots[index].nodes[position] = nodes[position]
                position &+= 1
            }
            if !slots[index].more.isEmpty { slots[index].more = [] }
        } else {
            slots[index].more = Array(nodes)
        }
    }

    private mutating func settle(_ index: Int) {
        let times = slots[index].pending
        guard times > 0 else { return }
        let (added, count) = (slots[index].added, slots[index].count)
        if count <= slots[index].nodes.count {
            let nodes = slots[index].nodes
            nodes.span.withUnsafeBufferPointer { all in
                tally.apply(added, UnsafeBufferPointer(rebasing: all[0..<count]), times: times)
            }
        } else {
            let more = slots[index].more
            more.withUnsafeBufferPointer { tally.apply(added, $0, times: times) }
        }
        slots[index].pending = 0
    }
}
