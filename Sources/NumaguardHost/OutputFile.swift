#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// Why an output could not be created or written: the path and the reason, in words a user
/// can act on (exit 73, EX_CANTCREAT, in every command).
public struct OutputError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var errno: Errno?
    /// numaguard's own refusal (the trust rule, a hard link, a kind it does not append to),
    /// not a system call's failure.
    public var refused = false

    public init(_ path: String, _ reason: String, errno: Errno? = nil) {
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    init(_ path: String, _ error: SystemCallError) {
        self.init(path, error.description, errno: error.errno)
    }

    static func refusing(_ path: String, _ reason: String) -> OutputError {
        var error = OutputError(path, reason, errno: .notPermitted)
        error.refused = true
        return error
    }

    public var description: String { "cannot write \(path): \(reason)" }
}

/// The one way numaguard opens what a user names as an output (`--out`, `--textfile`,
/// certify's directory, launch records, and, appending, `--events` and `--journal`).
///
/// The entry's directory is opened first, walking the path component by component
/// (TrustedDirectory: a symbolic link on the way is followed only when trusted where it is);
/// everything after is relative to that descriptor. Decisions, from lstat of the entry:
/// - `-` is standard output.
/// - A regular file, or nothing yet: written to a temporary file beside it and renamed over
///   it (AtomicFile), so a reader sees the old contents or the new.
/// - A FIFO or a character device (/dev/null, a terminal, a pipe someone reads): written
///   through, as tee does; never replaced by a file.
/// - A symbolic link: followed only when it is trusted (below). Through it, stdout's own file
///   (`/dev/stdout` when stdout is redirected) is standard output; otherwise its target is
///   written by these same rules (a regular file replaced atomically where it is, so the
///   link stays). A dangling link is refused: nothing is ever created through a link.
/// - A directory or a block device is refused (numaguard never writes reports onto disks), and
///   a socket (open(2) cannot open one, so it could never be written).
///
/// Trust, like fs.protected_symlinks and fs.protected_fifos but for root too and whatever
/// those sysctls say: when the entry's directory is *shared* (writable by group or others, or
/// owned by a user that is neither root nor numaguard's effective user), another user could
/// have planted the entry or could swap it, so an existing link, FIFO or device there is used
/// only when it is numaguard's effective user's own and the directory is sticky (only the
/// owner may then rename or remove it). The same rule decides every symbolic link on the way
/// to the entry's directory.
public enum OutputFile {
    /// `blocking: false` for a service's repeated outputs (watch's --textfile): a FIFO nobody
    /// reads (ENXIO) or a full pipe (EAGAIN) is a failed write, reported, instead of a wait
    /// that would stop the service and its signal handling. One-shot commands block as tee
    /// does: `capture --out fifo` waits for its reader.
    /// `synced: false` for a file the next interval replaces (AtomicFile: replaced atomically,
    /// not fsync'ed).
    public static func write(_ contents: String, to path: String, mode: mode_t = 0o644, blocking: Bool = true,
                             synced: Bool = true) throws(OutputError) {
        try write(Array(contents.utf8), to: path, mode: mode, blocking: blocking, synced: synced)
    }

    public static func write(_ contents: [UInt8], to path: String, mode: mode_t = 0o644, blocking: Bool = true,
                             synced: Bool = true) throws(OutputError) {
        switch try destination(of: path) {
        case let .standardOutput(name):
            try writeDescriptor(1, contents, name: name)
        case let .replace(directory, name, path, _):
            defer { _ = close(directory) }
            try replace(contents, directory, name, path, mode, synced: synced)
        case let .writeThrough(directory, name, path, entry):
            defer { _ = close(directory) }
            try writeThrough(contents, directory, name, path, expecting: entry, blocking: blocking)
        }
    }

    /// Where a write to a path goes, once every rule above has been applied: what `write`
    /// does and what `check` asks the kernel about, decided in one place so the two cannot
    /// disagree. `directory` is the walked directory holding the entry, open; the caller closes it.
    enum Destination {
        /// Standard output (`-`, or a trusted link to stdout's own file); the name for messages.
        case standardOutput(String)
        /// A regular file (`existing`, its lstat) or nothing yet: replaced atomically.
        case replace(directory: Int32, name: String, path: String, existing: stat?)
        /// A FIFO or character device numaguard trusts: written through.
        case writeThrough(directory: Int32, name: String, path: String, entry: stat)
    }

