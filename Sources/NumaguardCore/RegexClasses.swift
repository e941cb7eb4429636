/// A class as the parser reads it (`[a-z]`, `\d`, `.`): ranges of scalar values, negation and
/// case folding, in the order written. `RegexProgram` turns it into a `ScalarTable` once, so
/// matching never walks the class item by item nor case-maps a scalar.
///
/// `\d \w \s` (and `\b`) are ASCII, as RE2 and Go define them (so a pattern means the same in
/// numaguard as in Prometheus), and so are the POSIX `[:name:]` classes.
struct ScalarSet: Equatable, Sendable {
    var ranges: [ClosedRange<UInt32>]
    var negated: Bool
    /// Case-insensitive: a scalar also matches through its simple upper- and lowercase forms.
    var fold: Bool

    init(ranges: [ClosedRange<UInt32>], negated: Bool = false, fold: Bool = false) {
        self.ranges = ranges
        self.negated = negated
        self.fold = fold
    }

    static let any = ScalarSet(ranges: [], negated: true)
    static let anyButNewline = ScalarSet(ranges: [0x0A...0x0A], negated: true)

    static let digit: [ClosedRange<UInt32>] = [0x30...0x39]
    static let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
    /// RE2's `\s`: tab, newline, form feed, carriage return, space (not vertical tab).
    static let space: [ClosedRange<UInt32>] = [0x09...0x0A, 0x0C...0x0D, 0x20...0x20]

    static let posix: [String: [ClosedRange<UInt32>]] = [
        "alpha": [0x41...0x5A, 0x61...0x7A], "digit": [0x30...0x39], "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A],
        "upper": [0x41...0x5A], "lower": [0x61...0x7A], "space": [0x09...0x0D, 0x20...0x20], "blank": [0x09...0x09, 0x20...0x20],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E], "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
        "word": word, "cntrl": [0x00...0x1F, 0x7F...0x7F], "print": [0x20...0x7E], "graph": [0x21...0x7E], "ascii": [0x00...0x7F],
    ]

    /// Every scalar value outside `ranges` (which need not be sorted).
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in normalized(ranges) {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            guard range.upperBound < ScalarTable.largestScalar else { return result }
            next = range.upperBound + 1
        }
        result.append(next...ScalarTable.largestScalar)
        return result
    }

    /// Sorted, with overlapping and adjacent ranges merged.
    static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}

/// A compiled class: sorted, disjoint ranges with negation and case folding already applied, so
/// a lookup is one binary search (at most ⌊log2(ranges)⌋ + 1 comparisons) and allocates nothing.
struct ScalarTable: Equatable, Sendable {
    static let largestScalar: UInt32 = 0x10FFFF

    let ranges: [ClosedRange<UInt32>]

    /// Builds the table, reporting its work (ranges read, fold pairs visited) to `charge` as it
    /// goes, so the compiler's work limit covers classes too.
    init<E: Error>(_ set: ScalarSet, charge: (Int) throws(E) -> Void) throws(E) {
        try charge(set.ranges.count)
        var ranges = set.ranges
        if set.fold {
            // A scalar belongs when one of its case variants does (what `CaseFold.variants`
            // tested per item at match time before).
            var added: [ClosedRange<UInt32>] = []
            for range in set.ranges {
                let pairs = CaseFold.pairs(withVariantIn: range)
                try charge(pairs.count + 1)
                added.append(contentsOf: pairs.map { $0.scalar...$0.scalar })
            }
            ranges += added
        }
        ranges = ScalarSet.normalized(ranges)
        self.ranges = set.negated ? ScalarSet.complement(ranges) : ranges
    }

    /// Whether the table holds `scalar`; adds the range comparisons made to `comparisons`.
    func contains(_ scalar: Unicode.Scalar, comparisons: inout Int) -> Bool {
        let value = scalar.value
        var low = 0
        var high = ranges.count
        while low < high {
            comparisons += 1
            let middle = low + (high - low) / 2
            let range = ranges[middle]
            if value < range.lowerBound {
                high = middle
            } else if value > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    /// The most comparisons one `contains` can make: the depth of the binary search.
    var lookupBound: Int { ranges.count == 0 ? 0 : Int.bitWidth - ranges.count.leadingZeroBitCount }
}

/// The Unicode word characters behind `\b` and `\B`: ASCII, as in RE2.
enum CharacterKind {
    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) || value == 0x5F
    }
}

/// Simple (one-scalar) case mappings, for `(?i)`; used while compiling only.
enum CaseFold {
    static func variants(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        if scalar.isASCII {
            let value = scalar.value
            if value >= 0x41 && value <= 0x5A { return [scalar, Unicode.Scalar(UInt8(value + 0x20))] }
            if value >= 0x61 && value <= 0x7A { return [scalar, Unicode.Scalar(UInt8(value - 0x20))] }
            return [scalar]
        }
        var result = [scalar]
        for mapped in [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping] {
            let scalars = mapped.unicodeScalars
            if scalars.count == 1, let only = scalars.first, only != scalar { result.append(only) }
        }
        return result
    }

    /// The last scalar value that can have case variants: planes 2 to 16 hold ideographs,
    /// tags, variation selectors and private use, none of them cased (a test checks).
    static let lastCased: UInt32 = 0x1FFFF

    /// Every (scalar, variant) with `variant` in `variants(scalar)` and different from it,
    /// sorted by variant: the inverse of `variants`, which folding a class needs. Built once,
    /// on first use (about 3,000 pairs, from the scalars whose case mapping changes something).
    private static let byVariant: [(variant: UInt32, scalar: UInt32)] = {
        var pairs: [(variant: UInt32, scalar: UInt32)] = []
        for value in UInt32(0)...lastCased {
            guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenCaseMapped else { continue }
            for variant in variants(scalar).dropFirst() { pairs.append((variant.value, value)) }
        }
        return pairs.sorted { ($0.variant, $0.scalar) < ($1.variant, $1.scalar) }
    }()

    /// The pairs whose variant lies in `range` (a binary search, then the run of them).
    static func pairs(withVariantIn range: ClosedRange<UInt32>) -> ArraySlice<(variant: UInt32, scalar: UInt32)> {
        let table = byVariant
        var low = 0
        var high = table.count
        while low < high {
            let middle = low + (high - low) / 2
            if table[middle].variant < range.lowerBound { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < table.count, table[end].variant <= range.upperBound { end += 1 }
        return table[low..<end]
    }
}
