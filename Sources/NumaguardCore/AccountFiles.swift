/// The user a `--user` switch names, as /etc/passwd (or `getent passwd`) spells it.
public struct PasswdEntry: Equatable, Sendable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32

    public init(name: String, uid: UInt32, gid: UInt32) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }
}

/// How `--user` names the account: a name, or a numeric uid (as `su`, `runuser` and numactl's
/// callers write it).
public enum AccountKey: Equatable, Sendable, CustomStringConvertible {
    case name(String)
    case uid(UInt32)

    /// A string of digits is a uid; anything else must be a name the files could hold: not
    /// empty, no ':' (the field separator), no newline or NUL (the line and string ends), and
    /// no leading '-', which getent would read as an option. nil for those.
    public init?(_ text: String) {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= AccountFiles.maximumNameLength else { return nil }
        if bytes.allSatisfy(Lex.isDigit) {
            guard let uid = AccountFiles.id(bytes) else { return nil }
            self = .uid(uid)
            return
        }
        guard bytes.first != 0x2D, !bytes.contains(where: { $0 == 0x3A || $0 == 0x0A || $0 == 0 }) else { return nil }
        self = .name(text)
    }

    public var description: String {
        switch self {
        case let .name(name): name
        case let .uid(uid): "\(uid)"
        }
    }
}

/// Parsers for the "files" sources of the name service (/etc/passwd, /etc/group) and for what
/// `getent` prints. Pure and byte-wise: numaguard's release binary is static, and glibc's own
/// NSS would dlopen the dynamic libc into it, so the launcher reads these itself. Lines that
/// are not well formed are skipped, as glibc's files module skips them; every loop is one pass
/// over the input, and the caller bounds the input's size.
public enum AccountFiles {
    /// glibc's LOGIN_NAME_MAX: a longer name cannot be asked for, so no lookup needs it.
    public static let maximumNameLength = 256
    /// The kernel's NGROUPS_MAX: setgroups refuses more.
    public static let maximumGroups = 65_536

    /// A uid or gid: decimal digits (leading zeros allowed, as glibc's strtoul reads them) up
    /// to 4294967294; (uid_t)-1 means "no id" to setuid and is not an id.
    static func id(_ bytes: some Collection<UInt8>) -> UInt32? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt32 = 0
        for byte in bytes {
            guard Lex.isDigit(byte) else { return nil }
            let (product, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = product.addingReportingOverflow(UInt32(byte - 0x30))
            if overflowA || overflowB { return nil }
            value = sum
        }
        return value == UInt32.max ? nil : value
    }