    /// The decisions in the type's comment for `path`, as `write` makes them; nothing is
    /// created or opened for writing. `links`: how many trusted links led here (a link to
    /// nothing is refused; a chain is bounded).
    static func destination(of path: String, links: Int = 0) throws(OutputError) -> Destination {
        if path == "-" && links == 0 { return .standardOutput("standard output") }
        let (directoryPath, name) = AtomicFile.split(path)
        guard !name.isEmpty, name != ".", name != ".." else { throw OutputError(path, "names no file", errno: .invalid) }
        let directory = try TrustedDirectory.open(directoryPath, for: path)
        var handedOver = false
        defer { if !handedOver { _ = close(directory) } }
        guard let entry = try status(directory, name, path) else {
            if links > 0 {
                throw OutputError(path, "is what a symbolic link points to, and it does not exist; numaguard does not create a file "
                                  + "through a link", errno: .noEntry)
            }
            handedOver = true
            return .replace(directory: directory, name: name, path: path, existing: nil)
        }
        switch entry.st_mode & S_IFMT {
        case S_IFREG:
            handedOver = true
            return .replace(directory: directory, name: name, path: path, existing: entry)
        case S_IFLNK:
            try checkTrusted(entry, path, what: "a symbolic link\(linkTarget(directory, name))", in: directory)
            guard links < TrustedDirectory.maximumLinks else { throw OutputError(path, "has too many symbolic links", errno: Errno(ELOOP)) }
            var target = stat(), standardOutput = stat()
            guard fstatat(directory, name, &target, 0) == 0 else {
                throw OutputError(path, "is a symbolic link\(linkTarget(directory, name)) to nothing; numaguard does not create a file "
                                  + "through a link", errno: .noEntry)
            }
            if fstat(1, &standardOutput) == 0, standardOutput.st_dev == target.st_dev, standardOutput.st_ino == target.st_ino {
                return .standardOutput("standard output (\(path))")
            }
            let link = try TrustedDirectory.readLink(directory, name, path)
            let next = PathText.isAbsolute(link) ? link : (directoryPath == "/" ? "" : directoryPath) + "/" + link
            return try destination(of: next, links: links + 1)
        default:
            try refuseUnwritableKind(entry, path)
            try checkTrusted(entry, path, what: kindName(entry), in: directory)
            handedOver = true
            return .writeThrough(directory: directory, name: name, path: path, entry: entry)
        }
    }

    /// certify's `--out DIR`: created (0755) when missing; an existing directory (or one a
    /// trusted link leads to) is used only when owned by root or numaguard's effective user and
    /// writable by no one else (another user could change the certificate after it is written);
    /// anything else is refused. Returns the directory, open (the caller closes it): the files
    /// go in relative to it, so the path cannot be swapped for another directory after the check.
    public static func makeDirectory(_ path: String) throws(OutputError) -> Int32 {
        let (parentPath, name) = AtomicFile.split(path)
        let parent = try TrustedDirectory.open(parentPath, for: path)
        defer { _ = close(parent) }
        var created = false
        do {
            try SystemCall.check("mkdir", path) { mkdirat(parent, name, 0o755) }
            created = true
        } catch where error.errno == Errno(EEXIST) {
            // Decided below from what is there.
        } catch {
            throw OutputError(path, error)
        }
        if created {
            _ = fsync(parent)
            do {
                return try SystemCall.check("open", path) { openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            } catch {
                throw OutputError(path, error)
            }
        }
        guard let entry = try status(parent, name, path) else { throw OutputError(path, "it vanished while being created") }
        let kind = entry.st_mode & S_IFMT
        guard kind == S_IFLNK || kind == S_IFDIR else { throw OutputError(path, "exists and is not a directory", errno: Errno(ENOTDIR)) }
        let directory = try TrustedDirectory.open(path, for: path) // a link is followed only when trusted
        var info = stat()
        guard fstat(directory, &info) == 0 else {
            _ = close(directory)
            throw OutputError(path, "cannot be examined")
        }
        let me = geteuid()
        if info.st_uid != 0 && info.st_uid != me {
            _ = close(directory)
            throw .refusing(path, "is a directory owned by uid \(info.st_uid), neither root nor numaguard's user \(me): "
                            + "its owner could change what numaguard writes there; choose another directory")
        }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            _ = close(directory)
            throw .refusing(path, "is a directory writable by others (mode \(String(info.st_mode & 0o7777, radix: 8))): "
                            + "they could change what numaguard writes there; choose another directory")
        }
        return directory
    }

    /// Replaces `name` inside a directory `makeDirectory` opened and checked: relative to that
    /// descriptor, so swapping the directory's path after the check changes nothing.
    public static func write(_ contents: String, in directory: Int32, name: String, path: String) throws(OutputError) {
        do {
            try AtomicFile.write(Array(contents.utf8), in: directory, name: name, path: path)
        } catch {
            throw OutputError(path, error)
        }
    }

