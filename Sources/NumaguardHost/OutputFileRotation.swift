#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One generation of rotation for an append-only file (`watch --series`): the file is renamed
/// to `PATH.1` and the caller opens a fresh `PATH` with `openAppend`.
///
/// Everything happens relative to the file's directory, walked under the same trust rule as
/// every output (TrustedDirectory), and rename(2) never follows a link: an old `PATH.1` that
/// is a symbolic link (planted or not) is replaced as an entry, its target never touched;
/// the same for a hard link. Only the file numaguard has open is renamed: when `PATH` is no
/// longer it (moved away by another program, replaced), nothing is renamed and the caller
/// opens what is at `PATH` now, by openAppend's rules (a planted link there is refused).
extension OutputFile {
    public enum Rotation: Sendable, Equatable {
        /// `PATH` was renamed to `PATH.1`.
        case rotated
        /// `PATH` is not the open file any more (or is gone): nothing was renamed.
        case notOurs
    }

    /// `PATH.1` for `path`.
    public static func rotatedName(_ path: String) -> String { path + ".1" }

    /// Renames `path`, open as `fd`, to `PATH.1` (replacing an old one), then syncs the
    /// directory (best effort: the rename itself is what matters to the writer).
    public static func rotate(_ path: String, open fd: Int32) throws(OutputError) -> Rotation {
        let (directoryPath, name) = AtomicFile.split(path)
        guard !name.isEmpty, name != ".", name != ".." else { throw OutputError(path, "names no file", errno: .invalid) }
        let directory = try TrustedDirectory.open(directoryPath, for: path)
        defer { _ = close(directory) }
        var open = stat()
        do { try SystemCall.check("fstat", path) { fstat(fd, &open) } } catch { throw OutputError(path, error) }
        guard let entry = try status(directory, name, path), entry.st_dev == open.st_dev, entry.st_ino == open.st_ino else {
            return .notOurs
        }
        let old = rotatedName(path)
        let oldName = name + ".1"
        if let previous = try status(directory, oldName, old), previous.st_mode & S_IFMT == S_IFDIR {
            throw OutputError(old, "is a directory; numaguard rotates \(path) to it and replaces only a file there", errno: Errno(EISDIR))
        }
        do {
            try SystemCall.check("rename", "\(path) to \(old)") { renameat(directory, name, directory, oldName) }
        } catch {
            throw OutputError(path, error)
        }
        _ = try? AtomicFile.syncDirectory(directory, path)
        return .rotated
    }
}