    /// Calls `body` with each line (without its newline) until it returns false.
    static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Slice<UnsafeBufferPointer<UInt8>>) -> Bool) {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            if !body(bytes[start..<end]) { return }
            start = end + 1
        }
    }

    /// The first `count` colon-separated fields of a line, the last one holding the rest of the
    /// line; nil when it has fewer or holds a NUL (a C string would end there: the line is
    /// corrupt, not a shorter entry).
    static func fields(_ line: Slice<UnsafeBufferPointer<UInt8>>, _ count: Int) -> [Slice<UnsafeBufferPointer<UInt8>>]? {
        var result: [Slice<UnsafeBufferPointer<UInt8>>] = []
        result.reserveCapacity(count)
        var start = line.startIndex
        for index in line.indices {
            if line[index] == 0 { return nil }
            if line[index] == 0x3A, result.count < count - 1 {
                result.append(line[start..<index])
                start = index + 1
            }
        }
        if result.count < count { result.append(line[start..<line.endIndex]) }
        return result.count == count ? result : nil
    }

    static func isCompat(_ line: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        line.first == 0x2B || line.first == 0x2D   // + or -: nss_compat's NIS inclusions and exclusions
    }

    /// One passwd line (`name:password:uid:gid:gecos:home:shell`; only the first four fields
    /// matter here, so a line missing the later ones still names a user). nil when malformed.
    static func passwdEntry(_ line: Slice<UnsafeBufferPointer<UInt8>>) -> PasswdEntry? {
        guard !isCompat(line), let fields = fields(line, 4), !fields[0].isEmpty,
              let uid = id(fields[2]), let gid = id(fields[3].prefix { $0 != 0x3A }),
              let name = String(validating: fields[0], as: UTF8.self) else { return nil }
        return PasswdEntry(name: name, uid: uid, gid: gid)
    }

    public struct PasswdMatch: Equatable, Sendable {
        /// The first entry that matches, nil when none does.
        public var entry: PasswdEntry?
        /// A `+`/`-` line came before the match (or anywhere, without one): under nss_compat
        /// those pull in NIS entries at their place, which only the system's NSS can expand.
        public var compatBefore: Bool

        public init(entry: PasswdEntry?, compatBefore: Bool) {
            self.entry = entry
            self.compatBefore = compatBefore
        }
    }

    /// The first entry of passwd-format text matching `key`: /etc/passwd, or `getent passwd`.
    public static func passwd(_ key: AccountKey, in text: [UInt8]) -> PasswdMatch {
        let wanted: [UInt8]? = if case let .name(name) = key { Array(name.utf8) } else { nil }
        var match = PasswdMatch(entry: nil, compatBefore: false)
        text.withUnsafeBufferPointer { bytes in
            forEachLine(bytes) { line in
                if isCompat(line) {
                    match.compatBefore = true
                    return true
                }
                switch key {
                case .name:
                    // Compare the name field before building anything: a million-line file
                    // allocates nothing for the lines that do not match.
                    guard let colon = line.firstIndex(of: 0x3A), let wanted, line[..<colon].elementsEqual(wanted) else { return true }
                case let .uid(uid):
                    guard passwdEntry(line)?.uid == uid else { return true }
                }
                guard let entry = passwdEntry(line) else { return true }
                match.entry = entry
                return false
            }
        }
        return match
    }

    /// What `getent passwd KEY` printed: one passwd line. The name service may spell the name
    /// otherwise than it was asked (a case-insensitive directory, a domain-qualified name), so
    /// the line's own name is the answer; for a uid, the line must carry that uid. nil when
    /// the first line is not a well-formed entry.
    public static func getentPasswd(_ key: AccountKey, output: [UInt8]) -> PasswdEntry? {
        var entry: PasswdEntry?
        output.withUnsafeBufferPointer { bytes in
            forEachLine(bytes) { line in
                entry = passwdEntry(line)
                return false
            }
        }
        if case let .uid(uid) = key, entry?.uid != uid { return nil }
        return entry
    }

    public enum GroupsFailure: Error, Equatable, Sendable, CustomStringConvertible {
        case tooMany(Int)

        public var description: String {
            switch self {
            case let .tooMany(count): "more than \(count) groups (the kernel's NGROUPS_MAX)"
            }
        }
    }

    /// The groups `initgroups` would give `user` from group-format text: the primary group
    /// first, then every group listing the user as a member, in file order, each once. Also
    /// whether a `+`/`-` line was seen (nss_compat: NIS groups only the system's NSS expands).
    public static func groups(of user: String, primary: UInt32, in text: [UInt8]) throws(GroupsFailure) -> (groups: [UInt32], compat: Bool) {
        let name = Array(user.utf8)
        var groups: [UInt32] = [primary]
        var seen: Set<UInt32> = [primary]
        var compat = false
        var tooMany = false
        text.withUnsafeBufferPointer { bytes in
            forEachLine(bytes) { line in
                if isCompat(line) {
                    compat = true
                    return true
                }
                guard let fields = fields(line, 4), !fields[0].isEmpty, let gid = id(fields[2]),
                      isMember(name, of: fields[3]), !seen.contains(gid) else { return true }
                guard groups.count < maximumGroups else {
                    tooMany = true
                    return false
                }
                groups.append(gid)
                seen.insert(gid)
                return true
            }
        }
        if tooMany { throw .tooMany(maximumGroups) }
        return (groups, compat)
    }

    /// Whether the comma-separated member list (spaces around a member allowed) names `name`.
    static func isMember(_ name: [UInt8], of members: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var start = members.startIndex
        while start <= members.endIndex {
            var end = start
            while end < members.endIndex, members[end] != 0x2C { end += 1 }
            var low = start, high = end
            while low < high, members[low] == 0x20 || members[low] == 0x09 { low += 1 }
            while high > low, members[high - 1] == 0x20 || members[high - 1] == 0x09 { high -= 1 }
            if members[low..<high].elementsEqual(name) { return true }
            start = end + 1
        }
        return false
    }

    public enum GetentFailure: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed(String)

        public var description: String {
            switch self {
            case let .malformed(reason): reason
            }
        }
    }

    /// `getent initgroups NAME` prints the name as asked (padded to 21 columns) and the gid of
    /// every group the name service gives it, the primary group not included:
    /// `nobody                65534`. The result is `primary` followed by those, each once.
    public static func initgroups(of user: String, primary: UInt32, getentOutput text: [UInt8]) throws(GetentFailure) -> [UInt32] {
        let name = Array(user.utf8)
        var groups: [UInt32] = [primary]
        var seen: Set<UInt32> = [primary]
        var failure: GetentFailure?
        text.withUnsafeBufferPointer { bytes in
            forEachLine(bytes) { line in
                // The name may hold spaces (a directory's "John Doe"), so it is matched, not split off.
                guard line.starts(with: name) else {
                    failure = .malformed("the line does not start with the name asked for (\"\(user)\")")
                    return false
                }
                for token in line.dropFirst(name.count).split(separator: 0x20, omittingEmptySubsequences: true) {
                    guard let gid = id(token) else {
                        failure = .malformed("\"\(String(decoding: token.prefix(40), as: UTF8.self))\" is not a gid")
                        return false
                    }
                    guard !seen.contains(gid) else { continue }
                    guard groups.count < maximumGroups else {
                        failure = .malformed("more than \(maximumGroups) groups (the kernel's NGROUPS_MAX)")
                        return false
                    }
                    groups.append(gid)
                    seen.insert(gid)
                }
                return false   // one key asked, one line answered
            }
        }
        if let failure { throw failure }
        return groups
    }
}