    /// An append-only file (`--events`, `--journal`): opened O_APPEND with O_NOFOLLOW,
    /// O_CLOEXEC and O_NONBLOCK in its directory (walked as for `write`, and made when
    /// `makeDirectories`), created (mode `mode`, and its directory synced) when missing
    /// and `create` allows it. A symbolic link is refused, dangling or not: a link in a shared
    /// directory could point root at any file. An existing entry is used under the same trust
    /// rule as above, and only when it is a regular file with one link (a hard link to another
    /// file, possible in a shared directory when fs.protected_hardlinks is 0, would let its
    /// maker aim root's appends, and the journal's repair, at that file) or, unless
    /// `regularOnly`, a FIFO or character device. O_NONBLOCK: opening a FIFO nobody reads fails
    /// (ENXIO) instead of waiting for a reader, and a full pipe is a failed write (EAGAIN),
    /// never a hang; regular files ignore it. `readable` opens it O_RDWR (the journal is read
    /// back, and repairs a torn last line).
    public static func openAppend(_ path: String, mode: mode_t, readable: Bool = false, create: Bool = true,
                                  regularOnly: Bool = false, makeDirectories: Bool = false) throws(OutputError) -> (fd: Int32, created: Bool) {
        let (directoryPath, name) = AtomicFile.split(path)
        guard !name.isEmpty, name != ".", name != ".." else { throw OutputError(path, "names no file", errno: .invalid) }
        let directory = try TrustedDirectory.open(directoryPath, create: makeDirectories, for: path)
        defer { _ = close(directory) }
        let access = readable ? O_RDWR : O_WRONLY
        let flags = access | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
        for _ in 0..<3 {
            if create, let fd = try self.create(directory, name, path, flags, mode) { return (fd, true) }
            let fd: Int32
            do {
                fd = try SystemCall.check("open", path) { openat(directory, name, flags) }
            } catch where error.errno == .noEntry && create {
                continue // removed in between: create it after all
            } catch where error.errno == Errno(ELOOP) {
                throw OutputError(path, "is a symbolic link\(linkTarget(directory, name)); numaguard does not follow a link here "
                                  + "(in a shared directory it could point at any file): give the real path", errno: Errno(ELOOP))
            } catch where error.errno == Errno(ENXIO) {
                throw OutputError(path, "is a FIFO nobody is reading; numaguard does not wait for a reader", errno: Errno(ENXIO))
            } catch {
                throw OutputError(path, error)
            }
            do throws(OutputError) {
                var entry = stat()
                do { try SystemCall.check("fstat", path) { fstat(fd, &entry) } } catch { throw OutputError(path, error) }
                try checkAppendable(entry, path, regularOnly: regularOnly)
                try checkTrusted(entry, path, what: kindName(entry), in: directory)
            } catch {
                _ = close(fd)
                throw error
            }
            return (fd, false)
        }
        throw OutputError(path, "it kept appearing and disappearing while being opened")
    }

    /// A regular file with exactly one link, or (unless `regularOnly`) a FIFO or character device.
    static func checkAppendable(_ entry: stat, _ path: String, regularOnly: Bool) throws(OutputError) {
        switch entry.st_mode & S_IFMT {
        case S_IFREG:
            guard entry.st_nlink == 1 else {
                throw .refusing(path, "is a regular file with \(entry.st_nlink) hard links; numaguard appends only to a file "
                                + "with one link (a hard link could aim root at another file): give another path")
            }
        case S_IFIFO where !regularOnly, S_IFCHR where !regularOnly:
            return
        default:
            throw .refusing(path, "is \(kindName(entry)), not a regular file")
        }
    }

    /// O_CREAT|O_EXCL (which never follows a link): the new descriptor, its directory synced so
    /// the new entry survives a crash; nil when something is already there.
    static func create(_ directory: Int32, _ name: String, _ path: String, _ flags: Int32, _ mode: mode_t) throws(OutputError) -> Int32? {
        let fd: Int32
        do {
            fd = try SystemCall.check("open", path) { openat(directory, name, flags | O_CREAT | O_EXCL, mode) }
        } catch where error.errno == Errno(EEXIST) {
            return nil
        } catch {
            throw OutputError(path, error)
        }
        do {
            try AtomicFile.syncDirectory(directory, path)
        } catch {
            _ = close(fd)
            throw OutputError(path, error)
        }
        return fd
    }

    // MARK: - The cases

