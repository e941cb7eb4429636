#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A user to become: resolved through the C library's name service (so LDAP and sssd users
/// resolve as they do for `su`), then entered with its supplementary groups.
public struct Credentials: Equatable, Sendable {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t
    public var groups: [gid_t]

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unknownUser(String)
        case call(SystemCallError)

        public var description: String {
            switch self {
            case let .unknownUser(user): "no such user \"\(user)\" (getpwnam found no passwd entry)"
            case let .call(error):
                error.errno.isPermission
                    ? "\(error): switching user needs CAP_SETUID and CAP_SETGID (run numaguard as root)"
                    : error.description
            }
        }
    }

    /// `user` is a name or a numeric uid; either must have a passwd entry, which gives the
    /// primary group and the name the supplementary groups are looked up by.
    public static func lookUp(_ user: String) throws(Failure) -> Credentials {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let status: Int32
        if let uid = uid_t(user) {
            status = getpwuid_r(uid, &entry, &buffer, buffer.count, &found)
        } else {
            status = getpwnam_r(user, &entry, &buffer, buffer.count, &found)
        }
        guard status == 0 else { throw .call(SystemCallError(call: "getpwnam_r", subject: user, errno: Errno(status))) }
        guard found != nil, let namePointer = entry.pw_name else { throw .unknownUser(user) }
        let name = String(cString: namePointer)
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(namePointer, entry.pw_gid, &groups, &count) == -1 {
            groups = [gid_t](repeating: 0, count: Int(count))
        }
        return Credentials(name: name, uid: entry.pw_uid, gid: entry.pw_gid, groups: Array(groups.prefix(Int(count))))
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
