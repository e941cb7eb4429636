#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The memory policies a `NumaMapsScanner` has read, by spelling.
///
/// Consecutive lines almost always share a policy, and a process has few: the last
/// `kept` spellings are kept as bytes in one fixed buffer, so a line spelling its policy as
/// one of them takes that value after a byte compare, with no String, hash or retain. Every
/// distinct spelling is also kept with its policy (at most `NumaMapsScanner.maximumPolicies`
/// of them: a bound on what one file can make a scanner hold), so each is parsed once and a
/// spelling always gives the same value, whose node set's storage a tally recognises
/// (`MemoryPolicy.identity`) without comparing nodes.
struct NumaMapsPolicySpellings {
    static let kept = NumaMapsScanner.recentLines + 1
    /// Longer spellings (node lists of many nodes) are looked up by hashing every time.
    static let longest = 64

    /// The last slot (`unkept`) holds a policy whose spelling is not kept: never matched.
    private static let unkept = kept
    private var bytes = [UInt8](repeating: 0, count: NumaMapsPolicySpellings.kept * NumaMapsPolicySpellings.longest)
    private var policies = [MemoryPolicy](repeating: .default, count: NumaMapsPolicySpellings.kept + 1)
    private var identities = [MemoryPolicy.Identity](repeating: MemoryPolicy.default.identity, count: NumaMapsPolicySpellings.kept + 1)
    /// Each kept spelling's length (-1 for a slot not used yet, and for `unkept`) and first 16
    /// bytes as two little-endian words, zero past its length, with the masks that select
    /// those bytes: what `tokenLength` compares, in place (an array here was a bounds check
    /// per word).
    private struct Head {
        var length = -1
        var first: UInt64 = 0
        var second: UInt64 = 0
        var firstMask: UInt64 = 0
        var secondMask: UInt64 = 0
    }
    private var heads = InlineArray<16, Head>(repeating: Head())
    /// The slot whose spelling was read after each slot's last time (-1: none yet), and
    /// whether the last spelling read was another than the one before it.
    private var followers = InlineArray<16, Int>(repeating: -1)
    private var changed = false
    /// `lastSerial` of each slot, and the last one given.
    private var serials = [Int](repeating: -1, count: NumaMapsPolicySpellings.kept + 1)
    private var serial = -1
    /// The slot of the spelling last read, and the one a new spelling takes next.
    private var last = 0
    private var nextSlot = 0
    /// Every distinct spelling parsed, with its policy: searched while there are few (a
    /// process has a handful), then through `parsedIndex`. A `[String: ...]` alone was a tenth
    /// of a small inspect: the static front builds such a dictionary's type, and looks up
    /// String's hashing, at its first use.
    private var parsedSpellings: [String] = []
    private var parsedPolicies: [MemoryPolicy] = []
    private var parsedIndex: [String: Int] = [:]
    private static let linearSpellings = 16

    init() {
        assert(Self.kept + 1 <= heads.count && Self.kept + 1 <= followers.count)
    }

    /// The length of a kept spelling the bytes at `at` are as a whole token (a space or `end`
    /// follows it), which becomes the last one read: the last spelling and the one read after
    /// it last time (a process whose mappings take a few policies in turn, as the bench's
    /// distinct victim), the follower first when the last line's policy was not the one
    /// before it; then the others. A kept spelling is found so where `read` would find it:
    /// only `prefer (many)` and `weighted interleave` put a space inside a spelling, and their
    /// first words alone (`prefer`, `weighted`) are never kept.
    @inline(__always)
    mutating func keptLength(_ line: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int) -> Int? {
        let last = last
        if changed {
            let predicted = followers[last]
            if predicted >= 0, let length = tokenLength(predicted, line, at, end) {
                self.last = predicted
                return length
            }
        }
        if let length = tokenLength(last, line, at, end) {
            changed = false
            return length
        }
        return otherKeptLength(line, at, end, after: last)
    }

    @inline(never)
    private mutating func otherKeptLength(_ line: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int, after previous: Int) -> Int? {
        let predicted = followers[previous]
        if !changed, predicted >= 0, let length = tokenLength(predicted, line, at, end) {
            last = predicted
            changed = true
            return length
        }
        for slot in 0..<Self.kept where slot != previous && slot != predicted {
            if let length = tokenLength(slot, line, at, end) {
                followed(previous, by: slot)
                return length
            }
        }
        return nil
    }

    /// `slot`'s spelling was read after `previous`'s, and is now the last one.
    private mutating func followed(_ previous: Int, by slot: Int) {
        if previous != slot { followers[previous] = slot }
        changed = previous != slot
        last = slot
    }

