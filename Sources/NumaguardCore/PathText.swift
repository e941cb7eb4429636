/// Paths as the kernel reads them: names separated by `/` bytes.
///
/// Swift's String splits, searches and compares by Characters, and a `/` followed by a
/// combining mark (U+0301, say) is one Character with it: `split(separator: "/")`,
/// `lastIndex(of: "/")` and `hasPrefix("a/")` do not see that slash. A name holding it then
/// reached an open, and the kernel walked through it: its `..` above a host root, or a link
/// planted in a directory numaguard meant to check name by name. Every path numaguard splits
/// to walk, open or match goes through these.
public enum PathText {
    /// The names of `path`, split at every `/` byte, empty names dropped.
    public static func names(in path: some StringProtocol) -> [Substring] {
        let text = Substring(path)
        var names: [Substring] = []
        var start = text.utf8.startIndex
        var index = start
        while index < text.utf8.endIndex {
            if text.utf8[index] == 0x2F {
                if index > start { names.append(text[start..<index]) }
                start = text.utf8.index(after: index)
            }
            index = text.utf8.index(after: index)
        }
        if start < text.utf8.endIndex { names.append(text[start...]) }
        return names
    }

    /// `path` cut at its last `/` byte: what is before that slash and what is after it; nil
    /// when there is none. (Index arithmetic by Characters would step over a combining mark
    /// after the slash, so the cut is made here, by bytes.)
    public static func cutAtLastSlash(_ path: some StringProtocol) -> (before: Substring, after: Substring)? {
        let text = Substring(path)
        guard let slash = text.utf8.lastIndex(of: 0x2F) else { return nil }
        return (text[..<slash], text[text.utf8.index(after: slash)...])
    }

    /// Whether `path` is `prefix` or lies below it (`prefix` then a `/`), byte for byte.
    public static func isWithin(_ path: String, _ prefix: String) -> Bool {
        let path = path.utf8, prefix = prefix.utf8
        guard path.starts(with: prefix) else { return false }
        guard path.count > prefix.count else { return true }
        return prefix.last == 0x2F || path[path.index(path.startIndex, offsetBy: prefix.count)] == 0x2F
    }

    /// Whether the path begins at `/`: its first byte. (`hasPrefix("/")` said no for a path
    /// whose first name begins with a combining mark, and it was resolved from the working
    /// directory instead.)
    public static func isAbsolute(_ path: some StringProtocol) -> Bool {
        path.utf8.first == 0x2F
    }

    /// False when `name` holds U+FFFD: what decoding bytes that are not UTF-8 leaves in their
    /// place (`String(decoding:)`, `String(cString:)`), so two names that differ on disk read
    /// alike, and the name read opens neither. A directory or cgroup so named cannot be told
    /// apart or read by that name; the callers refuse it rather than guess.
    public static func isExact(_ name: some StringProtocol) -> Bool {
        !name.unicodeScalars.contains("\u{FFFD}")
    }

    /// A path the user gave (a policy, an output, a snapshot) as the root it starts from and
    /// the rest below it: `/` and the path without its leading `/` bytes, or `.` and the path.
    public static func fromItsRoot(_ path: String) -> (root: String, relative: String) {
        isAbsolute(path) ? ("/", String(Substring(path.utf8.drop { $0 == 0x2F }))) : (".", path)
    }
}

/// A path as a dictionary or sort key: equal, hashed and ordered by its bytes. String's `==`
/// and hash are canonical equivalence, so `café` (U+00E9) and `cafe` + U+0301 were one key,
/// while to the kernel they are two directories, which any user may create side by side.
public struct PathKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var description: String { path }

    public static func == (lhs: PathKey, rhs: PathKey) -> Bool { lhs.path.utf8.elementsEqual(rhs.path.utf8) }

    public static func < (lhs: PathKey, rhs: PathKey) -> Bool { lhs.path.utf8.lexicographicallyPrecedes(rhs.path.utf8) }

    public func hash(into hasher: inout Hasher) {
        for byte in path.utf8 { hasher.combine(byte) }
        hasher.combine(path.utf8.count)
    }
}
