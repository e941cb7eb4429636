/// The pure half of resolving a path inside a host root, one component at a time, as
/// openat2(2) with RESOLVE_IN_ROOT does: `..` never climbs above the root, and an absolute
/// symlink target starts again at the root instead of at the real `/`.
///
/// `--host-root DIR` reads a captured or recorded host, which is input like any other: a
/// `proc/1/cmdline -> /etc/shadow` link in it must not read the real host's file. The
/// kernel does this walk itself where it has openat2 (Linux 5.6+); elsewhere HostRoot walks
/// with O_NOFOLLOW opens, and this type decides every step of that walk, so the rules live
/// in one place with no I/O (and are fuzzed: Fuzz/ParsersFuzz.swift).
///
/// The walker asks `next()` for a step. For `.child` it opens that name in the current
/// directory without following links, then reports what it found: `descended()` for a
/// directory (or the last component, a file), `follow(_:)` with the target for a symlink.
public struct RootedPath: Sendable {
    /// As the kernel's MAXSYMLINKS: more links than this on one path is a loop.
    public static let maximumLinks = 40
    /// Bounds the work a hostile link target can add: the kernel's PATH_MAX.
    public static let maximumTargetBytes = 4096

    public enum Step: Equatable, Sendable {
        /// Leave the current directory for its parent (never above the root).
        case parent
        /// Look up `name` in the current directory; `last` when nothing follows it.
        case child(name: String, last: Bool)
    }

    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case tooManyLinks
        case emptyTarget
        case targetTooLong(Int)

        public var description: String {
            switch self {
            case .tooManyLinks: "more than \(RootedPath.maximumLinks) symbolic links (a loop?)"
            case .emptyTarget: "a symbolic link with an empty target"
            case let .targetTooLong(count): "a symbolic link target of \(count) bytes (longer than PATH_MAX)"
            }
        }
    }

    /// Components still to walk, last one first.
    private var pending: [Substring]
    /// Directories below the root the walker is in, by name: where it is now.
    public private(set) var resolved: [String] = []
    /// Symlinks followed so far.
    public private(set) var links = 0
    /// True once a `..` was held at the root or an absolute target restarted there: the
    /// path meant something outside the root. Says why a file is missing in the error.
    public private(set) var leftRoot = false
    private var lastChild: String?

    public init(_ relative: some StringProtocol) {
        pending = Self.components(Substring(relative))
    }

    /// The path from the root, without links, `.` or `..` in it.
    public var path: String { resolved.joined(separator: "/") }

    /// Where the walk is headed: `path`, the component being looked up and what is left,
    /// for an error that says what a link named inside the root.
    public var destination: String {
        (resolved + (lastChild.map { [$0] } ?? []) + pending.reversed().map(String.init)).joined(separator: "/")
    }

    public mutating func next() -> Step? {
        while let component = pending.popLast() {
            if component == ".." {
                guard !resolved.isEmpty else {
                    leftRoot = true
                    continue
                }
                resolved.removeLast()
                return .parent
            }
            let name = String(component)
            lastChild = name
            return .child(name: name, last: pending.isEmpty)
        }
        return nil
    }

    /// The child from the last `next()` was a directory (or the final file): now inside it.
    public mutating func descended() {
        if let lastChild { resolved.append(lastChild) }
        lastChild = nil
    }

    /// The child from the last `next()` was a symlink to `target`. Returns true when the
    /// target is absolute: the walker must go back to the root directory first.
    public mutating func follow(_ target: some StringProtocol) -> Result<Bool, Refusal> {
        lastChild = nil
        let target = Substring(target)
        guard links < Self.maximumLinks else { return .failure(.tooManyLinks) }
        guard !target.isEmpty else { return .failure(.emptyTarget) }
        guard target.utf8.count <= Self.maximumTargetBytes else { return .failure(.targetTooLong(target.utf8.count)) }
        links += 1
        let absolute = target.utf8.first == 0x2F
        if absolute {
            leftRoot = true
            resolved.removeAll()
        }
        pending.append(contentsOf: Self.components(target))
        return .success(absolute)
    }

    /// Non-empty components other than `.`, last first (the order `pending` pops them).
    private static func components(_ path: Substring) -> [Substring] {
        PathText.names(in: path).filter { $0 != "." }.reversed()
    }
}
