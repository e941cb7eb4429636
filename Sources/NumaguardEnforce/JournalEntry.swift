#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NumaguardOutput

/// One line of the journal: a change apply, undo or migrate is about to make (an intent), or
/// what came of it (an outcome).
///
/// Write-ahead: the intent line (what will change, the value found, the value to write) is on
/// disk, synced, before the host is changed; the outcome line follows the change. A crash in
/// between leaves an intent without an outcome, which undo treats as possibly made. Lines
/// written before intents existed have no `phase` and are outcomes.
///
/// Every line carries `format_version` (DocumentKind.journalEntry), so a journal written by
/// a later numaguard with another layout is refused by line instead of misread; lines written
/// before the field existed have the layout of version 1 and read as such.
public struct JournalEntry: Codable, Equatable, Sendable {
    public enum Phase: String, Codable, Sendable {
        case intent
    }

    /// What a line without `format_version` is: every such line was written in version 1's layout.
    public static let unversioned = 1

    /// The line's layout: DocumentKind.journalEntry's version when written here; as read back,
    /// what the line says (JournalParser refuses any other than the one this numaguard writes).
    public var formatVersion: Int

    /// UTC, ISO 8601, to the second.
    public var time: String
    /// Every line of one command run shares it, so undo can take back one run.
    public var run: String
    /// apply, undo or migrate.
    public var command: String
    /// `intent` for the line written before the change; absent on outcomes.
    public var phase: Phase?
    public var action: Action.Kind
    public var subject: String
    public var knob: Knob?
    /// An IRQ's affinity: the interrupt as planned (handler, boot), which undo checks again.
    public var irq: IRQTarget?
    public var process: ProcessTarget?
    public var file: String?
    /// The value before and after in their write spelling (a knob's value, a file's
    /// contents, nil for an absent file); for processes, a description. On an intent, the
    /// value found and the value about to be written.
    public var before: String?
    public var after: String?
    /// The outcome; nil on an intent.
    public var result: ActionResult.Outcome?
    public var detail: String
    /// undo: the run it takes back.
    public var undoes: String?

    public init(time: String, run: String, command: String, phase: Phase? = nil, action: Action.Kind, subject: String,
                knob: Knob?, process: ProcessTarget?, file: String?, before: String?, after: String?,
                result: ActionResult.Outcome?, detail: String, undoes: String?, irq: IRQTarget? = nil) {
        self.formatVersion = DocumentKind.journalEntry.formatVersion
        self.time = time
        self.run = run
        self.command = command
        self.phase = phase
        self.action = action
        self.subject = subject
        self.knob = knob
        self.irq = irq
        self.process = process
        self.file = file
        self.before = before
        self.after = after
        self.result = result
        self.detail = detail
        self.undoes = undoes
    }

    public var isIntent: Bool { phase == .intent }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case time, run, command, phase, action, subject, knob, irq, process, file, before, after, result, detail, undoes
    }

    /// As synthesized, except that a missing `format_version` is `unversioned`: old journals
    /// must still be undone.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try container.decodeIfPresent(Int.self, forKey: .formatVersion) ?? Self.unversioned
        time = try container.decode(String.self, forKey: .time)
        run = try container.decode(String.self, forKey: .run)
        command = try container.decode(String.self, forKey: .command)
        phase = try container.decodeIfPresent(Phase.self, forKey: .phase)
        action = try container.decode(Action.Kind.self, forKey: .action)
        subject = try container.decode(String.self, forKey: .subject)
        knob = try container.decodeIfPresent(Knob.self, forKey: .knob)
        irq = try container.decodeIfPresent(IRQTarget.self, forKey: .irq)
        process = try container.decodeIfPresent(ProcessTarget.self, forKey: .process)
        file = try container.decodeIfPresent(String.self, forKey: .file)
        before = try container.decodeIfPresent(String.self, forKey: .before)
        after = try container.decodeIfPresent(String.self, forKey: .after)
        result = try container.decodeIfPresent(ActionResult.Outcome.self, forKey: .result)
        detail = try container.decode(String.self, forKey: .detail)
        undoes = try container.decodeIfPresent(String.self, forKey: .undoes)
    }
}

/// A journal as read: its lines, and what the reader passed over (a torn last line).
public struct JournalContents: Equatable, Sendable {
    public var entries: [JournalEntry]
    public var warnings: [String]
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
    /// The journal could not be created or opened for appending (or was refused: a link).
    public var cannotCreate = false
}

/// The pure half of reading a journal: bytes in, lines out (the fuzzer's target too).
public enum JournalParser {
    /// Every line, in order. A line that is not a journal entry stops the read with
    /// `file:line`: undo must not guess what a damaged journal meant. The one exception is a
    /// last line without its newline: every line is written with its newline in one write(2),
    /// so that is a write cut short (a full disk, a crash). Passing over it is safe: a torn
    /// intent's change was never made (the intent is synced before the change), and a torn
    /// outcome leaves its intent without an outcome, which undo treats as possibly made. It
    /// is passed over with a warning.
    public static func parse(_ bytes: [UInt8], file: String) throws(JournalError) -> JournalContents {
        var lines = Lines(file: file, maxLineBytes: Int.max)
        try bytes.withUnsafeBufferPointer { (buffer) throws(JournalError) in try lines.feed(buffer) }
        return lines.finish()
    }

    /// The same reading, fed in pieces (Journal.load streams the file through it): complete
    /// lines are decoded as they end, only the line in progress is held, at most
    /// `maxLineBytes` of it.
    public struct Lines {
        let file: String
        let maxLineBytes: Int
        let decoder = JSONDecoder()
        var entries: [JournalEntry] = []
        var pending: [UInt8] = []
        /// 1-based number of the line in `pending`.
        var number = 1

        public init(file: String, maxLineBytes: Int) {
            self.file = file
            self.maxLineBytes = maxLineBytes
        }

        public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(JournalError) {
            var start = 0
            while start < bytes.count {
                let newline = bytes[start...].firstIndex(of: 0x0A)
                let end = newline ?? bytes.count
                guard pending.count <= maxLineBytes - (end - start) else {
                    throw JournalError(description: "\(file):\(number): not a numaguard journal line (longer than \(maxLineBytes) bytes)",
                                       damaged: true)
                }
                pending.append(contentsOf: bytes[start..<end])
                guard newline != nil else { return }
                try decodePending()
                start = end + 1
            }
        }

        mutating func decodePending() throws(JournalError) {
            defer {
                pending.removeAll(keepingCapacity: true)
                number += 1
            }
            guard !pending.isEmpty else { return }
            let entry: JournalEntry
            do {
                entry = try decoder.decode(JournalEntry.self, from: Data(pending))
            } catch {
                throw JournalError(description: "\(file):\(number): not a numaguard journal line (\(error))", damaged: true)
            }
            let reads = DocumentKind.journalEntry.formatVersion
            guard entry.formatVersion == reads else {
                throw JournalError(description: "\(file):\(number): format_version \(entry.formatVersion) is not one this numaguard "
                                   + "reads (it reads \(reads)); use the numaguard that wrote the journal", damaged: true)
            }
            entries.append(entry)
        }

        /// The entries, and a warning for a torn last line (bytes after the last newline).
        public func finish() -> JournalContents {
            var warnings: [String] = []
            if !pending.isEmpty {
                warnings.append("\(file):\(number): ignoring a torn last line (\(pending.count) bytes without a newline: "
                                + "a write cut short by a crash or a full disk)")
            }
            return JournalContents(entries: entries, warnings: warnings)
        }
    }
}
