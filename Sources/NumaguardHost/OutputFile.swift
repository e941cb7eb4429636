#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why an output could not be created or written: the path and the reason, in words a user
/// can act on (exit 73, EX_CANTCREAT, in every command).
public struct OutputError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var errno: Errno?

    public init(_ path: String, _ reason: String, errno: Errno? = nil) {
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    init(_ path: String, _ error: SystemCallError) {
        self.init(path, error.description, errno: error.errno)
    }

    public var description: String { "cannot write \(path): \(reason)" }
}

/// The one way numaguard opens what a user names as an output (`--out`, `--textfile`,
/// certify's directory, launch records, and, appending, `--events` and `--journal`).
///
/// Decisions, from lstat of the path:
/// - `-` is standard output.
/// - A regular file, or nothing yet: written to a temporary file beside it and renamed over
///   it (AtomicFile), so a reader sees the old contents or the new.
/// - A FIFO, a character device or a socket (/dev/null, a terminal, a pipe someone reads):
///   written through, as tee does; never replaced by a file.
/// - A symbolic link: followed only when it is trusted (below). Through it, stdout's own file
///   (`/dev/stdout` when stdout is redirected) is standard output; a regular file is replaced
///   atomically at its real path, so the link stays; anything else is written through. A
///   dangling link is refused: nothing is ever created through a link.
/// - A directory or a block device is refused (numaguard never writes reports onto disks).
///
/// Trust, like fs.protected_symlinks and fs.protected_fifos but for root too and whatever
/// those sysctls say: when the entry's directory is *shared* (writable by group or others, or
/// owned by a user that is neither root nor numaguard's effective user), another user could
/// have planted the entry or could swap it, so an existing link, FIFO or device there is used
/// only when it is numaguard's effective user's own and the directory is sticky (only the
/// owner may then rename or remove it). Only the entry's own directory is checked, not its
/// ancestors.
public enum OutputFile {
    public static func write(_ contents: String, to path: String, mode: mode_t = 0o644) throws(OutputError) {
        try write(Array(contents.utf8), to: path, mode: mode)
    }

    public static func write(_ contents: [UInt8], to path: String, mode: mode_t = 0o644) throws(OutputError) {
        if path == "-" { return try writeDescriptor(1, contents, name: "standard output") }
        guard let entry = try status(path, follow: false) else { return try replace(contents, path, mode) }
        switch entry.st_mode & S_IFMT {
        case S_IFREG: return try replace(contents, path, mode)
        case S_IFLNK: return try writeThroughLink(contents, path, link: entry, mode: mode)
        default:
            try refuseUnwritableKind(entry, path)
            try checkTrusted(entry, path, what: kindName(entry))
            try writeThrough(contents, path, expecting: entry, follow: false)
        }
    }

    /// certify's `--out DIR`: created (0755) when missing; an existing directory is used, a
    /// link to one only when trusted, anything else is refused.
    public static func makeDirectory(_ path: String) throws(OutputError) {
        do {
            try SystemCall.check("mkdir", path) { mkdir(path, 0o755) }
            return
        } catch where error.errno == Errno(EEXIST) {
            // Decided below from what is there.
        } catch {
            throw OutputError(path, error)
        }
        guard let entry = try status(path, follow: false) else { throw OutputError(path, "it vanished while being created") }
        if entry.st_mode & S_IFMT == S_IFLNK {
            try checkTrusted(entry, path, what: "a symbolic link")
            guard let target = try status(path, follow: true) else { throw OutputError(path, "is a dangling symbolic link") }
            if target.st_mode & S_IFMT == S_IFDIR { return }
        } else if entry.st_mode & S_IFMT == S_IFDIR {
            return
        }
        throw OutputError(path, "exists and is not a directory", errno: Errno(ENOTDIR))
    }

    /// An append-only file (`--events`, `--journal`): opened O_APPEND with O_NOFOLLOW and
    /// O_CLOEXEC, created (mode `mode`, and its directory synced) when missing. A symbolic link
    /// is refused, dangling or not: a link in a shared directory could point root at any file.
    /// An existing file is used under the same trust rule as above. `readable` opens it O_RDWR
    /// (the journal repairs a torn last line).
    public static func openAppend(_ path: String, mode: mode_t, readable: Bool = false) throws(OutputError) -> (fd: Int32, created: Bool) {
        let access = readable ? O_RDWR : O_WRONLY
        let flags = access | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY
        for _ in 0..<3 {
            if let fd = try create(path, flags, mode) { return (fd, true) }
            let fd: Int32
            do {
                fd = try SystemCall.check("open", path) { systemOpen(path, flags) }
            } catch where error.errno == .noEntry {
                continue // removed in between: create it after all
            } catch where error.errno == Errno(ELOOP) {
                throw OutputError(path, "is a symbolic link\(linkTarget(path)); numaguard does not follow a link here "
                                  + "(in a shared directory it could point at any file): give the real path", errno: Errno(ELOOP))
            } catch {
                throw OutputError(path, error)
            }
            var entry = stat()
            do {
                try SystemCall.check("fstat", path) { fstat(fd, &entry) }
            } catch {
                _ = close(fd)
                throw OutputError(path, error)
            }
            do {
                try checkTrusted(entry, path, what: kindName(entry))
            } catch {
                _ = close(fd)
                throw error
            }
            return (fd, false)
        }
        throw OutputError(path, "it kept appearing and disappearing while being opened")
    }

