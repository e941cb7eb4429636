#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a `NumaMapsScanner` remembers of the lines it parsed, so that a line repeating one of
/// them after its address is not parsed again.
///
/// Kept: the bytes after the address of the last `recentLines + 1` distinct lines remembered
/// (every line parsed, but while a tally's scanner probes: `NumaMapsScanner.parseLine`; each
/// at most `longestRememberedTail` bytes, in one fixed buffer: a bound on what a hostile file
/// can make the scanner hold), the shape number each was given, and, when the scanner's
/// visitor may want a repeat's whole mapping, those lines' mappings.
///
/// Mappings move between the last line, the recent ones and the one being parsed by `swap`,
/// which moves their arrays and strings without retaining them. A tally takes every repeat by
/// its shape, so a scanner for one keeps no mappings at all and moves nothing: the line being
/// parsed is the one handed over.
struct NumaMapsRecentLines {
    /// What identifies a parsed line: its shape, and where its bytes after the address are
    /// kept (`tails`, `longestRememberedTail` bytes a region; a count of -1: nothing kept).
    struct Key {
        var shape = -1
        var tailCount = -1
        var region: Int
    }

    private static let recentLines = NumaMapsScanner.recentLines
    private static let longestTail = NumaMapsScanner.longestRememberedTail

    /// False: only keys and bytes are kept, and a repeat the visitor will not take by its shape
    /// has to be parsed again.
    let keepsMappings: Bool
    /// The line last parsed or brought forward (compared first: runs of alike lines); its
    /// mapping only when `keepsMappings`.
    private(set) var last = Mapping(address: 0, policy: .default)
    private(set) var lastKey = Key(region: 0)
    /// The `recentLines` before it, keys apart from mappings so the search touches no reference.
    private var recent: [Mapping]
    private var recentKeys = (1...NumaMapsRecentLines.recentLines).map { Key(region: $0) }
    /// The region the line being parsed will be kept in.
    private var spareKey = Key(region: NumaMapsRecentLines.recentLines + 1)
    private var tails = [UInt8](repeating: 0, count: (NumaMapsRecentLines.recentLines + 2) * NumaMapsRecentLines.longestTail)
    /// The slot of `recent` a newly parsed line's predecessor takes (oldest first).
    private var nextSlot = 0
    private var shapeCount = 0

    init(keepsMappings: Bool) {
        self.keepsMappings = keepsMappings
        recent = keepsMappings ? Array(repeating: Mapping(address: 0, policy: .default), count: Self.recentLines) : []
    }

    /// Bytes kept after the last line's address, or -1.
    var lastTailCount: Int { lastKey.tailCount }

    /// Whether the `count` bytes at `line` are those after the last line's address.
    @inline(__always)
    mutating func isLastTail(_ line: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let key = lastKey
        return tails.withUnsafeBufferPointer { tails in tails.baseAddress.map { Self.isTail(of: key, $0, line, count) } ?? false }
    }

    /// The remembered line whose bytes after the address are the `count` bytes at `line`: its
    /// slot among the recent lines (keys, with mappings in `recent` when kept), or -1 for the
    /// last line (compared last: the scanner tried it first,
    /// for all but lines it could not check that way, e.g. shorter than 16 bytes).
    /// (Mutating only so that it is passed by reference, as the scanner's helpers are.)
    mutating func slot(of line: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        guard count <= Self.longestTail else { return nil }
        let last = lastKey
        return tails.withUnsafeBufferPointer { tails in
            recentKeys.withUnsafeBufferPointer { keys in
                guard let stored = tails.baseAddress else { return nil }
                for slot in keys.indices where Self.isTail(of: keys[slot], stored, line, count) { return slot }
                return Self.isTail(of: last, stored, line, count) ? -1 : nil
            }
        }
    }

    /// Which shape followed a shape last time, by the shape's low four bits, beside the shape
    /// itself (a stale entry names another): what the scanner expects next after a repeat
    /// (`NumaMapsScanner.takeCycle`). Only the last `recentLines + 2` shapes numbered are
    /// remembered, consecutive numbers, so theirs never share an entry.
    private var followed = [Int](repeating: -1, count: 16)
    private var followers = [Int](repeating: -1, count: 16)

    /// The line of `next` came right after a line of `shape`.
    mutating func follow(_ shape: Int, by next: Int) {
        followed[shape & 15] = shape
        followers[shape & 15] = next
    }

    /// The shape that came after `shape` last time, if recorded.
    func follower(of shape: Int) -> Int? {
        followed[shape & 15] == shape ? followers[shape & 15] : nil
    }

    /// The key of the remembered line of `shape`, nil when no remembered line has it now.
    func key(ofShape shape: Int) -> Key? {
        if lastKey.shape == shape { return lastKey }
        for key in recentKeys where key.shape == shape { return key }
        return nil
    }

    /// Whether the `count` bytes at `line` are the bytes kept for `key`.
    @inline(__always)
    mutating func isTail(_ key: Key, _ line: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        tails.withUnsafeBufferPointer { tails in tails.baseAddress.map { Self.isTail(of: key, $0, line, count) } ?? false }
    }

    /// The shape of the line in `slot` (-1: the last line).
    func shape(ofSlot slot: Int) -> Int {
        slot < 0 ? lastKey.shape : recentKeys[slot].shape
    }

    /// Makes the line in `slot` the last one, at `address` (only when `keepsMappings`).
    mutating func bringForward(_ slot: Int, address: UInt64) {
        precondition(keepsMappings, "a scanner that keeps no mappings has none to bring forward")
        if slot >= 0 {
            swap(&last, &recent[slot])
            swap(&lastKey, &recentKeys[slot])
        }
        last.address = address
    }

    /// Remembers a line just parsed into `parsed` whose bytes after the address are the `count`
    /// at `line`: it gets a new shape (returned) and, when short enough, those bytes are kept.
    /// When `keepsMappings`, `parsed` becomes the last line, the line before it takes the oldest
    /// recent line's place, and `parsed` is left with that one's storage to reuse.
    mutating func remember(_ parsed: inout Mapping, _ line: UnsafePointer<UInt8>, _ count: Int) -> Int {
        let shape = shapeCount
        spareKey.shape = shape
        shapeCount += 1
        if count <= Self.longestTail {
            let offset = spareKey.region * Self.longestTail
            tails.withUnsafeMutableBufferPointer { tails in
                if let stored = tails.baseAddress { memcpy(stored + offset, line, count) }
            }
            spareKey.tailCount = count
        } else {
            spareKey.tailCount = -1
        }
        if keepsMappings {
            swap(&recent[nextSlot], &last)
            swap(&last, &parsed)
        }
        swap(&recentKeys[nextSlot], &lastKey)
        swap(&lastKey, &spareKey)
        nextSlot = (nextSlot + 1) % Self.recentLines
        return shape
    }

    /// The last line is no longer the line before the next one (a line was parsed and not
    /// remembered): it is no longer compared as the last line, and leaves the recent ones at
    /// the next `remember`. (Compared still, it found lines further back than the window.)
    mutating func forgetLast() {
        lastKey.tailCount = -1
    }

    @inline(__always)
    private static func isTail(of key: Key, _ tails: UnsafePointer<UInt8>, _ line: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        key.tailCount == count && memcmp(tails + key.region * longestTail, line, count) == 0
    }
}
