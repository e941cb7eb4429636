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

    /// The longest line the reader accepts: a journal line is a few hundred bytes (a persist
    /// line holds the drop-in, a few lines of text). A longer one is damage, named by line.
    public static let maxLineBytes = 1 << 20

    /// apply warns past this size: undo still reads it (line by line, without a cap), but every
    /// undo reads it all; rotate it once its runs will never be undone.
    public static let warningBytes: Int64 = 64 << 20

    /// Opens (creating it, and its directories, when missing) before anything is changed: a
    /// run that cannot journal changes nothing. The file is opened by OutputFile.openAppend:
    /// its directory walked from / (a symbolic link on the way only when trusted), O_NOFOLLOW
    /// (a symbolic link is refused, dangling or not), O_CLOEXEC, created 0640 with its
    /// directory synced, and an existing file only under OutputFile's trust rule, only a
    /// regular file with one link.
    public convenience init(path: String) throws(JournalError) {
        try self.init(opening: path, create: true)
        try repair()
    }

    /// An existing journal, for undo: opened under the same rules as `init(path:)` but never
    /// created (missing: nothing was ever applied with it) and not repaired yet (`repair()`,
    /// once the operator has said yes). Its lines are read from this same descriptor (`load()`),
    /// so what undo restores is what the trust check was about.
    public static func openExisting(_ path: String) throws(JournalError) -> Journal {
        try Journal(opening: path, create: false)
    }

    private init(opening path: String, create: Bool) throws(JournalError) {
        self.path = path
        do {
            descriptor = try OutputFile.openAppend(path, mode: 0o640, readable: true, create: create, regularOnly: true,
                                                  makeDirectories: create).fd
        } catch {
            // undo: the kernel's no (missing, a directory, no permission) is about reading it.
            if !create, !error.refused, let errno = error.errno, errno == .noEntry || errno == Errno(EISDIR) || errno.isPermission {
                throw JournalError(description: "cannot read the journal \(path): \(error.reason)", missing: errno == .noEntry,
                                   denied: errno.isPermission)
            }
            throw JournalError(description: "cannot open the journal \(path): \(error.reason)", cannotCreate: true)
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    /// Cuts off a torn last line (see `repairTail`), reporting it in `repaired`.
    public func repair() throws(JournalError) {
        repaired = try Self.repairTail(descriptor, path: path)
    }

    /// The journal's size now, in bytes.
    public var size: Int64 {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
    }

    deinit { close(descriptor) }

    /// A journal whose last line has no newline was cut short mid-write (a full disk, a
    /// crash). Appending after it would glue the next line to the fragment, a damaged line in
    /// the middle that undo refuses; so the fragment is cut off first and the repair is
    /// reported. That loses nothing undo needs (JournalParser.parse says why). Another run
    /// appending at the very same moment is not locked out: concurrent runs on one journal
    /// are not a supported use. Nothing is cut from a file that does not look like a journal
    /// numaguard wrote (its first line a journal line, the fragment starting like one and no
    /// longer than a line can be): root truncating someone else's file is worse than a
    /// refused run. Scans back at most one line's length, 4 KiB at a time.
    static func repairTail(_ fd: Int32, path: String) throws(JournalError) -> String? {
        let outcome: TailRepair
        do {
            outcome = try cutTornTail(fd, path: path)
        } catch {
            throw JournalError(description: "cannot repair the journal \(path): \(error)", cannotCreate: true)
        }
        switch outcome {
        case .intact: return nil
        case let .cut(message): return message
        case .foreign:
            throw JournalError(description: "cannot open the journal \(path): it ends without a newline and does not look like a "
                               + "journal numaguard wrote; nothing cut: move it aside or give another --journal", cannotCreate: true)
        }
    }

    enum TailRepair {
        case intact
        case cut(String)
        /// Not what numaguard writes: left as it is.
        case foreign
    }

    static func cutTornTail(_ fd: Int32, path: String) throws(SystemCallError) -> TailRepair {
        var info = stat()
        try SystemCall.check("fstat", path) { fstat(fd, &info) }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 else { return .intact }
        var last: UInt8 = 0
        try SystemCall.check("pread", path) { pread(fd, &last, 1, info.st_size - 1) }
        if last == 0x0A { return .intact }
        var end = info.st_size
        var cut: off_t = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while end > 0 && info.st_size - end <= off_t(maxLineBytes) {
            let start = max(0, end - off_t(chunk.count))
            let wanted = Int(end - start)
            let count = try SystemCall.check("pread", path) { chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, start) } }
            if let newline = chunk.prefix(count).lastIndex(of: 0x0A) {
                cut = start + off_t(newline) + 1
                break
            }
            end = start
        }
        let fragment = try readLine(fd, at: cut, path: path)
        let first = cut == 0 ? [] : try readLine(fd, at: 0, path: path)
        let looksWritten = info.st_size - cut <= off_t(maxLineBytes) && fragment.starts(with: Array("{\"".utf8))
            && (cut == 0 || (try? JSONDecoder().decode(JournalEntry.self, from: Data(first.prefix { $0 != 0x0A }))) != nil)
        guard looksWritten else { return .foreign }
        try SystemCall.check("ftruncate", path) { ftruncate(fd, cut) }
        try SystemCall.check("fsync", path) { fsync(fd) }
        return .cut("\(path): cut off a torn last line (\(info.st_size - cut) bytes without a newline, from a write cut short "
                    + "by a crash or a full disk) before appending")
    }

    /// Up to one line's worth of bytes from `offset` (the newline included when it is there).
    static func readLine(_ fd: Int32, at offset: off_t, path: String) throws(SystemCallError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maxLineBytes + 1)
        let count = try SystemCall.check("pread", path) { bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) } }
        return Array(bytes.prefix(count))
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

    /// The lines and the reader's warnings, streamed from this descriptor from the start:
    /// no cap on the journal's size (apply keeps appending; undo must still read it), each
    /// line at most `maxLineBytes`, read 64 KiB at a time. Same reading as JournalParser.parse.
    public func load() throws(JournalError) -> JournalContents {
        var parser = JournalParser.Lines(file: path, maxLineBytes: Self.maxLineBytes)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var offset: off_t = 0
        while true {
            let count: Int
            do {
                count = try SystemCall.check("pread", path) { chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) } }
            } catch {
                throw JournalError(description: "cannot read the journal \(path): \(error)", denied: error.errno.isPermission)
            }
            if count == 0 { break }
            try chunk.withUnsafeBufferPointer { (bytes) throws(JournalError) in try parser.feed(UnsafeBufferPointer(rebasing: bytes[0..<count])) }
            offset += off_t(count)
        }
        return parser.finish()
    }

    /// An existing journal's lines and warnings (openExisting, then load): what undo reads.
    public static func load(_ path: String) throws(JournalError) -> JournalContents {
        try openExisting(path).load()
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
