/// numa_maps addresses read eight bytes at a time.
///
/// Every numa_maps line starts with its address in lowercase hex (`%08lx`: 12 digits for a
/// user mapping on x86-64), and reading them a byte at a time was a fifth of the parse of a
/// line. Here the first 16 bytes of the line are two 64-bit loads; the first space is found,
/// every byte before it checked to be a lowercase hex digit, and the digits turned into their
/// value with a few shifts and masks, all without a branch per byte. What this does not take
/// (a line shorter than 16 bytes, no space among them, any other byte before it) the scanner
/// reads digit by digit as before, which also says where such a line goes wrong.
enum HexAddress {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The address at `start` and its digit count (1 to 15), when a space follows it within
    /// the 16 bytes from `start` and those bytes lie inside the line (`start + 16 <= end`);
    /// nil otherwise.
    static func leading(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (value: UInt64, digits: Int)? {
        guard let (first, second, digits) = words(bytes, start, end) else { return nil }
        // 16 digit positions as one value; the bytes from the space on are shifted out.
        let value = (hex8(first) << 32 | hex8(second)) >> (4 * (16 - digits))
        return (value, digits)
    }

    /// The value of the `digits` bytes at `start` (1 to 16) when every one of them is a
    /// lowercase hex digit and the line has 16 bytes from `start` (`start + 16 <= end`); nil
    /// otherwise. For a line whose address ends where the scanner already knows (it repeats
    /// the last line after the address): no search for the space. `converting` false checks
    /// the digits and gives 0.
    @inline(__always)
    static func value(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, digits: Int, lineEnd end: Int, converting: Bool) -> UInt64? {
        guard digits > 0, digits <= 16, let (first, second) = load(bytes, start, end) else { return nil }
        let (firstMask, secondMask) = masks(digits)
        guard allHex(first, firstMask), allHex(second, secondMask) else { return nil }
        // The bytes after the digits cleared: a byte above 0x0F there would carry into the last
        // digit's nibble when `hex8` folds pairs (in `leading` the byte after is the space).
        return converting ? (hex8(first & firstMask) << 32 | hex8(second & secondMask)) >> (4 * (16 - digits)) : 0
    }

    /// Only the digit count of what `leading` takes, for a reader that needs the address checked
    /// but not its value (a tally): the conversion is most of the work. Inlined: a call cost
    /// a tenth of the check in `NumaMapsScanner.takeSummaries`'s loop.
    @inline(__always)
    static func digits(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
        words(bytes, start, end)?.digits
    }

    /// The line's first 16 bytes as two words and the digits before the first space, when
    /// every one of them is a lowercase hex digit.
    @inline(__always)
    private static func words(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (UInt64, UInt64, digits: Int)? {
        guard let (first, second) = load(bytes, start, end) else { return nil }
        // The first space: the lowest zero byte of word ^ spaces (a borrow can mark bytes above
        // it too, never below).
        let spaceInFirst = zeroBytes(first ^ (ones &* 0x20)), spaceInSecond = zeroBytes(second ^ (ones &* 0x20))
        let digits: Int
        if spaceInFirst != 0 {
            digits = spaceInFirst.trailingZeroBitCount / 8
        } else if spaceInSecond != 0 {
            digits = 8 + spaceInSecond.trailingZeroBitCount / 8
        } else {
            return nil
        }
        guard digits > 0, allHex(first, second, digits) else { return nil }
        return (first, second, digits)
    }

    /// The 16 bytes from `start` as two words, when they lie inside the line.
    @inline(__always)
    private static func load(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (UInt64, UInt64)? {
        guard end - start >= 16, start >= 0, end <= bytes.count, let base = bytes.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base + start)
        return (UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    /// Whether the first `digits` bytes (1 to 16) of the two words are lowercase hex digits.
    @inline(__always)
    private static func allHex(_ first: UInt64, _ second: UInt64, _ digits: Int) -> Bool {
        let (firstMask, secondMask) = masks(digits)
        return allHex(first, firstMask) && allHex(second, secondMask)
    }

    /// Which bytes of the two words are the `digits` (1 to 16) digits: all of the first word's
    /// when there are eight or more (all of both from 16 on). Also how a policy spelling's
    /// first bytes are compared (`NumaMapsPolicySpellings`).
    @inline(__always)
    static func masks(_ digits: Int) -> (UInt64, UInt64) {
        (digits >= 8 ? UInt64.max : (UInt64(1) << (8 * digits)) &- 1,
         digits <= 8 ? 0 : digits >= 16 ? UInt64.max : (UInt64(1) << (8 * (digits - 8))) &- 1)
    }

    /// A byte's high bit set where the byte is zero (exact for the lowest zero byte).
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & highBits
    }

    /// Whether every byte selected by `mask` is '0'-'9' or 'a'-'f'. For a byte below 0x80,
    /// byte + (0x80 - low) has its high bit set exactly when byte >= low, and no byte carries
    /// into the next.
    private static func allHex(_ word: UInt64, _ mask: UInt64) -> Bool {
        let selected = mask & highBits
        guard word & selected == 0 else { return false }
        let seven = word & ~highBits
        let decimal = (seven &+ ones &* 0x50) & ~(seven &+ ones &* 0x46)   // 0x30 ... 0x39
        let letter = (seven &+ ones &* 0x1F) & ~(seven &+ ones &* 0x19)    // 0x61 ... 0x66
        return (decimal | letter) & selected == selected
    }

    /// Eight hex digit bytes (the first in the lowest byte) as a 32-bit value, the first digit
    /// most significant. Each byte's nibble is its low four bits, plus 9 for a letter (bit 6).
    private static func hex8(_ word: UInt64) -> UInt64 {
        let nibbles = (word & (ones &* 0x0F)) &+ ((word >> 6) & ones) &* 9
        let reversed = nibbles.byteSwapped           // the first digit in the highest byte
        let pairs = (reversed | reversed >> 4) & 0x00FF_00FF_00FF_00FF
        let quads = (pairs | pairs >> 8) & 0x0000_FFFF_0000_FFFF
        return (quads | quads >> 16) & 0xFFFF_FFFF
    }
}
