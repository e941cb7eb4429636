/// A process's command line as match rules and `inspect --name` see it: the arguments of
/// /proc/PID/cmdline joined by single spaces, and no more than its first `matchedBytes`.
///
/// Why a cap: any local user can start a process whose command line is megabytes long (Linux
/// allows a quarter of the stack limit, 6 MiB under `ulimit -s unlimited`), and even a linear
/// matcher then spends a second per such process on every rediscovery; twenty of them would
/// stall watch for half a minute. Real command lines are far shorter (one argument is at most
/// 128 KiB), and a pattern that needs to see past the first 64 KiB says so in no policy we
/// know of. The README documents the limit.
public enum CommandLineText {
    public static let matchedBytes = 64 * 1024

    /// `raw` is the file's contents (NUL-separated arguments, usually NUL-terminated).
    public static func matchable(_ raw: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(raw.utf8.count, matchedBytes))
        var pendingSpace = false
        for byte in raw.utf8 {
            if byte == 0 {
                pendingSpace = !bytes.isEmpty
                continue
            }
            if pendingSpace {
                guard bytes.count < matchedBytes else { break }
                bytes.append(0x20)
                pendingSpace = false
            }
            guard bytes.count < matchedBytes else { break }
            bytes.append(byte)
        }
        // Cut back to a whole character: a UTF-8 sequence split by the cap would decode as U+FFFD.
        if bytes.count == matchedBytes {
            var end = bytes.count
            while end > 0 && bytes[end - 1] & 0xC0 == 0x80 { end -= 1 }
            if end > 0 && bytes[end - 1] >= 0xC0 { end -= 1 } else { end = bytes.count }
            bytes.removeSubrange(end...)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