    static func replace(_ contents: [UInt8], _ directory: Int32, _ name: String, _ path: String, _ mode: mode_t,
                        synced: Bool = true) throws(OutputError) {
        do {
            try AtomicFile.write(contents, in: directory, name: name, path: path, mode: mode, synced: synced)
        } catch {
            throw OutputError(path, error)
        }
    }

    /// Opens what is there without creating or truncating anything, makes sure it is still
    /// the entry that was judged (same device and inode), and writes every byte.
    static func writeThrough(_ contents: [UInt8], _ directory: Int32, _ name: String, _ path: String, expecting entry: stat,
                             blocking: Bool) throws(OutputError) {
        let flags = O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | (blocking ? 0 : O_NONBLOCK)
        let fd: Int32
        do {
            fd = try SystemCall.check("open", path) { openat(directory, name, flags) }
        } catch where error.errno == Errno(ENXIO) {
            throw OutputError(path, "is a FIFO nobody is reading; nothing written", errno: Errno(ENXIO))
        } catch {
            throw OutputError(path, error)
        }
        defer { _ = close(fd) }
        var opened = stat()
        guard fstat(fd, &opened) == 0, opened.st_dev == entry.st_dev, opened.st_ino == entry.st_ino else {
            throw OutputError(path, "it was replaced while being opened; nothing written")
        }
        do {
            try writeDescriptor(fd, contents, name: path)
        } catch where error.errno == Errno(EAGAIN) {
            throw OutputError(path, "its reader is not taking more (the pipe is full); the write was cut short", errno: Errno(EAGAIN))
        }
    }

    static func writeDescriptor(_ fd: Int32, _ contents: [UInt8], name: String) throws(OutputError) {
        let failure = contents.withUnsafeBufferPointer { bytes -> SystemCallError? in
            do throws(SystemCallError) {
                try FileHandleWriter.writeAll(fd, bytes, subject: name)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw OutputError(name, failure) }
    }

    // MARK: - Judging an entry

    /// lstat of `name` in `directory`; nil when there is nothing there.
    static func status(_ directory: Int32, _ name: String, _ path: String) throws(OutputError) -> stat? {
        var entry = stat()
        do {
            try SystemCall.check("lstat", path) { fstatat(directory, name, &entry, AT_SYMLINK_NOFOLLOW) }
            return entry
        } catch where error.errno == .noEntry {
            return nil
        } catch {
            throw OutputError(path, error)
        }
    }

    static func refuseUnwritableKind(_ entry: stat, _ path: String) throws(OutputError) {
        switch entry.st_mode & S_IFMT {
        case S_IFDIR: throw OutputError(path, "is a directory", errno: Errno(EISDIR))
        case S_IFBLK: throw OutputError(path, "is a block device; numaguard does not write onto disks")
        // open(2) of a socket fails (ENXIO) whoever listens: it could never be written through.
        case S_IFSOCK: throw OutputError(path, "is a socket, which cannot be opened as a file; give a file, FIFO or device", errno: Errno(ENXIO))
        default: return
        }
    }

    /// The trust rule in the type's comment. `entry` is the lstat (or fstat) of the entry,
    /// `directory` the descriptor of the directory holding it.
    static func checkTrusted(_ entry: stat, _ path: String, what: String, in directory: Int32) throws(OutputError) {
        var parent = stat()
        guard fstat(directory, &parent) == 0 else { throw OutputError(path, "its directory cannot be examined") }
        let directoryPath = AtomicFile.split(path).directory
        let me = geteuid()
        let writableByOthers = parent.st_mode & (S_IWGRP | S_IWOTH) != 0
        let foreignOwner = parent.st_uid != 0 && parent.st_uid != me
        guard writableByOthers || foreignOwner else { return }
        let sticky = parent.st_mode & S_ISVTX != 0
        if entry.st_uid == me && sticky && !foreignOwner { return }
        let why = foreignOwner ? "its directory \(directoryPath) belongs to uid \(parent.st_uid)"
            : "its directory \(directoryPath) is writable by others (mode \(String(parent.st_mode & 0o7777, radix: 8)))"
        throw .refusing(path, "is \(what) owned by uid \(entry.st_uid) and \(why), so another user could have put it there "
                        + "or swap it; numaguard does not write through it: remove it or choose another path")
    }

    static func kindName(_ entry: stat) -> String {
        switch entry.st_mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "a special file"
        }
    }

    /// ` (to TARGET)` for messages; empty when it cannot be read.
    static func linkTarget(_ directory: Int32, _ name: String) -> String {
        (try? TrustedDirectory.readLink(directory, name, name)).map { " (to \($0))" } ?? ""
    }
}
