#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore
import Synchronization

/// Opens a path below a host root without ever leaving it: the confinement of
/// `--host-root DIR` (HostRoot routes every read of a root other than `/` through here).
///
/// A captured tree is untrusted input. Its symlinks are resolved as if DIR were `/`
/// (absolute targets and `..` stay inside, as openat2's RESOLVE_IN_ROOT does, which is also
/// how a capture's own links, /sys/class/net/eth0 -> ../../devices/..., mean what they
/// meant on the captured host), so a `proc/1/cmdline -> /etc/shadow` link can never read
/// the real host's file. openat2 does the walk in the kernel (5.6+); on older kernels (or
/// under a seccomp filter that answers ENOSYS) `byComponents` walks with O_NOFOLLOW, the
/// decisions of that walk made by `RootedPath`.
enum RootedOpen {
    /// Set once openat2 answered ENOSYS: the process does not ask again.
    private static let openat2Missing = Atomic<Bool>(false)

    /// A descriptor for `relative` under `root` opened with `flags` (O_RDONLY, O_DIRECTORY,
    /// clinux_o_path...; O_CLOEXEC is added). `display` names the file in errors.
    static func openFile(root: String, _ relative: String, flags: Int32, display: String) throws(HostError) -> Int32 {
        let rootFD = try openRoot(root, display: display)
        defer { close(rootFD) }
        if !openat2Missing.load(ordering: .relaxed) {
            var attempt = 0
            while true {
                let fd = relative.withCString { clinux_openat2_in_root(rootFD, $0, flags | O_CLOEXEC) }
                if fd >= 0 { return fd }
                let failure = Errno(errno)
                attempt += 1
                switch failure.rawValue {
                case EINTR: continue
                // A rename or mount raced the walk: the kernel asks for a retry.
                case EAGAIN where attempt < 4: continue
                case ENOSYS: openat2Missing.store(true, ordering: .relaxed)
                // Walk again by hand only to say which symlink led where: the error is the same.
                case ENOENT, ENOTDIR, ELOOP, EXDEV, EAGAIN: break
                default: throw .unreadable(path: display, errno: failure)
                }
                break
            }
        }
        return try byComponents(rootFD: rootFD, relative, flags: flags, display: display)
    }

    /// The root directory itself, which the walk starts from (the root path is trusted: it is the user's).
    static func openRoot(_ root: String, display: String) throws(HostError) -> Int32 {
        do {
            return try SystemCall.check("open", root) { open(root, clinux_o_path | O_DIRECTORY | O_CLOEXEC) }
        } catch {
            throw .unreadable(path: display, errno: error.errno)
        }
    }

    /// The walk without openat2: one clinux_o_path|O_NOFOLLOW open per component, symlinks read
    /// with readlinkat and resolved by `RootedPath`, the final open with O_NOFOLLOW so a name
    /// swapped for a link after it was looked at is refused rather than followed.
    static func byComponents(rootFD: Int32, _ relative: String, flags: Int32, display: String) throws(HostError) -> Int32 {
        var walk = RootedPath(relative)
        // Directories from the root down to where the walk is; [0] is the caller's.
        var directories: [Int32] = [rootFD]
        defer { for fd in directories.dropFirst() { close(fd) } }
        var followed: [String] = []
        func fail(_ errno: Errno) -> HostError {
            guard walk.leftRoot, let link = followed.last else { return .unreadable(path: display, errno: errno) }
            let inside = walk.destination
            return .refused(path: display, reason: "\(link) leads outside the host root; resolved inside it (as in a chroot) "
                            + "it is \(inside.isEmpty ? "the root itself" : inside), which cannot be opened: \(errno)")
        }
        while let step = walk.next() {
            guard case let .child(name, last) = step else {
                close(directories.removeLast())
                continue
            }
            let current = directories[directories.count - 1]
            let handle: Int32
            do {
                handle = try SystemCall.check("openat", name) { openat(current, name, clinux_o_path | O_NOFOLLOW | O_CLOEXEC) }
            } catch {
                throw fail(error.errno)
            }
            var info = stat()
            guard fstat(handle, &info) == 0 else {
                let failure = Errno(errno)
                close(handle)
                throw fail(failure)
            }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                let target = linkTarget(handle)
                close(handle)
                guard let target else { throw fail(Errno(EIO)) }
                followed.append("symlink \(([walk.path, name].filter { !$0.isEmpty }).joined(separator: "/")) -> \(target)")
                switch walk.follow(target) {
                case let .success(absolute):
                    if absolute {
                        for fd in directories.dropFirst() { close(fd) }
                        directories.removeSubrange(1...)
                    }
                case let .failure(refusal):
                    throw .refused(path: display, reason: refusal.description)
                }
            case S_IFDIR where !last:
                walk.descended()
                directories.append(handle)
            default:
                close(handle)
                guard last else { throw fail(Errno(ENOTDIR)) }
                walk.descended()
                do {
                    return try SystemCall.check("openat", name) { openat(current, name, flags | O_NOFOLLOW | O_CLOEXEC) }
                } catch {
                    throw fail(error.errno)
                }
            }
        }
        // The path ended at a directory (the root itself, or after `..`): open it as it is.
        let current = directories[directories.count - 1]
        do {
            return try SystemCall.check("openat", display) { openat(current, ".", flags | O_CLOEXEC) }
        } catch {
            throw fail(error.errno)
        }
    }

    /// The target of the symlink `handle` (an clinux_o_path|O_NOFOLLOW descriptor of the link).
    private static func linkTarget(_ handle: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(handle, "", &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
