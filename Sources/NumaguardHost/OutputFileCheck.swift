#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// A service's output judged once at start (watch's `--textfile`), by the same decisions
/// that write it at every sample, so a path refused at every write also stops the start
/// (exit 73) and a path accepted at start is not refused later for a reason known then.
extension OutputFile {
    /// Everything `write(_:to:)` would decide for `path`, without writing: the same walk
    /// of its directory (a link on the way followed only when trusted), the same trust rule,
    /// the same refusals (a directory, a block device, a socket, a dangling link); then what
    /// the kernel would refuse, asked without creating, opening or changing anything:
    /// - replaced atomically (a regular file, or nothing yet): whether a file can be created
    ///   in the directory, asked with O_TMPFILE (an unnamed file, gone when closed: nothing
    ///   appears in the directory, so no textfile collector sees a stray file), and whether
    ///   rename(2) may replace the existing file (not in a sticky directory when it is another
    ///   user's and numaguard lacks CAP_FOWNER);
    /// - written through (a FIFO, a character device): whether numaguard's effective user may
    ///   write it (faccessat). It is not opened: a FIFO's reader would see the end of its
    ///   input when the check closed it, and opening a device can do something (a watchdog).
    ///   A FIFO nobody reads yet passes: a reader may come, and a service reports each write
    ///   that finds none;
    /// - standard output: whether descriptor 1 is open for writing.
    /// A full disk, a reader that stops reading or a file changed afterwards still fail a
    /// later write; those the check cannot know.
    public static func check(_ path: String) throws(OutputError) {
        switch try destination(of: path) {
        case let .standardOutput(name):
            try checkStandardOutput(name)
        case let .replace(directory, _, path, existing):
            defer { _ = close(directory) }
            try checkCreatable(directory, path)
            if let existing { try checkReplaceable(existing, in: directory, path) }
        case let .writeThrough(directory, name, path, _):
            defer { _ = close(directory) }
            do {
                try SystemCall.check("faccessat", path) { faccessat(directory, name, W_OK, AT_EACCESS) }
            } catch {
                throw OutputError(path, "cannot be opened for writing: \(error.errno)", errno: error.errno)
            }
        }
    }

    static func checkStandardOutput(_ name: String) throws(OutputError) {
        let flags: Int32
        do {
            flags = try SystemCall.check("fcntl", name) { fcntl(1, F_GETFL) }
        } catch {
            throw OutputError(name, "is closed: \(error.errno)", errno: error.errno)
        }
        guard flags & O_ACCMODE != O_RDONLY else { throw OutputError(name, "is open for reading only", errno: Errno(EBADF)) }
    }

    /// AtomicFile writes a new `.NAME.XXXXXX` in the directory: can a file be made there?
    /// A filesystem without O_TMPFILE (EOPNOTSUPP; EISDIR from a kernel older than 3.11) is
    /// asked for write and search permission instead, which misses only its own refusals.
    static func checkCreatable(_ directory: Int32, _ path: String) throws(OutputError) {
        let directoryPath = AtomicFile.split(path).directory
        let failure: Errno
        do {
            let unnamed = try SystemCall.check("open", directoryPath) { openat(directory, ".", clinux_o_tmpfile | O_WRONLY | O_CLOEXEC, 0o600) }
            _ = close(unnamed)
            return
        } catch where error.errno == Errno(EOPNOTSUPP) || error.errno == Errno(EISDIR) {
            do {
                try SystemCall.check("faccessat", directoryPath) { faccessat(directory, ".", W_OK | X_OK, AT_EACCESS) }
                return
            } catch {
                failure = error.errno
            }
        } catch {
            failure = error.errno
        }
        throw OutputError(path, "no file can be created in its directory \(directoryPath) (the new contents go to a temporary file "
                          + "there, renamed over it): \(failure)", errno: failure)
    }

    /// rename(2) over an entry of a sticky directory is refused (EPERM) unless numaguard's user
    /// owns the entry or the directory, or holds CAP_FOWNER (root does): a file another user
    /// left in /tmp is replaced by root's watch, never by a service user's.
    static func checkReplaceable(_ existing: stat, in directory: Int32, _ path: String) throws(OutputError) {
        var parent = stat()
        do {
            try SystemCall.check("fstat", path) { fstat(directory, &parent) }
        } catch {
            throw OutputError(path, error)
        }
        let me = geteuid()
        guard parent.st_mode & S_ISVTX != 0, existing.st_uid != me, parent.st_uid != me,
              !Capabilities.current().holds(.fowner) else { return }
        throw .refusing(path, "is a regular file owned by uid \(existing.st_uid) in the sticky directory "
                        + "\(AtomicFile.split(path).directory) of uid \(parent.st_uid): only they (or CAP_FOWNER) may replace it, "
                        + "and numaguard runs as uid \(me); remove it or choose another path")
    }
}
