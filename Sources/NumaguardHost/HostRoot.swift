#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore

/// A failure to read the host, naming the file (under its root) and the cause.
public enum HostError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, errno: Errno)
    case malformed(path: String, ParseError)
    /// Not read on purpose: not a regular file, larger than numaguard reads, or a symlink
    /// out of a host root leading nowhere inside it. `reason` says which.
    case refused(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, errno): "cannot read \(path): \(errno)"
        case let .refused(path, reason): "cannot read \(path): \(reason)"
        // `path:line:` when the parser knows the line, as compilers do, so an editor can jump there.
        case let .malformed(path, error): error.line.map { "\(path):\($0): \(error)" } ?? "\(path): \(error)"
        }
    }

    public var errno: Errno? {
        if case let .unreadable(_, errno) = self { return errno }
        return nil
    }

    public var isMissing: Bool { errno == .noEntry || errno == .noProcess }
    public var isPermission: Bool { errno?.isPermission ?? false }
}

/// Told about every read made through a `HostRoot` that carries it. `numaguard capture`
/// runs the ordinary readers with one, so a capture holds exactly the files numaguard reads
/// (no list to keep in step with the readers). Paths are relative to the root.
public protocol HostReadObserver: AnyObject, Sendable {
    /// A whole file as read.
    func file(_ relative: String, _ contents: [UInt8])
    /// A directory was listed.
    func listed(_ relative: String)
    /// A symlink's target was read.
    func link(_ relative: String, _ target: String)
    /// `exists` answered yes.
    func probed(_ relative: String)
    /// A read failed for a reason other than the path not existing.
    func failed(_ relative: String, _ error: HostError)
}

/// The one way numaguard reads the host: every /proc and /sys path is resolved under
/// a root, `/` for the live host or a directory holding a recorded or captured host,
/// so fixtures and captures exercise exactly the code that reads production hosts.
///
/// A root other than `/` is untrusted (a capture, a fixture, a tree someone sent): every
/// path under it is resolved inside it (`RootedOpen`: symlinks and `..` never leave it),
/// only regular files are read from it, opened non-blocking so a FIFO cannot stall a read.
/// The live root keeps plain open(2) calls, the hot path of inspect and run, with nothing
/// added but O_NONBLOCK. Everywhere, one file is read up to a cap (`maximumFileBytes`,
/// `maximumStreamedBytes`), never without end (/dev/zero, a file still growing).
public struct HostRoot: Sendable {
    public let path: String
    /// nil except while capturing.
    public let observer: (any HostReadObserver)?
    let openMode: OpenMode

    /// How paths are opened: see the type's documentation.
    enum OpenMode: Sendable {
        /// `/`: plain open(2), O_NONBLOCK added (free: no extra syscall).
        case live
        /// Any other root: resolved inside it, regular files only.
        case confined
        /// `readFile(atPath:)`: a file the user named (a policy, maybe `<(command)`, a pipe).
        case userFile
    }

    /// The most `readBytes` and the other whole-file reads take from one file. The largest
    /// file read whole is /proc/PID/cmdline, which the kernel bounds at 6 MiB (3/4 of the
    /// 8 MiB stack limit's cap on arguments); policies, snapshots and journals are smaller.
    public static let maximumFileBytes = 16 << 20
    /// The most `streamContents` takes from one file by default: numa_maps of a process at
    /// the default vm.max_map_count (65530) is under 8 MiB, so 64 MiB allows about 600k
    /// mappings. Streamed files are parsed as read, so the cap bounds time, not memory.
    public static let maximumStreamedBytes = 64 << 20

    public static let live = HostRoot(path: "/")