    /// O_CREAT|O_EXCL (which never follows a link): the new descriptor, its directory synced so
    /// the new entry survives a crash; nil when something is already there.
    static func create(_ path: String, _ flags: Int32, _ mode: mode_t) throws(OutputError) -> Int32? {
        let fd: Int32
        do {
            fd = try SystemCall.check("open", path) { systemOpen(path, flags | O_CREAT | O_EXCL, mode) }
        } catch where error.errno == Errno(EEXIST) {
            return nil
        } catch {
            throw OutputError(path, error)
        }
        do {
            try AtomicFile.syncDirectory(AtomicFile.split(path).directory)
        } catch {
            _ = close(fd)
            throw OutputError(path, error)
        }
        return fd
    }

    // MARK: - The cases

    static func replace(_ contents: [UInt8], _ path: String, _ mode: mode_t) throws(OutputError) {
        do {
            try AtomicFile.write(contents, to: path, mode: mode)
        } catch {
            throw OutputError(path, error)
        }
    }

    static func writeThroughLink(_ contents: [UInt8], _ path: String, link: stat, mode: mode_t) throws(OutputError) {
        try checkTrusted(link, path, what: "a symbolic link\(linkTarget(path))")
        guard let target = try status(path, follow: true) else {
            throw OutputError(path, "is a symbolic link\(linkTarget(path)) to nothing; numaguard does not create a file through a link",
                              errno: .noEntry)
        }
        var standardOutput = stat()
        if fstat(1, &standardOutput) == 0, standardOutput.st_dev == target.st_dev, standardOutput.st_ino == target.st_ino {
            return try writeDescriptor(1, contents, name: "standard output (\(path))")
        }
        switch target.st_mode & S_IFMT {
        case S_IFREG:
            let real: String
            do {
                real = try SystemCall.checkPointer("realpath", path) { realpath(path, nil) }.consumed()
            } catch {
                throw OutputError(path, error)
            }
            try replace(contents, real, mode)
        default:
            try refuseUnwritableKind(target, path)
            try writeThrough(contents, path, expecting: target, follow: true)
        }
    }

    /// Opens what is there without creating or truncating anything, makes sure it is still
    /// the entry that was judged (same device and inode), and writes every byte.
    static func writeThrough(_ contents: [UInt8], _ path: String, expecting entry: stat, follow: Bool) throws(OutputError) {
        let flags = O_WRONLY | O_CLOEXEC | O_NOCTTY | (follow ? 0 : O_NOFOLLOW)
        let fd: Int32
        do {
            fd = try SystemCall.check("open", path) { systemOpen(path, flags) }
        } catch {
            throw OutputError(path, error)
        }
        defer { _ = close(fd) }
        var opened = stat()
        guard fstat(fd, &opened) == 0, opened.st_dev == entry.st_dev, opened.st_ino == entry.st_ino else {
            throw OutputError(path, "it was replaced while being opened; nothing written")
        }
        try writeDescriptor(fd, contents, name: path)
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

    /// lstat or stat; nil when there is nothing at `path`.
    static func status(_ path: String, follow: Bool) throws(OutputError) -> stat? {
        var entry = stat()
        do {
            if follow {
                try SystemCall.check("stat", path) { stat(path, &entry) }
            } else {
                try SystemCall.check("lstat", path) { lstat(path, &entry) }
            }
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
        default: return
        }
    }

    /// The trust rule in the type's comment. `entry` is the lstat (or fstat) of the entry.
    static func checkTrusted(_ entry: stat, _ path: String, what: String) throws(OutputError) {
        let directory = AtomicFile.split(path).directory
        var parent = stat()
        guard stat(directory, &parent) == 0 else { return } // the open that follows names the problem
        let me = geteuid()
        let writableByOthers = parent.st_mode & (S_IWGRP | S_IWOTH) != 0
        let foreignOwner = parent.st_uid != 0 && parent.st_uid != me
        guard writableByOthers || foreignOwner else { return }
        let sticky = parent.st_mode & S_ISVTX != 0
        if entry.st_uid == me && sticky && !foreignOwner { return }
        let why = foreignOwner ? "its directory \(directory) belongs to uid \(parent.st_uid)"
            : "its directory \(directory) is writable by others (mode \(String(parent.st_mode & 0o7777, radix: 8)))"
        throw OutputError(path, "is \(what) owned by uid \(entry.st_uid) and \(why), so another user could have put it there "
                          + "or swap it; numaguard does not write through it: remove it or choose another path",
                          errno: .notPermitted)
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
    static func linkTarget(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBufferPointer { bytes -> Int in
            guard let base = bytes.baseAddress else { return -1 }
            return readlink(path, base, bytes.count - 1)
        }
        guard count > 0 else { return "" }
        return " (to \(String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)))"
    }
}

private extension UnsafeMutablePointer where Pointee == CChar {
    /// The C string, freed: realpath(path, nil) mallocs it.
    func consumed() -> String {
        defer { free(self) }
        return String(cString: self)
    }
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
    open(path, flags, mode)
}
