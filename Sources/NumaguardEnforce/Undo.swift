/// Taking back what one apply run changed, newest run first: kernel knobs (IRQ affinities
/// among them), the sysctl.d drop-in, and the threads `vacate_cpus` moved off reserved CPUs.
///
/// Decisions: undo takes back one run at a time, the newest apply run with a change not yet
/// restored, so repeated undos walk back through the runs; `--run ID` picks another. Workload
/// affinity (`set_affinity`) and page migrations are still not reversed: they follow from the
/// policy and are not "restored" to a wrong placement. A knob someone changed since the run is
/// left alone and reported. An IRQ's affinity is written back only on the boot it was changed
/// on and only to the same handler (IRQ numbers are reassigned at boot). A vacated thread is
/// put back only when the process is the same (PID and start time), the thread still exists,
/// its mask is still what apply set, and the process is not protected now (undo --policy asks
/// the policy's protected workloads again; without it no thread is moved back). Undo's own
/// lines say which run they undo, so undo never undoes itself.
///
/// An intent without its outcome (the run was killed, crashed or lost its disk between the
/// two lines) is taken as possibly made: its knob or file is restored to the recorded old
/// value, expecting the value the run was about to write; if the change never happened the
/// knob already holds the old value and undo finds it unchanged (restoring is idempotent).
/// A process action left that way is reported (`unfinished`), never reversed.
public enum Undo {
    public struct Selection: Equatable, Sendable {
        public var run: String
        /// The run's changes still to take back, newest first (reverse of the order made).
        public var entries: [JournalEntry]
    }

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case unknownRun(String)
        public var description: String {
            switch self {
            case let .unknownRun(run): "the journal has no apply run \(run) that changed a kernel knob or the drop-in"
            }
        }
    }

    static func restorable(_ entry: JournalEntry) -> Bool {
        guard entry.command == "apply" else { return false }
        if entry.action == .vacateCPUs {
            // Only a finished line records each thread's mask before and after.
            return !entry.isIntent && entry.before != nil && entry.after != nil && entry.process != nil
                && entry.result.map { [.done, .partial].contains($0) } ?? false
        }
        guard [.setKnob, .persist].contains(entry.action) else { return false }
        if entry.isIntent { return true } // settled() keeps only intents without an outcome
        return entry.result.map { [.done, .partial].contains($0) } ?? false
    }

    /// The outcomes, and in their place each intent no outcome line followed (same run,
    /// command and subject; paired first in, first out). Every line is visited once.
    public static func settled(_ entries: [JournalEntry]) -> [JournalEntry] {
        var open: [String: [Int]] = [:]
        var closed = Set<Int>()
        for (index, entry) in entries.enumerated() {
            let key = "\(entry.run)\u{0}\(entry.command)\u{0}\(entry.subject)"
            if entry.isIntent {
                open[key, default: []].append(index)
            } else if let first = open[key]?.first {
                open[key]?.removeFirst()
                closed.insert(first)
            }
        }
        return entries.indices.filter { !closed.contains($0) }.map { entries[$0] }
    }

    /// Process actions (affinity, pages) whose intent has no outcome, of one run or of all:
    /// they may have been made; undo does not reverse placement, it says so.
    public static func unfinished(_ entries: [JournalEntry], run: String? = nil) -> [JournalEntry] {
        settled(entries).filter { $0.isIntent && $0.process != nil && (run == nil || $0.run == run) }
    }

    /// nil when there is nothing left to undo.
    public static func select(_ lines: [JournalEntry], run requested: String? = nil) throws(Problem) -> Selection? {
        let entries = settled(lines)
        var runs: [String] = []
        for entry in entries where restorable(entry) && !runs.contains(entry.run) { runs.append(entry.run) }
        if let requested, !runs.contains(requested) { throw .unknownRun(requested) }
        for run in requested.map({ [$0] }) ?? runs.reversed() {
            let restored = Set(entries.filter { $0.command == "undo" && $0.undoes == run && [.done, .unchanged].contains($0.result) }
                .map(\.subject))
            // The last change per subject is the one to take back; earlier ones in the same run are not possible.
            var pending: [JournalEntry] = []
            for entry in entries.reversed() where entry.run == run && restorable(entry) && !restored.contains(entry.subject) {
                if !pending.contains(where: { $0.subject == entry.subject }) { pending.append(entry) }
            }
            if !pending.isEmpty { return Selection(run: run, entries: pending) }
            if requested != nil { return nil }
        }
        return nil
    }

    /// The action that puts an entry's `before` back; `after` is what the run left, which
    /// undo expects to find.
    public static func action(restoring entry: JournalEntry) -> Action {
        switch entry.action {
        case .vacateCPUs:
            return Action(kind: .vacateCPUs, checks: [], subject: entry.subject, process: entry.process, value: entry.before,
                          before: entry.after ?? "", after: entry.before ?? "", requires: [Planning.affinityRequirement])
        case .persist:
            return Action(kind: .persist, checks: [], subject: entry.subject, value: entry.before, file: entry.file,
                          before: entry.after.map(Planning.oneLine) ?? "absent", after: entry.before.map(Planning.oneLine) ?? "absent",
                          requires: [Requirement("CAP_DAC_OVERRIDE", why: "the directory is root's", exceptUID: 0)])
        default:
            var action = Action(kind: .setKnob, checks: [], subject: entry.subject, knob: entry.knob, value: entry.before,
                                before: entry.after ?? "", after: entry.before ?? "")
            // An IRQ is written back only on the boot, and to the handler, it was changed for.
            action.irq = entry.irq
            if let knob = entry.knob {
                action.requires = Planning.requirements(for: knob)
            }
            return action
        }
    }
}

extension Applier {
    /// Restores a selection; every attempt, and a knob found already restored, is journaled
    /// as this run's undo of the selected run.
    public func undo(_ selection: Undo.Selection) -> ApplyReport {
        var results: [ActionResult] = []
        var failure: String?
        for entry in selection.entries {
            let action = Undo.action(restoring: entry)
            if let failure {
                results.append(ActionResult(action: action, outcome: .skipped, detail: "not attempted: \(failure)"))
                continue
            }
            // A file the run created is restored by removing it: expect the contents it wrote.
            let (result, line, intentFailure) = perform(action, expecting: .value(entry.after), undoes: selection.run)
            if let intentFailure {
                failure = intentFailure.description
                results.append(result)
                continue
            }
            var journaled = line
            if journaled == nil, result.outcome == .unchanged {
                var unchanged = self.line(action, undoes: selection.run)
                unchanged.before = entry.after
                unchanged.after = entry.before
                unchanged.result = .unchanged
                unchanged.detail = result.detail
                journaled = unchanged
            }
            if let journaled {
                do { try journal?.append(journaled) } catch { failure = error.description }
            }
            results.append(result)
        }
        return ApplyReport(run: run, command: command, results: results, journalFailure: failure)
    }
}
