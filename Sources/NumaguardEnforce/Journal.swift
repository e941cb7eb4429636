#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NumaguardCore
import NumaguardHost

/// The append-only journal: JSON lines, opened with O_APPEND so concurrent runs never
/// overwrite each other's lines, each line written with one write(2) and synced: the intent
/// before the change, the outcome after it (JournalEntry).
public final class Journal {
    public static let defaultPath = "/var/lib/numaguard/journal.jsonl"

    public let path: String
    private let descriptor: Int32
    private let encoder: JSONEncoder

    /// What opening found and repaired: a torn last line cut off (see `repairTail`).
    public private(set) var repaired: String?

    /// Opens (creating it, and its directory, when missing) before anything is changed: a
    /// run that cannot journal changes nothing. The file is opened by OutputFile.openAppend:
    /// O_NOFOLLOW (a symbolic link is refused, dangling or not), O_CLOEXEC, created 0640 with
    /// its directory synced, and an existing file only under OutputFile's trust rule.
    public init(path: String) throws(JournalError) {
        self.path = path
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        do {
            if !directory.isEmpty { try Self.makeDirectories(directory) }
        } catch {
            throw JournalError(description: "cannot open the journal \(path): \(error)", cannotCreate: true)
        }
        let fd: Int32
        do {
            fd = try OutputFile.openAppend(path, mode: 0o640, readable: true).fd
        } catch {
            throw JournalError(description: "cannot open the journal \(path): \(error.reason)", cannotCreate: true)
        }
        do {
            repaired = try Self.repairTail(fd, path: path)
        } catch {
            close(fd)
            throw JournalError(description: "cannot repair the journal \(path): \(error)", cannotCreate: true)
        }
        descriptor = fd
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit { close(descriptor) }

    /// Each missing directory on the way (its parent synced, so the new entry survives a
    /// crash); one that exists already is fine, any other failure (a file in the way, no
    /// permission) is the journal's failure.
    static func makeDirectories(_ directory: String) throws(SystemCallError) {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            let parent = prefix.isEmpty ? "/" : prefix
            prefix += "/" + component
            do {
                try SystemCall.check("mkdir", prefix) { mkdir(prefix, 0o755) }
                try AtomicFile.syncDirectory(parent)
            } catch where error.errno == Errno(EEXIST) {
                continue
            }
        }
    }

    /// A journal whose last line has no newline was cut short mid-write (a full disk, a
    /// crash). Appending after it would glue the next line to the fragment, a damaged line in
    /// the middle that undo refuses; so the fragment is cut off first and the repair is
    /// reported. That loses nothing undo needs (JournalParser.parse says why). Another run
    /// appending at the very same moment is not locked out: concurrent runs on one journal
    /// are not a supported use. Scans back at most the whole file, 4 KiB at a time.
    static func repairTail(_ fd: Int32, path: String) throws(SystemCallError) -> String? {
        var info = stat()
        try SystemCall.check("fstat", path) { fstat(fd, &info) }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 else { return nil }
        var last: UInt8 = 0
        try SystemCall.check("pread", path) { pread(fd, &last, 1, info.st_size - 1) }
        if last == 0x0A { return nil }
        var end = info.st_size
        var cut: off_t = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - off_t(chunk.count))
            let wanted = Int(end - start)
            let count = try SystemCall.check("pread", path) { chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, start) } }
            if let newline = chunk.prefix(count).lastIndex(of: 0x0A) {
                cut = start + off_t(newline) + 1
                break
            }
            end = start
        }
        try SystemCall.check("ftruncate", path) { ftruncate(fd, cut) }
        try SystemCall.check("fsync", path) { fsync(fd) }
        return "\(path): cut off a torn last line (\(info.st_size - cut) bytes without a newline, from a write cut short "
            + "by a crash or a full disk) before appending"
    }

    /// One line per call: written whole in one write(2) (O_APPEND places it at the end, even
    /// with another writer; FileHandleWriter.appendLine never leaves it torn) and synced before
    /// the caller goes on to change the host.
    public func append(_ entry: JournalEntry) throws(JournalError) {
        let data: Data
        do { data = try encoder.encode(entry) } catch { throw JournalError(description: "cannot encode a journal line: \(error)") }
        var line = Array(data)
        line.append(0x0A)
        let fd = descriptor
        let failure: SystemCallError? = line.withUnsafeBufferPointer { bytes in
            do throws(SystemCallError) {
                try FileHandleWriter.appendLine(fd, bytes, subject: path)
                try SystemCall.check("fsync", path) { fsync(fd) }
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw JournalError(description: "cannot write the journal: \(failure)") }
    }

    /// The lines and the reader's warnings (JournalParser.parse over the file's bytes).
    public static func load(_ path: String) throws(JournalError) -> JournalContents {
        let bytes: [UInt8]
        do {
            bytes = try HostRoot.readFile(atPath: path)
        } catch {
            throw JournalError(description: "cannot read the journal \(path): \(error)", missing: error.errno == .noEntry,
                               denied: error.errno?.isPermission ?? false)
        }
        return try JournalParser.parse(bytes, file: path)
    }

    /// Every line, in order (warnings dropped: for callers that only look).
    public static func read(_ path: String) throws(JournalError) -> [JournalEntry] {
        try load(path).entries
    }

    /// `20261121T101500Z-1234`: the start time and PID of the run.
    public static func runID(time: String, pid: Int32 = getpid()) -> String {
        time.filter { $0 != "-" && $0 != ":" } + "-\(pid)"
    }

    public static func now() -> String { UTCTime.text(Double(time(nil))) }
}