    public init(path: String, observer: (any HostReadObserver)? = nil) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed.isEmpty ? "/" : trimmed
        self.observer = observer
        openMode = self.path == "/" ? .live : .confined
    }

    private init(userFileRoot path: String) {
        self.path = path
        observer = nil
        openMode = .userFile
    }

    /// The same root, reporting every read to `observer`.
    public func observed(by observer: any HostReadObserver) -> HostRoot {
        HostRoot(path: path, observer: observer)
    }

    /// Reports a failed read to the observer (not a missing file: absence is a fact the
    /// readers handle) and passes the error on.
    func noted(_ relative: String, _ error: HostError) -> HostError {
        if let observer, !error.isMissing { observer.failed(relative, error) }
        return error
    }

    public var isLive: Bool { path == "/" }

    /// `relative` is written without a leading slash, e.g. "proc/meminfo".
    public func absolute(_ relative: String) -> String {
        path == "/" ? "/" + relative : path + "/" + relative
    }

    /// A whole file (for the small /proc and /sys files; numa_maps is streamed). /proc files
    /// report size 0, so this reads until EOF rather than trusting stat.
    public func readBytes(_ relative: String) throws(HostError) -> [UInt8] {
        var contents: [UInt8] = []
        try streamContents(relative, chunkSize: 16 * 1024, limit: Self.maximumFileBytes) { (chunk) throws(Never) in
            contents.append(contentsOf: chunk)
        }.get()
        return contents
    }

    /// Reads a file in chunks through one reused buffer, handing each chunk to `body` as it
    /// arrives, so a multi-megabyte numa_maps is parsed while it is read and never held whole.
    /// A large chunk saves system calls, not mmap-lock round trips: numa_maps' seq_file takes
    /// the target's lock once per ~4 KiB it fills, whatever the read size (bench/mmaplock).
    /// All on the caller's thread: a second thread reading one chunk ahead (until 2026-12-04)
    /// overlapped the parse with the kernel's walk only when a core was idle; once the parse
    /// of a 32k-line numa_maps was ~1 ms, its start, hand-overs and buffers cost about what
    /// that saved, and with the other core busy it was the slower way (bench/README.md).
    /// Stops at the first error `body` throws and returns it. A file going on past `limit`
    /// bytes is refused (after `body` saw the first `limit`).
    public func streamContents<E: Error>(
        _ relative: String, chunkSize: Int = 256 * 1024, limit: Int = HostRoot.maximumStreamedBytes,
        _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> Void
    ) throws(HostError) -> Result<Void, E> {
        let full = absolute(relative)
        let fd: Int32
        do { fd = try openForReading(relative) } catch { throw noted(relative, error) }
        defer { close(fd) }
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
        defer { storage.deallocate() }
        var observed: [UInt8] = []
        var failure: E?
        var total = 0
        while true {
            let count: Int
            do {
                count = try SystemCall.check("read", full) { read(fd, storage, chunkSize) }
            } catch {
                // Only a pipe or FIFO opened without blocking (the live root's open) says
                // "try again": a file the user named, `--policy <(command)`, whose writer has not
                // written yet. Wait for it as cat would, by reading it blocking from here on.
                if error.errno == Errno(EAGAIN), Self.makeBlocking(fd, full) { continue }
                throw noted(relative, .unreadable(path: full, errno: error.errno))
            }
            if count == 0 { break }
            let chunk = UnsafeBufferPointer(start: storage, count: count)
            total += count
            if total > limit { throw noted(relative, tooLarge(full, limit)) }
            if observer != nil { observed.append(contentsOf: chunk) }
            if failure != nil { continue }
            do {
                try body(chunk)
            } catch {
                failure = error
                // An observer still wants the whole file; nobody else does.
                if observer == nil { break }
            }
        }
        observer?.file(relative, observed)
        if let failure { return .failure(failure) }
        return .success(())
    }

    /// Clears O_NONBLOCK; false when that fails (the read's EAGAIN is then the error).
    private static func makeBlocking(_ fd: Int32, _ full: String) -> Bool {
        guard let flags = try? SystemCall.check("fcntl", full, { fcntl(fd, F_GETFL) }) else { return false }
        return (try? SystemCall.check("fcntl", full) { fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }) != nil
    }

    /// Reads a small per-process file (/proc/PID/comm, cmdline, stat, status) with one read
    /// when it fits: these are generated whole by the kernel (single_open seq_files and
    /// proc_pid_cmdline_read), so a read shorter than the buffer is the end of the file and
    /// the usual extra read that returns 0 is a syscall saved per file, which an audit of a
    /// thousand processes pays a thousand times. Longer contents fall back to reading to EOF.
    public func readSmallText(_ relative: String, capacity: Int = 4096) throws(HostError) -> String {
        let full = absolute(relative)
        let fd: Int32
        do { fd = try openForReading(relative) } catch { throw noted(relative, error) }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let count: Int
        do {
            count = try SystemCall.check("read", full) { read(fd, buffer, capacity) }
        } catch {
            close(fd)
            throw noted(relative, .unreadable(path: full, errno: error.errno))
        }
        close(fd)
        guard count < capacity else { return try readText(relative) }
        let contents = UnsafeBufferPointer(start: buffer, count: count)
        observer?.file(relative, Array(contents))
        return String(decoding: contents, as: UTF8.self)
    }

    /// The one open of a file to read, by `openMode`. Confined: resolved inside the root and
    /// then fstat'ed, so a FIFO, a device or a directory is refused before any read (the
    /// open itself is non-blocking, so a FIFO without a writer does not stall it).
    private func openForReading(_ relative: String) throws(HostError) -> Int32 {
        let full = absolute(relative)
        let flags: Int32
        switch openMode {
        case .live: flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK
        case .userFile: flags = O_RDONLY | O_CLOEXEC
        case .confined:
            let fd = try RootedOpen.openFile(root: path, relative, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY, display: full)
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                let failure = Errno(errno)
                close(fd)
                throw .unreadable(path: full, errno: failure)
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                close(fd)
                throw .refused(path: full, reason: "it is \(Self.fileType(info.st_mode)), not a regular file")
            }
            return fd
        }
        do {
            return try SystemCall.check("open", full) { open(full, flags) }
        } catch {
            throw .unreadable(path: full, errno: error.errno)
        }
    }

    /// In words, for the refusal of anything but a regular file.
    static func fileType(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFDIR: "a directory"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "a special file"
        }
    }

    private func tooLarge(_ full: String, _ limit: Int) -> HostError {
        .refused(path: full, reason: "it holds more than \(Bytes.text(limit)), the most numaguard reads from one file")
    }

    /// A file outside any host root (a policy, a snapshot), read through the same funnel:
    /// not confined (it is the user's own path) and blocking (`--policy <(command)` is a pipe).
    public static func readFile(atPath path: String) throws(HostError) -> [UInt8] {
        let (start, relative) = PathText.fromItsRoot(path)
        return try HostRoot(userFileRoot: start).readBytes(relative)
    }

    /// A large file the user names (attribute's telemetry and series), streamed chunk by chunk
    /// as `readFile` would read it, up to `limit` bytes: 10 million rows are parsed as they
    /// arrive and never held whole.
    public static func streamFile<E: Error>(
        atPath path: String, limit: Int, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> Void
    ) throws(HostError) -> Result<Void, E> {
        let (start, relative) = PathText.fromItsRoot(path)
        return try HostRoot(userFileRoot: start).streamContents(relative, chunkSize: 1 << 20, limit: limit, body)
    }

    public func readText(_ relative: String) throws(HostError) -> String {
        String(decoding: try readBytes(relative), as: UTF8.self)
    }

    /// nil when the file does not exist: optional kernel features (an absent sysctl) are
    /// facts to report, not failures.
    public func readTextIfPresent(_ relative: String) throws(HostError) -> String? {
        do {
            return try readText(relative)
        } catch {
            if error.errno == .noEntry { return nil }
            throw error
        }
    }

    /// Reads and parses, attributing a parse failure to the file.
    /// One read for the common small file (see `readSmallText`): parsing is for the small
    /// /proc and /sys files, and numa_maps is streamed instead.
    public func parse<T>(_ relative: String, _ parser: (String) throws(ParseError) -> T) throws(HostError) -> T {
        try parsed(try readSmallText(relative), relative, parser)
    }

    public func parseIfPresent<T>(_ relative: String, _ parser: (String) throws(ParseError) -> T) throws(HostError) -> T? {
        let text: String
        do {
            text = try readSmallText(relative)
        } catch {
            if error.errno == .noEntry { return nil }
            throw error
        }
        return try parsed(text, relative, parser)
    }

    func parsed<T>(_ text: String, _ relative: String, _ parser: (String) throws(ParseError) -> T) throws(HostError) -> T {
        do {
            return try parser(text)
        } catch {
            throw .malformed(path: absolute(relative), error)
        }
    }

    /// True when the root holds a host to read: the live one, or a directory with proc/ or
    /// sys/ (a recorded fixture, an unpacked capture). What `--host-root` is checked against.
    public var holdsHost: Bool { isLive || exists("proc") || exists("sys") }

    public func exists(_ relative: String) -> Bool {
        let present: Bool
        if case .confined = openMode {
            let fd = try? RootedOpen.openFile(root: path, relative, flags: clinux_o_path, display: absolute(relative))
            if let fd { close(fd) }
            present = fd != nil
        } else {
            present = access(absolute(relative), F_OK) == 0
        }
        if present { observer?.probed(relative) }
        return present
    }

    /// A listing of the directory: inside the root when confined.
    private func openDirectory(_ relative: String) throws(HostError) -> OpaquePointer {
        let full = absolute(relative)
        guard case .confined = openMode else {
            do {
                return try SystemCall.checkPointer("opendir", full) { opendir(full) }
            } catch {
                throw .unreadable(path: full, errno: error.errno)
            }
        }
        let fd = try RootedOpen.openFile(root: path, relative, flags: O_RDONLY | O_DIRECTORY, display: full)
        do {
            return try SystemCall.checkPointer("fdopendir", full) { fdopendir(fd) }
        } catch {
            close(fd)
            throw .unreadable(path: full, errno: error.errno)
        }
    }

    /// Directory entries except `.` and `..`, unsorted. A directory holding more than `limit`
    /// entries is refused rather than cut short (a capture can hold millions), so a caller
    /// reports it as unreadable, never as a silently partial listing.
    public func list(_ relative: String, limit: Int = .max) throws(HostError) -> [String] {
        let directory: OpaquePointer
        do { directory = try openDirectory(relative) } catch { throw noted(relative, error) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
            if names.count > limit {
                throw noted(relative, .refused(path: absolute(relative), reason: "it holds more than \(limit) entries, the most numaguard lists there"))
            }
        }
        observer?.listed(relative)
        return names
    }
}
