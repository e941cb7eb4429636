import NumaguardHost

/// Ascending values read by rank: what the quantiles, the worst-1% count and the bootstrap
/// need, whether the values are in memory (`[Double]`, never failing) or in a scratch file
/// (`SortedColumn`, whose reads can fail and say so).
public protocol RankedValues {
    associatedtype Failure: Error
    var count: Int { get }
    func value(at rank: Int) throws(Failure) -> Double
}

extension Array: RankedValues where Element == Double {
    public typealias Failure = Never
    public func value(at rank: Int) -> Double { self[rank] }
}

/// One group's sorted values: a range of an array, or of a scratch file read a block at a
/// time (up to 4 KiB: a sequential walk, forwards or backwards, reads each block once; a
/// random read, as the bootstrap's, costs one pread).
public final class SortedColumn: RankedValues {
    enum Backing {
        case memory([Double])
        case file(ScratchFile)
    }

    static let blockValues = 512

    /// Block size for `columns` columns read at once (the worst-1% heap reads every group's
    /// top, a merge every input's head): 4 MiB of blocks in all, 512 B to 4 KiB each, so ten
    /// thousand segments do not hold 160 MiB of blocks.
    static func blockValues(sharing columns: Int) -> Int {
        min(blockValues, max(64, (4 << 20) / 8 / max(columns, 1)))
    }

    let backing: Backing
    let blockValues: Int
    /// Index of the column's first value in the backing.
    let start: Int
    public let count: Int
    private var block: [Double] = []
    private var blockStart = -1

    init(_ backing: Backing, start: Int, count: Int, blockValues: Int = SortedColumn.blockValues) {
        self.backing = backing
        self.start = start
        self.count = count
        self.blockValues = blockValues
    }

    static var empty: SortedColumn { SortedColumn(.memory([]), start: 0, count: 0) }

    public func value(at rank: Int) throws(AttributionError) -> Double {
        guard rank >= 0, rank < count else { throw AttributionError.scratchRange(rank, count) }
        switch backing {
        case let .memory(values):
            return values[start + rank]
        case let .file(file):
            let first = rank - rank % blockValues
            if blockStart != first {
                let length = min(blockValues, count - first)
                if block.count != length { block = [Double](repeating: 0, count: length) }
                do {
                    try file.read(at: (start + first) * MemoryLayout<Double>.stride, into: &block)
                } catch {
                    blockStart = -1
                    throw AttributionError.scratch(error)
                }
                blockStart = first
            }
            return block[rank - first]
        }
    }
}

/// Where `attribute` keeps joined values beyond what it holds in memory, and how much it holds.
public struct SpillSettings: Sendable {
    /// Values held in memory before they are sorted and written out as a run: 1 Mi values,
    /// 12 MiB with their groups. A join of at most this many rows never touches the disk.
    public static let defaultChunkRows = 1 << 20

    /// The directory scratch files are made in (unnamed, O_TMPFILE).
    public var directory: String
    public var chunkRows: Int

    public init(directory: String = "/var/tmp", chunkRows: Int = defaultChunkRows) {
        self.directory = directory
        self.chunkRows = max(chunkRows, 1)
    }
}

extension AttributionError {
    /// A scratch file could not be made, written or read: the message names the directory
    /// and the errno, so the operator can point --scratch-dir elsewhere.
    static func scratch(_ error: SystemCallError) -> AttributionError {
        AttributionError(.scratch, file: error.subject, "\(error.call): \(error.errno) (attribute keeps sorted values there; "
                         + "give --scratch-dir a local directory with room: about 32 bytes per joined row)")
    }

    static func scratchRange(_ rank: Int, _ count: Int) -> AttributionError {
        AttributionError(.scratch, file: "scratch column", "rank \(rank) of \(count) values: an internal error")
    }
}
