#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Replaces a file so that a reader (node_exporter's textfile collector, a CI job picking up
/// a report) sees either the old contents or the new, never a half-written file.
public enum AtomicFile {
    /// Writes `contents` to a fresh `.<name>.XXXXXX` beside `path` (same directory, so the
    /// same filesystem), syncs it, makes it mode `mode` (0644 by default, whatever the umask:
    /// the collector usually runs as another user), renames it over `path`, and syncs the
    /// directory so the rename itself survives a crash. On failure the temporary file is
    /// removed and `path` is untouched.
    public static func write(_ contents: String, to path: String, mode: mode_t = 0o644) throws(SystemCallError) {
        try write(Array(contents.utf8), to: path, mode: mode)
    }

    /// The same for binary contents (a capture's tar).
    public static func write(_ contents: [UInt8], to path: String, mode: mode_t = 0o644) throws(SystemCallError) {
        let (directory, name) = split(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw SystemCallError(call: "open", subject: path, errno: .invalid)
        }
        let (descriptor, temporaryPath) = try create(prefix(path) + ".\(name).")
        var needsClose = true
        do throws(SystemCallError) {
            // withUnsafeBufferPointer rethrows untyped, so the error comes out as a value.
            let failure = contents.withUnsafeBufferPointer { bytes -> SystemCallError? in
                do throws(SystemCallError) {
                    try FileHandleWriter.writeAll(descriptor, bytes, subject: temporaryPath)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
            try SystemCall.check("fchmod", temporaryPath) { fchmod(descriptor, mode) }
            try SystemCall.check("fsync", temporaryPath) { fsync(descriptor) }
            needsClose = false
            try SystemCall.check("close", temporaryPath) { close(descriptor) }
            try SystemCall.check("rename", "\(temporaryPath) -> \(path)") { rename(temporaryPath, path) }
        } catch {
            if needsClose { _ = close(descriptor) }
            _ = unlink(temporaryPath)
            throw error
        }
        try syncDirectory(directory)
    }

    /// mkstemp's contract (a new file, O_EXCL, mode 0600, six random characters) plus
    /// O_CLOEXEC, which Glibc's mkostemp would give but Swift does not import.
    static func create(_ stem: String) throws(SystemCallError) -> (Int32, String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            let candidate = stem + String((0..<6).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
            do {
                let descriptor = try SystemCall.check("open", candidate) {
                    systemOpen(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                }
                return (descriptor, candidate)
            } catch where error.errno == Errno(EEXIST) && attempt < 100 {
                attempt += 1
            }
        }
    }

    /// Everything up to and including the last slash; empty for a bare name.
    static func prefix(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }

    /// The directory part (`.` when there is none) and the last component.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// fsync on the directory makes the new entry durable. Filesystems that cannot sync a
    /// directory say EINVAL; the rename has happened, so that is not a failure.
    public static func syncDirectory(_ directory: String) throws(SystemCallError) {
        let descriptor = try SystemCall.check("open", directory) { systemOpen(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = close(descriptor) }
        do {
            try SystemCall.check("fsync", directory) { fsync(descriptor) }
        } catch where error.errno == .invalid {
            return
        }
    }
}

// The libc calls whose names AtomicFile's own members shadow.
func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
    open(path, flags, mode)
}
