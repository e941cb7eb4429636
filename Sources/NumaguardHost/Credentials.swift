#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// A user to become, resolved as the system's name service would (so LDAP and sssd users
/// resolve as they do for `su`), then entered with its supplementary groups.
///
/// Never through glibc's getpwnam/getgrouplist: the release binary is static, and glibc's NSS
/// in a static program dlopens libnss_systemd.so & co., which drag in the dynamic libc and
/// crash it. numaguard reads /etc/passwd and /etc/group itself (the `files` and `compat`
/// sources), and asks the system's dynamically linked `getent` whenever /etc/nsswitch.conf
/// names another source that could answer: before the files (RHEL's `sss files systemd`),
/// or after them for a name the files lack (Debian's `files systemd`).
public struct Credentials: Equatable, Sendable {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t
    public var groups: [gid_t]

    public init(name: String, uid: uid_t, gid: gid_t, groups: [gid_t]) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case invalidName(String)
        /// What was consulted, in order, for the message.
        case unknownUser(AccountKey, consulted: [String])
        case unresolvable(String)
        case call(SystemCallError)

        public var description: String {
            switch self {
            case let .invalidName(user):
                "\"\(user)\" is neither a uid (at most 4294967294) nor a user name (not empty, at most "
                    + "\(AccountFiles.maximumNameLength) bytes, no leading \"-\", no \":\", newline or NUL)"
            case let .unknownUser(.name(name), consulted): "no such user \"\(name)\": " + consulted.joined(separator: "; ")
            case let .unknownUser(.uid(uid), consulted): "no passwd entry for uid \(uid): " + consulted.joined(separator: "; ")
            case let .unresolvable(reason): reason
            case let .call(error):
                error.errno.isPermission
                    ? "\(error): switching user needs CAP_SETUID and CAP_SETGID (run numaguard as root)"
                    : error.description
            }
        }
    }

    /// Larger account files are refused rather than read: 32 MiB is ~300,000 users.
    static let fileLimit = 32 << 20

    /// `user` is a name or a numeric uid; either must have a passwd entry, which gives the
    /// primary group and the name the supplementary groups are looked up by. `root` is the live
    /// host except in tests: getent under it is run, so it must never be a captured host.
    public static func lookUp(_ user: String, root: HostRoot = .live) throws(Failure) -> Credentials {
        guard let key = AccountKey(user) else { throw .invalidName(user) }
        let nsswitch = try read(root, "etc/nsswitch.conf", limit: 1 << 20).map { String(decoding: $0, as: UTF8.self) }
        let passwdLine: NSSwitchLine, groupLine: NSSwitchLine
        do {
            passwdLine = try NSSwitch.line(for: "passwd", in: nsswitch)
            groupLine = try NSSwitch.line(for: "group", in: nsswitch)
        } catch {
            throw .unresolvable("\(root.absolute("etc/nsswitch.conf")) \(error)")
        }
        let entry = try passwdEntry(key, line: passwdLine, root: root)
        let groups = try groups(of: entry, line: groupLine, root: root)
        return Credentials(name: entry.name, uid: entry.uid, gid: entry.gid, groups: groups)
    }

    private static func passwdEntry(_ key: AccountKey, line: NSSwitchLine, root: HostRoot) throws(Failure) -> PasswdEntry {
        var consulted: [String] = []
        var askGetent = line.hasOthers
        if line.readsFiles, !line.othersFirst {
            let file = root.absolute("etc/passwd")
            let match = AccountFiles.passwd(key, in: try read(root, "etc/passwd", limit: fileLimit) ?? [])
            let compat = line.sources.contains("compat") && match.compatBefore
            if let entry = match.entry, !compat { return entry }
            consulted.append(compat ? "\(file) has nss_compat +/- lines, which only the system's name service expands" : "not in \(file)")
            askGetent = askGetent || compat
        }
        let getentCommand = "getent passwd \(key) (nsswitch \(line))"
        guard askGetent else { throw .unknownUser(key, consulted: consulted.map { $0 + " (nsswitch \(line))" }) }
        let answer = try query(root, "passwd", key, line: line)
        if answer.notFound { throw .unknownUser(key, consulted: consulted + ["\(getentCommand) found none"]) }
        guard answer.status.map({ $0 == 0 }) ?? true else { throw failed(getentCommand, answer) }
        guard let entry = AccountFiles.getentPasswd(key, output: answer.stdout) else {
            throw .unresolvable("\(getentCommand) printed no passwd entry for it: \"\(shown(answer.stdout))\"")
        }
        return entry
    }

    private static func groups(of entry: PasswdEntry, line: NSSwitchLine, root: HostRoot) throws(Failure) -> [gid_t] {
        if !line.hasOthers {
            let text = try read(root, "etc/group", limit: fileLimit) ?? []
            let found: (groups: [UInt32], compat: Bool)
            do {
                found = try AccountFiles.groups(of: entry.name, primary: entry.gid, in: text)
            } catch {
                throw .unresolvable("\(root.absolute("etc/group")): user \(entry.name) is in \(error)")
            }
            if !(found.compat && line.sources.contains("compat")) { return found.groups }
        }
        // Another source may add memberships (systemd-userdb, sssd, a directory): the system's
        // initgroups is the only full answer.
        guard let name = AccountKey(entry.name), case .name = name else {
            throw .unresolvable("the name service gave uid \(entry.uid) the name \"\(entry.name)\", which getent cannot be asked about")
        }
        let command = "getent initgroups \(entry.name) (nsswitch \(line))"
        let answer = try query(root, "initgroups", name, line: line)
        guard answer.status.map({ $0 == 0 }) ?? true else { throw failed(command, answer) }
        do {
            return try AccountFiles.initgroups(of: entry.name, primary: entry.gid, getentOutput: answer.stdout)
        } catch {
            throw .unresolvable("\(command) printed \"\(shown(answer.stdout))\": \(error)")
        }
    }

    private static func query(_ root: HostRoot, _ database: String, _ key: AccountKey, line: NSSwitchLine) throws(Failure) -> Getent.Answer {
        guard let getent = Getent.find(under: root) else {
            let paths = Getent.candidates.map { root.absolute($0) }.joined(separator: " nor ")
            throw .unresolvable("nsswitch \(line) names sources numaguard does not read itself, and it asks the system's getent, "
                                + "but neither \(paths) is an executable")
        }
        do {
            return try getent.query(database, key.description)
        } catch {
            throw .unresolvable("\(error)")
        }
    }

    private static func failed(_ command: String, _ answer: Getent.Answer) -> Failure {
        let status = answer.status.map { "exit \($0)" } ?? "no status"
        let stderr = shown(answer.stderr)
        return .unresolvable("\(command) failed (\(status))" + (stderr.isEmpty ? "" : ": \(stderr)"))
    }

    /// The start of what a program printed, on one line, for a message.
    private static func shown(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes.prefix(200), as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text.replacingNewlines
    }

    private struct TooLarge: Error {}

    /// A whole file of at most `limit` bytes; nil when absent (no nsswitch.conf is glibc's
    /// default, no /etc/group is no supplementary group).
    private static func read(_ root: HostRoot, _ relative: String, limit: Int) throws(Failure) -> [UInt8]? {
        var contents: [UInt8] = []
        let result: Result<Void, TooLarge>
        do {
            result = try root.streamContents(relative, chunkSize: 32 * 1024) { (chunk) throws(TooLarge) in
                guard contents.count + chunk.count <= limit else { throw TooLarge() }
                contents.append(contentsOf: chunk)
            }
        } catch {
            if error.errno == .noEntry { return nil }
            throw .unresolvable(error.description)
        }
        if case .failure = result { throw .unresolvable("\(root.absolute(relative)) is larger than \(limit) bytes") }
        return contents
    }

    /// Groups first, while the process may still change them; then the group and the user.
    /// With CAP_SETUID/CAP_SETGID, setgid and setuid set the real, effective and saved ids
    /// together, so nothing can switch back.
    public func enter() throws(Failure) {
        do {
            try SystemCall.check("setgroups", name) { groups.withUnsafeBufferPointer { setgroups($0.count, $0.baseAddress) } }
            try SystemCall.check("setgid", "\(gid)") { setgid(gid) }
            try SystemCall.check("setuid", "\(uid)") { setuid(uid) }
        } catch {
            throw .call(error)
        }
    }
}

extension String {
    fileprivate var replacingNewlines: String {
        String(unicodeScalars.map { $0 == "\n" ? " " : Character($0) })
    }
}
