#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore

/// The directory an output (or a trusted input) goes into, opened component by component.
///
/// Checking only the last directory lets a symbolic link higher up redirect root: another
/// user makes `shared/reports` a link to `/etc`, root writes `shared/reports/x.conf`. So the
/// path is walked from `/` (or the working directory) with openat and O_NOFOLLOW, one
/// component at a time. A component that is a symbolic link is followed only when
/// OutputFile's trust rule accepts it in the directory that holds it (not shared, or the
/// link numaguard's effective user's own in a sticky directory): system links such as
/// /var/run -> /run in root's directories pass, a link another user could have planted does
/// not. The link's target is walked the same way (at most 40 links, as the kernel allows).
/// Everything after is done relative to the descriptor returned, so nothing above it can be
/// swapped in between.
enum TrustedDirectory {
    /// The kernel's MAXSYMLINKS, as every walk of numaguard's counts it.
    static let maximumLinks = RootedPath.maximumLinks
    /// O_PATH (CLinux: glibc defines it only under _GNU_SOURCE): a descriptor that names a
    /// directory to look names up in, needing search permission only.
    static var openPath: Int32 { clinux_o_path }

    /// A descriptor for the directory `path` (O_RDONLY, so it can be synced), or the error
    /// naming the component that stopped the walk. `create`: a missing component is made
    /// (0755) and its parent synced, as the journal's directory is.
    static func open(_ path: String, create: Bool = false, for output: String? = nil) throws(OutputError) -> Int32 {
        do {
            return try walk(path, create: create)
        } catch {
            guard let output, output != error.path else { throw error }
            // Named as the output the user gave, with the component that stopped the walk.
            var named = error
            named.path = output
            if !error.reason.contains(error.path) { named.reason = "\(error.path) \(error.reason)" }
            throw named
        }
    }

    static func walk(_ path: String, create: Bool) throws(OutputError) -> Int32 {
        var pending = Array(PathText.names(in: path).reversed())
        var walked = PathText.isAbsolute(path) ? "" : "."
        var fd = try start(absolute: PathText.isAbsolute(path), path)
        var links = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            let name = String(component)
            let here = walked.isEmpty ? "/" + name : walked + "/" + name
            do throws(OutputError) {
                if let next = try step(fd, name, here, create: create) {
                    _ = close(fd)
                    fd = next
                    walked = here
                    continue
                }
                // A symbolic link, trusted where it is: walk its target instead.
                links += 1
                guard links <= maximumLinks else { throw OutputError(path, "has more than \(maximumLinks) symbolic links", errno: Errno(ELOOP)) }
                let target = try readLink(fd, name, here)
                pending.append(contentsOf: PathText.names(in: target).reversed())
                if PathText.isAbsolute(target) {
                    _ = close(fd)
                    fd = try start(absolute: true, path)
                    walked = ""
                }
            } catch {
                _ = close(fd)
                throw error
            }
        }
        // The walk holds O_PATH descriptors (search permission is all a path needs); what is
        // returned is opened for reading, so it can be synced.
        defer { _ = close(fd) }
        do {
            return try SystemCall.check("open", path) { openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        } catch {
            throw OutputError(path, error)
        }
    }

    static func start(absolute: Bool, _ path: String) throws(OutputError) -> Int32 {
        let origin = absolute ? "/" : "."
        do {
            return try SystemCall.check("open", origin) { systemOpenDirectory(origin, openPath | O_DIRECTORY | O_CLOEXEC) }
        } catch {
            throw OutputError(path, error)
        }
    }

    /// The next directory's descriptor; nil when `name` is a symbolic link the trust rule
    /// accepts (the caller follows it).
    static func step(_ directory: Int32, _ name: String, _ here: String, create: Bool) throws(OutputError) -> Int32? {
        let flags = openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        for _ in 0..<3 {
            do {
                return try SystemCall.check("open", here) { openat(directory, name, flags) }
            } catch where error.errno == .noEntry && create {
                do {
                    try SystemCall.check("mkdir", here) { mkdirat(directory, name, 0o755) }
                    // The new entry made durable: its parent synced (through a descriptor that can be).
                    let parent = try SystemCall.check("open", here) { openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                    defer { _ = close(parent) }
                    try AtomicFile.syncDirectory(parent, here)
                } catch where error.errno == Errno(EEXIST) {
                    // Made by someone else in between: open it as found.
                } catch {
                    throw OutputError(here, error)
                }
                continue
            } catch where error.errno == Errno(ELOOP) || error.errno == Errno(ENOTDIR) {
                var entry = stat()
                guard fstatat(directory, name, &entry, AT_SYMLINK_NOFOLLOW) == 0, entry.st_mode & S_IFMT == S_IFLNK else {
                    throw OutputError(here, "is not a directory", errno: Errno(ENOTDIR))
                }
                try OutputFile.checkTrusted(entry, here, what: "a symbolic link on the way", in: directory)
                return nil
            } catch {
                throw OutputError(here, error)
            }
        }
        throw OutputError(here, "it kept appearing and disappearing while being opened")
    }

    static func readLink(_ directory: Int32, _ name: String, _ here: String) throws(OutputError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { bytes -> Int in
            guard let base = bytes.baseAddress else { return -1 }
            return readlinkat(directory, name, base, bytes.count - 1)
        }
        guard count > 0, count < buffer.count - 1 else { throw OutputError(here, "its symbolic link cannot be read", errno: Errno(ELOOP)) }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

private func systemOpenDirectory(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
