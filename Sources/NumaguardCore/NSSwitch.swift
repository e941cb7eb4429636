/// One database's line of /etc/nsswitch.conf (`passwd: files systemd`): the sources the C
/// library asks, in order. numaguard reads the "files" sources itself and leaves every other
/// one (systemd, sss, ldap, winbind, nis, ...) to the system's own `getent`, so this only has
/// to say which sources there are and in what order; the `[STATUS=action]` items are kept in
/// the text for messages and honoured by getent, which applies them itself.
public struct NSSwitchLine: Equatable, Sendable, CustomStringConvertible {
    public var database: String
    /// Service names in order, actions dropped: `["sss", "files", "systemd"]`.
    public var sources: [String]
    /// `passwd: files systemd` as written (comment and extra blanks removed), or
    /// `passwd: files (default)` when the file has no such line.
    public var text: String

    public init(database: String, sources: [String], text: String) {
        self.database = database
        self.sources = sources
        self.text = text
    }

    public var description: String { text }

    /// The sources whose data is the plain file numaguard parses: `files`, and `compat`
    /// (the file with nss_compat's `+`/`-` NIS lines, which the parsers report).
    public static func isLocal(_ source: String) -> Bool { source == "files" || source == "compat" }

    /// True when a source numaguard does not read comes before the file (RHEL's
    /// `sss files systemd`), or the file is not consulted at all: its answer could differ
    /// from the file's, so the system's own lookup is asked first.
    public var othersFirst: Bool {
        guard let first = sources.first else { return false }
        return !Self.isLocal(first)
    }

    /// True when the file is consulted (ahead of or among others).
    public var readsFiles: Bool { sources.contains(where: Self.isLocal) }

    /// True when some source is one numaguard does not read itself.
    public var hasOthers: Bool { sources.contains { !Self.isLocal($0) } }
}

public enum NSSwitch {
    /// Bounds no real file approaches; a line past them is refused as corrupt rather than
    /// spending memory on it.
    public static let maximumSources = 64

    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var line: Int
        public var reason: String

        public var description: String { "line \(line): \(reason)" }
    }

    /// The line for `database` in nsswitch.conf text. glibc's default (since 2.33, and what
    /// every distribution's file says first) is `files` when the file or the line is absent.
    /// Comments run from `#` to the end of the line; `[...]` action items may hold blanks.
    /// When the database appears twice, the first line counts, as glibc reads it.
    public static func line(for database: String, in text: String?) throws(Failure) -> NSSwitchLine {
        let fallback = NSSwitchLine(database: database, sources: ["files"], text: "\(database): files (default: no line in nsswitch.conf)")
        guard let text else { return fallback }
        var number = 0
        // Split on the byte: as Characters, "\r\n" is one grapheme and would not split.
        for line in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let raw = Substring(line)
            let content = raw.prefix { $0 != "#" }
            guard let colon = content.firstIndex(of: ":") else { continue }
            let name = content[..<colon].trimmingBlanks
            guard name == database else { continue }
            var sources: [String] = []
            var items: [Substring] = []
            var rest = content[content.index(after: colon)...]
            while let start = rest.firstIndex(where: { $0 != " " && $0 != "\t" && $0 != "\r" }) {
                rest = rest[start...]
                let item: Substring
                if rest.first == "[" {
                    guard let close = rest.firstIndex(of: "]") else { throw Failure(line: number, reason: "\"[\" without \"]\"") }
                    item = rest[...close]
                    guard !sources.isEmpty else { throw Failure(line: number, reason: "\(item) before any source") }
                } else {
                    let end = rest.firstIndex { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "[" } ?? rest.endIndex
                    item = rest[..<end]
                    guard item.utf8.allSatisfy(isServiceByte) else {
                        throw Failure(line: number, reason: "\"\(item.prefix(40))\" is not a service name")
                    }
                    sources.append(String(item))
                    guard sources.count <= maximumSources else { throw Failure(line: number, reason: "more than \(maximumSources) sources") }
                }
                items.append(item)
                rest = rest[item.endIndex...]
            }
            // glibc treats a line naming no service as absent.
            guard !sources.isEmpty else { return fallback }
            return NSSwitchLine(database: database, sources: sources, text: "\(database): " + items.joined(separator: " "))
        }
        return fallback
    }

    /// glibc loads libnss_NAME.so.2 for a service: letters, digits, `_`, `-`, `.`, `+`.
    static func isServiceByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F, 0x2D, 0x2E, 0x2B: true
        default: false
        }
    }
}

extension Substring {
    fileprivate var trimmingBlanks: Substring {
        guard let first = firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = lastIndex(where: { $0 != " " && $0 != "\t" && $0 != "\r" }) else { return "" }
        return self[first...last]
    }
}
