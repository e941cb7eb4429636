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
    /// Bytes of each kept spelling; -1 for a slot not used yet, and for `unkept`.
    private var lengths = [Int](repeating: -1, count: NumaMapsPolicySpellings.kept + 1)
    private var policies = [MemoryPolicy](repeating: .default, count: NumaMapsPolicySpellings.kept + 1)
    private var identities = [MemoryPolicy.Identity](repeating: MemoryPolicy.default.identity, count: NumaMapsPolicySpellings.kept + 1)
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

    /// The length of the last spelling when the bytes at `at` are that spelling as a whole
    /// token (a space or `end` follows it).
    @inline(__always)
    mutating func lastLength(_ line: UnsafeBufferPointer<UInt8>, _ at: Int, _ end: Int) -> Int? {
        let length = lengths[last]
        guard length > 0, end - at >= length, at + length == end || line[at + length] == 0x20,
              let base = line.baseAddress, isSpelling(last, base + at, length) else { return nil }
        return length
    }

    /// Makes the policy spelled by the `end - start` bytes at `start` the last one: one of the
    /// kept spellings, else the one parsed before for it, else parsed (and kept). Errors are those of
    /// `MemoryPolicy.parse`, and too many distinct spellings.
    mutating func read(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) {
        let length = end - start
        guard let base = line.baseAddress else { return }
        if length <= Self.longest {
            for slot in 0..<Self.kept where isSpelling(slot, base + start, length) {
                last = slot
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
        // `weighted interleave`: kept, they would be matched by `lastLength` on such a line.
        if length <= Self.longest, spelling != "prefer", spelling != "weighted" {
            let slot = nextSlot
            bytes.withUnsafeMutableBufferPointer { stored in
                if let first = stored.baseAddress { memcpy(first + slot * Self.longest, base + start, length) }
            }
            lengths[slot] = length
            nextSlot = (slot + 1) % Self.kept
            set(slot, policy)
        } else {
            set(Self.unkept, policy)
        }
    }

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
        guard lengths[slot] == length else { return false }
        return bytes.withUnsafeBufferPointer { stored in
            stored.baseAddress.map { memcmp($0 + slot * Self.longest, spelling, length) == 0 } ?? false
        }
    }
}
