/// The operator's yes to a change, and the order around it that keeps a no harmless: apply
/// and migrate ask only when something is pending, and open (or create) the journal only
/// after the yes, so a refusal, a no or a run with nothing to change leaves the host and the
/// journal's path exactly as they were. undo opens its journal first (it never creates one,
/// and what it restores must be read from it) and repairs it only after the yes.
public enum Consent {
    /// Why there is no yes; nothing was changed.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// Standard input is not a terminal and --yes was not given: no one can answer (usage).
        case noTerminal
        /// The operator answered something other than yes: the changes are still pending.
        case declined

        public var description: String {
            switch self {
            case .noTerminal: "standard input is not a terminal: pass --yes to make these changes; nothing was changed"
            case .declined: "nothing was changed"
            }
        }
    }

    /// `yes` (--yes) answers for the operator. Otherwise only a terminal can: `ask` shows the
    /// prompt and returns the line typed (nil at end of input). y or yes, in any case, is a
    /// yes; anything else, an empty line and end of input included, is a no.
    public static func obtain(_ question: String, yes: Bool, terminal: Bool, ask: (String) -> String?) throws(Refusal) {
        if yes { return }
        guard terminal else { throw .noTerminal }
        let answer = ask("\(question) [y/N] ")?.lowercased() ?? ""
        guard answer == "y" || answer == "yes" else { throw .declined }
    }

    /// apply's and migrate's order: `confirm` is called with the number of pending actions
    /// (only when there is one), then `openJournal`; `applier` gets the journal (nil when
    /// nothing was pending: nothing is changed, so nothing is journaled) and runs `actions`.
    /// A failure of `confirm` or `openJournal` is thrown before anything is applied.
    public static func apply<Failure: Error>(
        _ actions: [Action], confirm: (Int) throws(Failure) -> Void, openJournal: () throws(Failure) -> Journal,
        applier: (Journal?) -> Applier
    ) throws(Failure) -> ApplyReport {
        let pending = actions.filter { $0.status == .pending }.count
        var journal: Journal?
        if pending > 0 {
            try confirm(pending)
            journal = try openJournal()
        }
        return applier(journal).apply(actions)
    }

    /// undo's order: the journal was opened (never created) and read by the caller, who
    /// chose `selection` from it; `confirm` asks; only after the yes is the journal repaired
    /// (a torn last line cut off: undo's first write) and the run taken back. A no leaves the
    /// journal byte for byte as it was. `repairFailed` says what a failed repair is.
    public static func undo<Failure: Error>(
        _ selection: Undo.Selection, journal: Journal, confirm: () throws(Failure) -> Void,
        repairFailed: (JournalError) -> Failure, applier: (Journal) -> Applier
    ) throws(Failure) -> ApplyReport {
        try confirm()
        do { try journal.repair() } catch { throw repairFailed(error) }
        return applier(journal).undo(selection)
    }
}
