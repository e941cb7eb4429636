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

/// One line of the journal: one change apply, undo or migrate made or attempted.
public struct JournalEntry: Codable, Equatable, Sendable {
    /// UTC, ISO 8601, to the second.
    public var time: String
    /// Every line of one command run shares it, so undo can take back one run.
    public var run: String
    /// apply, undo or migrate.
    public var command: String
    public var action: Action.Kind
    public var subject: String
    public var knob: Knob?
    public var process: ProcessTarget?
    public var file: String?
    /// The value before and after in their write spelling (a knob's value, a file's
    /// contents, nil for an absent file); for processes, a description.
    public var before: String?
    public var after: String?
    public var result: ActionResult.Outcome
    public var detail: String
    /// undo: the run it takes back.
    public var undoes: String?

    enum CodingKeys: String, CodingKey {
        case time, run, command, action, subject, knob, process, file, before, after, result, detail, undoes
    }
}

/// Where a journal could not be read or written, naming the file (and line).
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The file is not there (undo: nothing was ever applied with this journal).
    public var missing = false
    /// The file is there but may not be read (EACCES, EPERM).
    public var denied = false
    /// A line is not a journal entry.
    public var damaged = false
}

/// The append-only journal: JSON lines, opened with O_APPEND so concurrent runs never
/// overwrite each other's lines, each line written with one write(2) and synced before the
/// next change is made.
public final class Journal {
    public static let defaultPath = "/var/lib/numaguard/journal.jsonl"

    public let path: String
    private let descriptor: Int32
    private let encoder: JSONEncoder

    /// Opens (creating it, and its directory, when missing) before anything is changed: a
    /// run that cannot journal changes nothing.
    public init(path: String) throws(JournalError) {
        self.path = path
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        do {
            if !directory.isEmpty { try Self.makeDirectories(directory) }
            descriptor = try SystemCall.check("open", path) { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640) }
        } catch {
            throw JournalError(description: "cannot open the journal \(path): \(error)")
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit { close(descriptor) }

    /// Each missing directory on the way; one that exists already is fine, any other
    /// failure (a file in the way, no permission) is the journal's failure.
    static func makeDirectories(_ directory: String) throws(SystemCallError) {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            do {
                try SystemCall.check("mkdir", prefix) { mkdir(prefix, 0o755) }
            } catch where error.errno == Errno(EEXIST) {
                continue
            }
        }
    }

    public func append(_ entry: JournalEntry) throws(JournalError) {
        let data: Data
        do { data = try encoder.encode(entry) } catch { throw JournalError(description: "cannot encode a journal line: \(error)") }
        var line = Array(data)
        line.append(0x0A)
        let fd = descriptor
        let failure: SystemCallError? = line.withUnsafeBufferPointer { bytes in
            do throws(SystemCallError) {
                // O_APPEND: a write places the line at the end, even with another writer.
                try FileHandleWriter.writeAll(fd, bytes, subject: path)
                try SystemCall.check("fsync", path) { fsync(fd) }
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw JournalError(description: "cannot write the journal: \(failure)") }
    }

    /// Every line, in order. A line that is not a journal entry stops the read with its
    /// line number: undo must not guess what a damaged journal meant.
    public static func read(_ path: String) throws(JournalError) -> [JournalEntry] {
        let bytes: [UInt8]
        do {
            bytes = try HostRoot.readFile(atPath: path)
        } catch {
            throw JournalError(description: "cannot read the journal \(path): \(error)", missing: error.errno == .noEntry,
                               denied: error.errno?.isPermission ?? false)
        }
        let decoder = JSONDecoder()
        var entries: [JournalEntry] = []
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do {
                entries.append(try decoder.decode(JournalEntry.self, from: Data(line)))
            } catch {
                throw JournalError(description: "\(path):\(index + 1): not a numaguard journal line (\(error))", damaged: true)
            }
        }
        return entries
    }

    /// `20261121T101500Z-1234`: the start time and PID of the run.
    public static func runID(time: String, pid: Int32 = getpid()) -> String {
        time.filter { $0 != "-" && $0 != ":" } + "-\(pid)"
    }

    public static func now() -> String { UTCTime.text(Double(time(nil))) }
}
