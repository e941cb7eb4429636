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
        var copy = string
        copy.withUTF8 { buffer in _ = try? writeAll(fd, buffer, subject: "fd \(fd)") }
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
