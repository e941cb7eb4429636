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

/// The one way numaguard reads the host: every /proc and /sys path is resolved under
/// a root, `/` for the live host or a directory holding a recorded or captured host,
/// so fixtures and captures exercise exactly the code that reads production hosts.
public struct HostRoot: Sendable {
    public let path: String

    public static let live = HostRoot(path: "/")

    public init(path: String) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed.isEmpty ? "/" : trimmed
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
        let fd = try openForReading(full)
        defer { close(fd) }
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
        defer { storage.deallocate() }
        while true {
            let count: Int
            do {
                count = try SystemCall.check("read", full) { read(fd, storage, chunkSize) }
            } catch {
                throw .unreadable(path: full, errno: error.errno)
            }
            if count == 0 { return .success(()) }
            do {
                try body(UnsafeBufferPointer(start: storage, count: count))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Reads a small per-process file (/proc/PID/comm, cmdline, stat, status) with one read
    /// when it fits: these are generated whole by the kernel (single_open seq_files and
    /// proc_pid_cmdline_read), so a read shorter than the buffer is the end of the file and
    /// the usual extra read that returns 0 is a syscall saved per file, which an audit of a
    /// thousand processes pays a thousand times. Longer contents fall back to reading to EOF.
    public func readSmallText(_ relative: String, capacity: Int = 4096) throws(HostError) -> String {
        let full = absolute(relative)
        let fd = try openForReading(full)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let count: Int
        do {
            count = try SystemCall.check("read", full) { read(fd, buffer, capacity) }
        } catch {
            close(fd)
            throw .unreadable(path: full, errno: error.errno)
        }
        close(fd)
        if count < capacity { return String(decoding: UnsafeBufferPointer(start: buffer, count: count), as: UTF8.self) }
        return try readText(relative)
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

    private func parsed<T>(_ text: String, _ relative: String, _ parser: (String) throws(ParseError) -> T) throws(HostError) -> T {
        do {
            return try parser(text)
        } catch {
            throw .malformed(path: absolute(relative), error)
        }
    }

    public func exists(_ relative: String) -> Bool {
        access(absolute(relative), F_OK) == 0
    }

    /// Directory entries except `.` and `..`, unsorted.
    public func list(_ relative: String) throws(HostError) -> [String] {
        let full = absolute(relative)
        let directory: OpaquePointer
        do {
            directory = try SystemCall.checkPointer("opendir", full) { opendir(full) }
        } catch {
            throw .unreadable(path: full, errno: error.errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func readLink(_ relative: String) throws(HostError) -> String {
        let full = absolute(relative)
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count: Int
        do {
            count = try SystemCall.check("readlink", full) { readlink(full, &buffer, buffer.count - 1) }
        } catch {
            throw .unreadable(path: full, errno: error.errno)
        }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
