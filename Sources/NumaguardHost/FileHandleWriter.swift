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
}
