#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

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
        let (directoryPath, name) = split(path)
        let directory = try SystemCall.check("open", directoryPath) { systemOpen(directoryPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = close(directory) }
        try write(contents, in: directory, name: name, path: path, mode: mode)
    }

    /// The same inside an open directory (OutputFile's walked one): the temporary file is
    /// made, renamed and synced relative to `directory`, so nothing above it is looked up
    /// again. `path` names it in errors. `synced: false` for a file rewritten every interval
    /// (watch's textfile): still replaced atomically, so a reader never sees half of it, but
    /// not fsync'ed: durability buys nothing for a file the next sample replaces, and the two
    /// syncs were half of watch's CPU on a 1 s interval (issue 17).
    public static func write(_ contents: [UInt8], in directory: Int32, name: String, path: String, mode: mode_t = 0o644,
                             synced: Bool = true) throws(SystemCallError) {
        guard !name.isEmpty, name != ".", name != "..", !name.utf8.contains(0x2F) else {
            throw SystemCallError(call: "open", subject: path, errno: .invalid)
        }
        let (descriptor, temporaryName) = try create(directory, ".\(name).", path: path)
        let temporaryPath = prefix(path) + temporaryName
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
            if synced { try SystemCall.check("fsync", temporaryPath) { fsync(descriptor) } }
            needsClose = false
            try SystemCall.check("close", temporaryPath) { close(descriptor) }
            try SystemCall.check("rename", "\(temporaryPath) -> \(path)") { renameat(directory, temporaryName, directory, name) }
        } catch {
            if needsClose { _ = close(descriptor) }
            _ = unlinkat(directory, temporaryName, 0)
            throw error
        }
        if synced { try syncDirectory(directory, path) }
    }

    /// mkstemp's contract (a new file, O_EXCL, mode 0600, six random characters) plus
    /// O_CLOEXEC and O_NOFOLLOW, which Glibc's mkostemp would give but Swift does not import,
    /// in `directory`: the descriptor and the name made.
    static func create(_ directory: Int32, _ stem: String, path: String) throws(SystemCallError) -> (Int32, String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            let candidate = stem + String((0..<6).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
            do {
                let descriptor = try SystemCall.check("open", prefix(path) + candidate) {
                    openat(directory, candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
                }
                return (descriptor, candidate)
            } catch where error.errno == Errno(EEXIST) && attempt < 100 {
                attempt += 1
            }
        }
    }

    /// Everything up to and including the last slash; empty for a bare name.
    static func prefix(_ path: String) -> String {
        guard let cut = PathText.cutAtLastSlash(path) else { return "" }
        return String(cut.before) + "/"
    }

    /// The directory part (`.` when there is none) and the last component.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let cut = PathText.cutAtLastSlash(path) else { return (".", path) }
        return (cut.before.isEmpty ? "/" : String(cut.before), String(cut.after))
    }

    /// fsync on the directory makes the new entry durable. Filesystems that cannot sync a
    /// directory say EINVAL; the rename has happened, so that is not a failure.
    public static func syncDirectory(_ directory: String) throws(SystemCallError) {
        let descriptor = try SystemCall.check("open", directory) { systemOpen(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = close(descriptor) }
        try syncDirectory(descriptor, directory)
    }

    /// The same on an open directory; `path` names it in errors.
    public static func syncDirectory(_ descriptor: Int32, _ path: String) throws(SystemCallError) {
        do {
            try SystemCall.check("fsync", path) { fsync(descriptor) }
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
