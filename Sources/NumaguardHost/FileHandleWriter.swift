#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes straight to a file descriptor, retrying short writes, so large reports are
/// never truncated when stdout is a pipe.
public enum FileHandleWriter {
    /// Best effort: a closed stdout or stderr has nobody left to tell.
    public static func write(_ fd: Int32, _ string: String) {
        try? writeAll(fd, string, subject: "fd \(fd)")
    }

    /// For output whose failure must be reported (watch's --events): every byte or the error.
    public static func writeAll(_ fd: Int32, _ string: String, subject: @autoclosure () -> String) throws(SystemCallError) {
        var copy = string
        let name = subject()
        // withUTF8 rethrows untyped: carry the typed error out by hand.
        var failure: SystemCallError?
        copy.withUTF8 { buffer in
            do throws(SystemCallError) { try writeAll(fd, buffer, subject: name) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The one short-write loop (EINTR retried by the errno funnel), for the terminal and for
    /// AtomicFile.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>, subject: @autoclosure () -> String) throws(SystemCallError) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            offset += try SystemCall.check("write", subject()) { systemWrite(fd, base + offset, bytes.count - offset) }
        }
    }

    /// One whole line to an O_APPEND descriptor (the journal, watch's --events), so it never
    /// lands torn: the line goes to one write(2); a short write is continued where it stopped;
    /// and when the rest cannot be written (a full disk), a regular file is cut back to where
    /// the line began, unless another writer has appended since, so the next line is not glued
    /// to a fragment.
    public static func appendLine(_ fd: Int32, _ line: UnsafeBufferPointer<UInt8>, subject: @autoclosure () -> String) throws(SystemCallError) {
        guard let base = line.baseAddress else { return }
        var written = 0
        do throws(SystemCallError) {
            while written < line.count {
                let count = try SystemCall.check("write", subject()) { systemWrite(fd, base + written, line.count - written) }
                // write(2) of a non-zero count returns 0 only on a device that takes nothing: do not spin.
                if count == 0 { throw SystemCallError(call: "write", subject: subject(), errno: Errno(EIO)) }
                written += count
            }
        } catch {
            if written > 0 { cutBack(fd, written) }
            throw error
        }
    }

    /// Removes the `written` bytes just appended to a regular file, if they are still its end.
    static func cutBack(_ fd: Int32, _ written: Int) {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return }
        let end = lseek(fd, 0, SEEK_CUR)
        guard end >= off_t(written), end == info.st_size else { return }
        _ = ftruncate(fd, end - off_t(written))
    }
}
