/// A set of small non-negative integers: CPU numbers or NUMA node numbers.
///
/// The kernel speaks of both in two spellings, lists (`0-3,8`) and hex masks
/// (`00000000,0000000f`); one value type serves both so that a CPU set read from
/// `Cpus_allowed_list` compares equal to the same set read from a node's `cpumap`.
public struct IDSet: Hashable, Sendable, Sequence, CustomStringConvertible {
    /// Bit i of word i/64 is set when i is a member. Trailing zero words are trimmed,
    /// so equal sets have equal storage and synthesized equality holds.
    private var words: [UInt64]

    public init() { words = [] }

    /// Inlinable so each caller gets a specialized copy: unspecialized, it resolves the
    /// sequence's associated types at run time, a measurable share of a launch.
    @inlinable
    public init<S: Sequence>(_ members: S) where S.Element == Int {
        self.init()
        for member in members { insert(member) }
    }

    public var isEmpty: Bool { words.isEmpty }

    /// Whether the two share their storage, which makes them equal without comparing a word
    /// (a copy of a set shares it until either changes); false says nothing.
    public func sharesStorage(with other: IDSet) -> Bool {
        storageIdentity == other.storageIdentity
    }

    /// What `sharesStorage` compares, as a plain value holding no reference: comparing
    /// identities kept in an array retains nothing, where comparing the sets themselves
    /// retains each one loaded. Two sets with equal identities share storage only while both
    /// are alive (freed storage may be reused at the same address), so whoever keeps an
    /// identity keeps its set with it.
    public struct StorageIdentity: Hashable, Sendable {
        let address: UInt
        let count: Int
    }

    @inline(__always)
    public var storageIdentity: StorageIdentity {
        words.withUnsafeBufferPointer { StorageIdentity(address: UInt(bitPattern: $0.baseAddress), count: $0.count) }
    }

    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    public func contains(_ member: Int) -> Bool {
        guard member >= 0 else { return false }
        let word = member >> 6
        guard word < words.count else { return false }
        return words[word] & (1 << UInt64(member & 63)) != 0
    }

    public mutating func insert(_ member: Int) {
        precondition(member >= 0, "IDSet holds non-negative members only")
        let word = member >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word - words.count + 1)) }
        words[word] |= 1 << UInt64(member & 63)
    }

    public mutating func insert(range: ClosedRange<Int>) {
        for member in range { insert(member) }
    }

    public func union(_ other: IDSet) -> IDSet {
        var result = IDSet()
        result.words = (0..<Swift.max(words.count, other.words.count)).map { index in
            (index < words.count ? words[index] : 0) | (index < other.words.count ? other.words[index] : 0)
        }
        result.trim()
        return result
    }

    public func intersection(_ other: IDSet) -> IDSet {
        var result = IDSet()
        result.words = (0..<Swift.min(words.count, other.words.count)).map { words[$0] & other.words[$0] }
        result.trim()
        return result
    }

    public func subtracting(_ other: IDSet) -> IDSet {
        var result = IDSet()
        result.words = words.indices.map { index in
            words[index] & ~(index < other.words.count ? other.words[index] : 0)
        }
        result.trim()
        return result
    }

    public func isSubset(of other: IDSet) -> Bool { subtracting(other).isEmpty }

    /// The kernel's bitmap layout (cpumask, nodemask): 64-bit words, member i at bit i % 64
    /// of word i / 64, padded with zero words to `wordCount`. Members beyond it are dropped.
    public func bitmap(wordCount: Int) -> [UInt64] {
        (0..<wordCount).map { $0 < words.count ? words[$0] : 0 }
    }

    /// Reads a kernel bitmap written in the layout of `bitmap(wordCount:)`.
    public init(bitmap: [UInt64]) {
        words = bitmap
        trim()
    }

    public var members: [Int] { Array(self) }

    /// A concrete iterator rather than AnyIterator: no generic instantiation or boxing on
    /// the launch path, which is measured against numactl.
    public struct Iterator: IteratorProtocol {
        let words: [UInt64]
        var wordIndex = 0
        var current: UInt64

        public mutating func next() -> Int? {
            while wordIndex < words.count {
                if current != 0 {
                    let bit = current.trailingZeroBitCount
                    current &= current - 1
                    return wordIndex * 64 + bit
                }
                wordIndex += 1
                current = wordIndex < words.count ? words[wordIndex] : 0
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(words: words, current: words.first ?? 0) }

    /// The kernel's list spelling (`%*pbl`): ascending ranges, `""` for the empty set.
    public var listString: String {
        // Built in one String: `joined` on an array of parts ran unspecialized in the static
        // front, looking up its associated types at run time (5% of a small inspect).
        var text = ""
        func add(_ first: Int, _ last: Int) {
            if !text.isEmpty { text.append(",") }
            text.append(first == last ? "\(first)" : "\(first)-\(last)")
        }
        var start: Int?
        var previous = -2
        for member in self {
            if member != previous + 1 {
                if let start { add(start, previous) }
                start = member
            }
            previous = member
        }
        if let start { add(start, previous) }
        return text
    }

    public var description: String { listString }

    private mutating func trim() {
        while let last = words.last, last == 0 { words.removeLast() }
    }
}

extension IDSet: Codable {
    /// Encoded as the kernel's list spelling, which is what operators compare by eye.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try IDListParser.parse(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(listString)
    }
}
