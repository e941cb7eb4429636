#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// A failure to read the host, naming the file (under its root) and the cause.
public enum HostError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, errno: Errno)
    case malformed(path: String, ParseError)

    public var description: String {
        switch self {
        case let .unreadable(path, errno): "cannot read \(path): \(errno)"
        case let .malformed(path, error): "\(path): \(error)"
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
public struct HostRoot: Sendable {
    public let path: String
    /// nil except while capturing.
    public let observer: (any HostReadObserver)?

    public static let live = HostRoot(path: "/")

    public init(path: String, observer: (any HostReadObserver)? = nil) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed.isEmpty ? "/" : trimmed
        self.observer = observer
    }

    /// The same root, reporting every read to `observer`.
    public func observed(by observer: any HostReadObserver) -> HostRoot {
        HostRoot(path: path, observer: observer)
    }

    /// Reports a failed read to the observer (not a missing file: absence is a fact the
    /// readers handle) and passes the error on.
    private func noted(_ relative: String, _ error: HostError) -> HostError {
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
        try streamContents(relative, chunkSize: 16 * 1024) { (chunk) throws(Never) in contents.append(contentsOf: chunk) }.get()
        return contents
    }

    /// Reads a file in chunks through one reused buffer, handing each chunk to `body` as it
    /// arrives, so a multi-megabyte numa_maps is parsed while it is read and never held whole.
    /// seq_file fills as much of each read as it can, taking the target's mmap lock once per
    /// read: a large chunk means fewer lock round trips (cat uses 128 KiB).
    /// Stops at the first error `body` throws and returns it.
    public func streamContents<E: Error>(
        _ relative: String, chunkSize: Int = 256 * 1024, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> Void
    ) throws(HostError) -> Result<Void, E> {
        let full = absolute(relative)
        let fd: Int32
        do { fd = try openForReading(full) } catch { throw noted(relative, error) }
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
                throw noted(relative, .unreadable(path: full, errno: error.errno))
            }
            if count == 0 { break }
            let chunk = UnsafeBufferPointer(start: storage, count: count)
            total += count
            // A file that goes on past 64 KiB (a large numa_maps): read the rest one chunk
            // ahead on a second thread while this one works (capture keeps the plain loop).
            if total >= ReadAhead.minimumChunk, chunkSize >= ReadAhead.minimumChunk, observer == nil, failure == nil,
               let ahead = ReadAhead.start(fd: fd, chunkSize: chunkSize) {
                defer { ahead.finish() }
                return try consume(first: chunk, then: ahead, path: full, relative: relative, body)
            }
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

    private func consume<E: Error>(
        first: UnsafeBufferPointer<UInt8>, then ahead: ReadAhead, path full: String, relative: String,
        _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> Void
    ) throws(HostError) -> Result<Void, E> {
        do { try body(first) } catch { return .failure(error) }
        while true {
            let chunk: UnsafeBufferPointer<UInt8>
            switch ahead.nextChunk() {
            case let .success(next): chunk = next
            case let .failure(errno): throw noted(relative, .unreadable(path: full, errno: errno))
            }
            if chunk.isEmpty { return .success(()) }
            do { try body(chunk) } catch { return .failure(error) }
        }
    }

    /// Reads a small per-process file (/proc/PID/comm, cmdline, stat, status) with one read
    /// when it fits: these are generated whole by the kernel (single_open seq_files and
    /// proc_pid_cmdline_read), so a read shorter than the buffer is the end of the file and
    /// the usual extra read that returns 0 is a syscall saved per file, which an audit of a
    /// thousand processes pays a thousand times. Longer contents fall back to reading to EOF.
    public func readSmallText(_ relative: String, capacity: Int = 4096) throws(HostError) -> String {
        let full = absolute(relative)
        let fd: Int32
        do { fd = try openForReading(full) } catch { throw noted(relative, error) }
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

    private func openForReading(_ full: String) throws(HostError) -> Int32 {
        do {
            return try SystemCall.check("open", full) { open(full, O_RDONLY | O_CLOEXEC) }
        } catch {
            throw .unreadable(path: full, errno: error.errno)
        }
    }

    /// A file outside any host root (a policy, a snapshot), read through the same funnel.
    public static func readFile(atPath path: String) throws(HostError) -> [UInt8] {
        let root = HostRoot(path: path.hasPrefix("/") ? "/" : ".")
        let relative = path.hasPrefix("/") ? String(path.drop { $0 == "/" }) : path
        return try root.readBytes(relative)
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
        let present = access(absolute(relative), F_OK) == 0
        if present { observer?.probed(relative) }
        return present
    }

    /// Directory entries except `.` and `..`, unsorted.
    public func list(_ relative: String) throws(HostError) -> [String] {
        let full = absolute(relative)
        let directory: OpaquePointer
        do {
            directory = try SystemCall.checkPointer("opendir", full) { opendir(full) }
        } catch {
            throw noted(relative, .unreadable(path: full, errno: error.errno))
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        observer?.listed(relative)
        return names
    }

    public func readLink(_ relative: String) throws(HostError) -> String {
        let target: String
        do { target = try linkTarget(absolute(relative)) } catch { throw noted(relative, error) }
        observer?.link(relative, target)
        return target
    }

    private func linkTarget(_ full: String) throws(HostError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count: Int
        do {
            count = try SystemCall.check("readlink", full) { readlink(full, &buffer, buffer.count - 1) }
        } catch {
            throw .unreadable(path: full, errno: error.errno)
        }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Where a path really is under the root.
    public struct Resolved: Equatable, Sendable {
        /// Relative to the root, no symlinks left in it.
        public var path: String
        /// Every symlink passed on the way (relative path, target as stored), in order.
        public var links: [Link]
        public var isDirectory: Bool

        public struct Link: Equatable, Sendable {
            public var path: String
            public var target: String
        }
    }

    /// Follows symlinks component by component inside the root, as the kernel would in a
    /// chroot: an absolute target restarts at the root and `..` never climbs above it. sysfs
    /// reaches devices through links (/sys/class/net/eth0 -> ../../devices/pci...), so this
    /// names a device's bus address, and gives a capture the links to store so that the same
    /// path resolves in the copy. Not reported to an observer: it reads no contents.
    public func resolve(_ relative: String) throws(HostError) -> Resolved {
        var resolved: [Substring] = []
        var pending = Array(relative.split(separator: "/").reversed())
        var links: [Resolved.Link] = []
        var isDirectory = true
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = (resolved + [component]).joined(separator: "/")
            let full = absolute(candidate)
            var info = stat()
            do {
                try SystemCall.check("lstat", full) { lstat(full, &info) }
            } catch {
                throw .unreadable(path: full, errno: error.errno)
            }
            guard info.st_mode & S_IFMT == S_IFLNK else {
                resolved.append(component)
                isDirectory = info.st_mode & S_IFMT == S_IFDIR
                continue
            }
            guard links.count < 40 else { throw .unreadable(path: full, errno: Errno(ELOOP)) }
            let target = try linkTarget(full)
            links.append(.init(path: candidate, target: target))
            if target.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: target.split(separator: "/").reversed())
        }
        return Resolved(path: resolved.joined(separator: "/"), links: links, isDirectory: isDirectory)
    }
}
