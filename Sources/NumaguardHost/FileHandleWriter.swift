#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes straight to a file descriptor, retrying short writes, so large reports are
/// never truncated when stdout is a pipe.
public enum FileHandleWriter {
    public static func write(_ fd: Int32, _ string: String) {
        var copy = string
        copy.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                guard let base = buffer.baseAddress else { return }
                let written = systemWrite(fd, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

