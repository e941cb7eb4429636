#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardHost

/// `watch --textfile` checked once at start, so a path that can never be written (a
/// directory, a missing or read-only directory) stops the watch with exit 73 before it
/// begins instead of failing at every sample. Nothing is left behind: the check creates a
/// file where the textfile's temporary file would go, and removes it.
enum TextfileCheck {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    static func check(_ path: String) throws(Problem) {
        guard !path.isEmpty else { throw Problem(description: "the path is empty") }
        guard !path.hasSuffix("/") else { throw Problem(description: "the path names a directory (it ends in /)") }
        var info = stat()
        do {
            try SystemCall.check("stat", path) { stat(path, &info) }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                throw Problem(description: "it is a directory")
            case S_IFREG:
                break
            default:
                // A device or FIFO is written through, not replaced: it must take writes itself.
                do {
                    try SystemCall.check("access", path) { access(path, W_OK) }
                } catch {
                    throw Problem(description: "it is not writable: \(error.errno)")
                }
                return
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            // Not there yet (or not stat-able): whether it can be created is the question.
        }
        try probe(directory(of: path), beside: path)
    }

    /// Creates and removes a file beside `path`, as the atomic replacement will need to.
    private static func probe(_ directory: String, beside path: String) throws(Problem) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var attempt = 0
        while true {
            let candidate = (directory == "/" ? "/" : directory + "/") + ".\(name).numaguard-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            do {
                let fd = try SystemCall.check("open", candidate) { open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
                close(fd)
                // Only a stray empty file is at stake if this fails; the watch can still write.
                _ = try? SystemCall.check("unlink", candidate) { unlink(candidate) }
                return
            } catch where error.errno == Errno(EEXIST) && attempt < 10 {
                attempt += 1
            } catch {
                throw Problem(description: "cannot create a file in \(directory): \(error.errno)")
            }
        }
    }

    /// Everything before the last slash: `.` for a bare name, `/` for a file at the root.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}
