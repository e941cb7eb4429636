#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardHost

/// Where `watch --series PATH` appends its sample lines, bounded by size.
///
/// Opened as `--events` is (OutputFile.openAppend: O_APPEND, a symbolic link refused, dangling
/// or not; a regular file with one link, or a FIFO or character device written through; a
/// socket refused; the trust rule for shared directories), and each line goes out in one
/// write(2), never torn (FileHandleWriter.appendLine cuts a failed line back off a regular file).
///
/// Bounded: before a line would take a regular file past `maxSize`, the file is renamed to
/// `PATH.1` (one generation, replacing the old one as an entry: OutputFile.rotate) and a new
/// `PATH` is created for the line. A FIFO or device is never rotated (it stores nothing). A
/// line that cannot be written (a full disk, a rotation or reopen refused) is thrown for the
/// watch to report; it is dropped, never written past the bound, and the next line tries again
/// (reopening `PATH` by the same rules if it had to be closed).
public final class SeriesSink {
    let path: String
    let maxSize: Int
    /// nil after a rotation whose reopen failed: opened again at the next line.
    private var fd: Int32?

    /// The least `--series-max-size`: a few lines must fit in each generation.
    public static let minimumSize = 4096
    /// `--series-max-size` when not given.
    public static let defaultSize = 64 << 20

    /// `path` `-` is standard output (never rotated).
    init(path: String, maxSize: Int = SeriesSink.defaultSize) throws(OutputError) {
        self.path = path
        self.maxSize = max(maxSize, Self.minimumSize)
        fd = path == "-" ? 1 : try OutputFile.openAppend(path, mode: 0o644).fd
    }

    deinit {
        if let fd, fd != 1 { close(fd) }
    }

    /// Whether the series is open on the same file as `other` (same device and inode): a path
    /// spelled differently (`./e.jsonl`, a hard link) is caught where comparing the text is
    /// not, before rotation could rename the events away.
    func isSameFile(as other: Int32) -> Bool {
        guard let fd, fd != 1, other != 1 else { return false }
        var mine = stat(), theirs = stat()
        guard fstat(fd, &mine) == 0, fstat(other, &theirs) == 0 else { return false }
        return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino
    }

    /// Appends `line` (one line, with its newline), rotating first when it would not fit.
    func write(_ line: String) throws(OutputError) {
        var fd = try descriptor()
        if fd != 1, try wouldOverflow(fd, adding: line.utf8.count) {
            // Renamed to PATH.1, or PATH is not this file any more: either way what is at PATH
            // now is opened by openAppend's rules (created when missing, a link planted there
            // in between refused).
            _ = try OutputFile.rotate(path, open: fd)
            close(fd)
            self.fd = nil
            fd = try descriptor()
        }
        let subject = fd == 1 ? "stdout" : path
        do {
            try Self.appendLine(fd, line, subject: subject)
        } catch {
            throw OutputError(subject, error.description, errno: error.errno)
        }
    }

    /// One whole line in one write(2) (FileHandleWriter.appendLine), for the events and the series.
    static func appendLine(_ fd: Int32, _ line: String, subject: String) throws(SystemCallError) {
        var copy = line
        // withUTF8 rethrows untyped: carry the typed error out by hand.
        let failure: SystemCallError? = copy.withUTF8 { bytes in
            do throws(SystemCallError) {
                try FileHandleWriter.appendLine(fd, bytes, subject: subject)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    private func descriptor() throws(OutputError) -> Int32 {
        if let fd { return fd }
        let opened = try OutputFile.openAppend(path, mode: 0o644).fd
        fd = opened
        return opened
    }

    /// Whether `count` more bytes would take a non-empty regular file past the bound.
    private func wouldOverflow(_ fd: Int32, adding count: Int) throws(OutputError) -> Bool {
        var info = stat()
        do {
            try SystemCall.check("fstat", path) { fstat(fd, &info) }
        } catch {
            throw OutputError(path, error.description, errno: error.errno)
        }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 else { return false }
        let (total, overflow) = Int(info.st_size).addingReportingOverflow(count)
        return overflow || total > maxSize
    }
}