    /// The length of the spelling kept in `slot` when the bytes at `at` are it as a whole
    /// token. A spelling of 16 bytes or fewer (all but long node lists) is compared as two
    /// words, its first 16 bytes masked to its length (`heads`), when the line has 16 bytes
    /// from `at`; any other by its stored bytes.
    @inline(__always)
    private mutating func tokenLength(_ slot: Int, _ line: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int) -> Int? {
        let head = heads[slot]
        let length = head.length
        guard length > 0, end - at >= length, let base = line.baseAddress else { return nil }
        if length <= 16, line.count - at >= 16 {
            let raw = UnsafeRawPointer(base + at)
            guard UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) & head.firstMask == head.first,
                  UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) & head.secondMask == head.second
            else { return nil }
        } else if !isSpelling(slot, base + at, length) {
            return nil
        }
        return at + length == end || base[at + length] == 0x20 ? length : nil
    }

    /// Makes the policy spelled by the `end - start` bytes at `start` the last one: one of the
    /// kept spellings, else the one parsed before for it, else parsed (and kept). Errors are those of
    /// `MemoryPolicy.parse`, and too many distinct spellings.
    mutating func read(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) {
        let length = end - start
        guard let base = line.baseAddress else { return }
        if length <= Self.longest {
            for slot in 0..<Self.kept where isSpelling(slot, base + start, length) {
                followed(last, by: slot)
                return
            }
        }
        let spelling = String(decoding: UnsafeBufferPointer(start: base + start, count: length), as: UTF8.self)
        let policy: MemoryPolicy
        let known = parsedSpellings.count <= Self.linearSpellings ? parsedSpellings.firstIndex(of: spelling) : parsedIndex[spelling]
        if let known {
            policy = parsedPolicies[known]
        } else {
            // A process with more distinct policies than this is not a real workload (a captured
            // tree can be anything).
            guard parsedSpellings.count < NumaMapsScanner.maximumPolicies else {
                throw ParseError(what: "memory policy", input: spelling, column: 1,
                                 reason: "more than \(NumaMapsScanner.maximumPolicies) distinct memory policies in one numa_maps")
            }
            policy = try MemoryPolicy.parse(spelling)
            parsedSpellings.append(spelling)
            parsedPolicies.append(policy)
            if parsedSpellings.count > Self.linearSpellings {
                // The first time past the bound, every spelling so far; after, the new one.
                let last = parsedSpellings.count - 1
                for index in (parsedSpellings.count == Self.linearSpellings + 1 ? 0 : last)...last {
                    parsedIndex[parsedSpellings[index]] = index
                }
            }
        }
        // `prefer` and `weighted` alone begin the two-word spellings `prefer (many)` and
        // `weighted interleave`: kept, they would be matched by `keptLength` on such a line.
        let previous = last
        if length <= Self.longest, spelling != "prefer", spelling != "weighted" {
            let slot = nextSlot
            // The stored spelling's first 16 bytes as two words (its slot holds `longest`),
            // masked to the spelling (`tokenLength`): what a longer one left there is cleared.
            let words = bytes.withUnsafeMutableBufferPointer { stored -> (UInt64, UInt64) in
                guard let first = stored.baseAddress else { return (0, 0) }
                memcpy(first + slot * Self.longest, base + start, length)
                let raw = UnsafeRawPointer(first + slot * Self.longest)
                return (UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)), UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            let (firstMask, secondMask) = HexAddress.masks(length)
            heads[slot] = Head(length: length, first: words.0 & firstMask, second: words.1 & secondMask, firstMask: firstMask, secondMask: secondMask)
            // No slot is followed by a spelling that has left it, nor is this one yet by any.
            for index in followers.indices where followers[index] == slot { followers[index] = -1 }
            followers[slot] = -1
            nextSlot = (slot + 1) % Self.kept
            set(slot, policy)
            serial += 1
            serials[slot] = serial
        } else {
            set(Self.unkept, policy)
        }
        if previous != last { followers[previous] = last }
        changed = previous != last
    }

    /// A number told apart from every other spelling this scanner has kept, for the last
    /// policy read (-1: a spelling not kept): a tally that found a policy's place for it can
    /// take that place again without comparing policies (`MemoryTallyBuilder`).
    var lastSerial: Int { last == Self.unkept ? -1 : serials[last] }

    /// The last policy read.
    var lastPolicy: MemoryPolicy { policies[last] }

    /// Which kept spelling the last policy read was (0 to `kept - 1`), or -1 for one not kept:
    /// a tally remembers the policy's place by it (`NumaMapsLineSummary.spelling`).
    var lastSlot: Int { last == Self.unkept ? -1 : last }

    /// The last policy read; `mapping` (an earlier line's storage) usually holds it already.
    @inline(__always)
    mutating func setLast(in mapping: inout Mapping) {
        if mapping.policy.identity != identities[last] { mapping.policy = policies[last] }
    }

    private mutating func set(_ slot: Int, _ policy: MemoryPolicy) {
        policies[slot] = policy
        identities[slot] = policy.identity
        last = slot
    }

    @inline(__always)
    private mutating func isSpelling(_ slot: Int, _ spelling: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        guard heads[slot].length == length else { return false }
        return bytes.withUnsafeBufferPointer { stored in
            stored.baseAddress.map { memcmp($0 + slot * Self.longest, spelling, length) == 0 } ?? false
        }
    }
}
