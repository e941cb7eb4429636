import NumaguardCore
import NumaguardOutput

/// What happened to one action.
public struct ActionResult: Codable, Equatable, Sendable {
    public enum Outcome: String, Codable, Sendable {
        /// Changed and read back as planned.
        case done
        /// Already as wanted when apply came to it: nothing written.
        case unchanged
        /// It would have touched a protected process live.
        case refused
        /// Not something apply does.
        case manual
        /// A privilege it needs is missing; nothing was attempted.
        case blocked
        /// The process exited or was replaced before the change: never touched.
        case skipped
        /// The kernel refused or did not take the value.
        case failed
        /// Done in part: pages that did not move, huge pages the kernel could not allocate.
        case partial
    }

    public var action: Action
    public var outcome: Outcome
    public var detail: String
    /// Privileges it was blocked by.
    public var missing: [Requirement]

    public init(action: Action, outcome: Outcome, detail: String, missing: [Requirement] = []) {
        self.action = action
        self.outcome = outcome
        self.detail = detail
        self.missing = missing
    }
}

/// The outcome of an apply, undo or migrate run.
public struct ApplyReport: Encodable, Equatable, Sendable {
    public var run: String
    public var command: String
    public var results: [ActionResult]
    /// The journal stopped accepting lines: no change was made after that.
    public var journalFailure: String?

    public init(run: String, command: String, results: [ActionResult], journalFailure: String? = nil) {
        self.run = run
        self.command = command
        self.results = results
        self.journalFailure = journalFailure
    }

    /// The document this report is printed as: apply, undo and migrate are each their own
    /// kind, named by the command (always one of the three; Applier's callers name it).
    public var kind: DocumentKind { DocumentKind(name: command) ?? .apply }

    /// What stands between the host and compliance after the run.
    public var remaining: [ActionResult] {
        results.filter { ![.done, .unchanged].contains($0.outcome) }
    }

    /// 0 nothing remains; 77 what remains was all blocked by a missing privilege (a
    /// privileged rerun finishes the job); 1 anything else remains (refused, left to the
    /// operator, failed, partial, skipped).
    public var status: ExitStatus {
        let remaining = remaining
        if remaining.isEmpty && journalFailure == nil { return .success }
        if journalFailure == nil && remaining.allSatisfy({ $0.outcome == .blocked }) { return .noPermission }
        return .violations
    }

    enum CodingKeys: String, CodingKey { case run, command, results, journalFailure = "journal_failure", status }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(run, forKey: .run)
        try container.encode(command, forKey: .command)
        try container.encode(results, forKey: .results)
        try container.encodeIfPresent(journalFailure, forKey: .journalFailure)
        try container.encode(status.rawValue, forKey: .status)
    }
}

/// The apply loop: each action in plan order, checked for privilege, its target's identity
/// re-read right before it acts, the change read back, every change journaled. A failure
/// is recorded and the loop goes on with the rest.
public struct Applier {
    public var actuator: any Actuator
    public var privileges: Privileges
    public var journal: Journal?
    public var command: String
    public var run: String
    /// Asked right before each process is touched: why it is protected now, nil if it is not.
    /// Protection decided at plan time is not trusted alone (a saved plan is a file anyone
    /// can edit, and a protected process may have started since).
    public var protection: Protection
    public var clock: () -> String
    /// The one file a persist action may write or remove (KnownTargets): tests name another.
    public var dropIn = KnownTargets.dropIn

    public init(actuator: any Actuator, privileges: Privileges, journal: Journal?, command: String,
                run: String, protection: Protection, clock: @escaping () -> String = Journal.now) {
        self.actuator = actuator
        self.privileges = privileges
        self.journal = journal
        self.command = command
        self.run = run
        self.protection = protection
        self.clock = clock
    }

    /// `actions` as `protection` settles them (shared pages stay when the policy protects
    /// anything), for a live plan and a saved one alike.
    public func apply(_ actions: [Action]) -> ApplyReport {
        var results: [ActionResult] = []
        var journalFailure: JournalError?
        for action in actions.map(protection.settle) {
            if let journalFailure {
                results.append(ActionResult(action: action, outcome: .skipped, detail: "not attempted: \(journalFailure)"))
                continue
            }
            let (result, entry, intentFailure) = perform(action)
            journalFailure = intentFailure
            if let entry, journalFailure == nil {
                do { try journal?.append(entry) } catch { journalFailure = error }
            }
            results.append(result)
        }
        return ApplyReport(run: run, command: command, results: results, journalFailure: journalFailure?.description)
    }

    /// One action: its intent journaled right before the host is changed (write-ahead), and the
    /// outcome line to journal when something on the host was changed or attempted, or was due
    /// and skipped (refused, blocked and unchanged actions change nothing: not journaled). The
    /// third value is the journal's failure to take the intent: the change was not made.
    func perform(_ action: Action, expecting expected: Expectation = .anything, undoes: String? = nil)
        -> (ActionResult, JournalEntry?, JournalError?) {
        if let refusal = refusal(action) {
            return (ActionResult(action: action, outcome: .refused, detail: refusal), nil, nil)
        }
        switch action.status {
        case .refused: return (ActionResult(action: action, outcome: .refused, detail: action.reason ?? "refused"), nil, nil)
        case .manual: return (ActionResult(action: action, outcome: .manual, detail: action.reason ?? "not done by apply"), nil, nil)
        case .pending: break
        }
        if let process = action.process, process.protected {
            return (ActionResult(action: action, outcome: .refused,
                                 detail: "\(process.label) is protected (workload \(process.workload ?? "?")): never changed live, whatever its recorded status"), nil, nil)
        }
        let missing = privileges.missing(action.requires)
        if !missing.isEmpty {
            return (ActionResult(action: action, outcome: .blocked, detail: privileges.blockedReason(missing), missing: missing), nil, nil)
        }
        var step = Step(action: action)
        var intent = Intent(journal: journal, line: line(action, phase: .intent, undoes: undoes))
        switch action.kind {
        case .setKnob: step.knob(actuator, expecting: expected, intent: &intent)
        case .persist: step.persist(actuator, expecting: expected, intent: &intent)
        case .setAffinity: step.affinity(actuator, protection, intent: &intent)
        case .migratePages: step.migrate(actuator, protection, intent: &intent)
        case .vacateCPUs: step.vacate(actuator, protection, expecting: expected, intent: &intent)
        case .restart, .manual: step.finish(.manual, action.reason ?? "not done by apply")
        }
        let result = ActionResult(action: action, outcome: step.outcome, detail: step.detail)
        guard step.touched else { return (result, nil, intent.failure) }
        var entry = line(action, undoes: undoes)
        entry.before = step.before
        entry.after = step.after
        entry.result = step.outcome
        entry.detail = step.detail
        return (result, entry, intent.failure)
    }

    /// A plan or journal is a file: its knob and file are only taken when they are exactly
    /// what numaguard itself would write (KnownTargets), whatever the action's status says.
    func refusal(_ action: Action) -> String? {
        switch action.kind {
        case .setKnob:
            guard let knob = action.knob else { return nil } // Step.knob fails it
            return KnownTargets.refusal(knob) ?? action.value.flatMap { KnownTargets.refusal(knob, value: $0) }
        case .persist:
            guard let file = action.file else { return nil }
            return KnownTargets.refusal(file: file, contents: action.value, dropIn: dropIn)
        case .setAffinity, .migratePages, .vacateCPUs, .restart, .manual:
            return action.knob != nil || action.file != nil || action.irq != nil
                ? "a \(action.kind.rawValue) action names a knob, IRQ or file; nothing done" : nil
        }
    }

    /// A journal line about `action` of this run, before and after still to be filled in.
    func line(_ action: Action, phase: JournalEntry.Phase? = nil, undoes: String?) -> JournalEntry {
        JournalEntry(time: clock(), run: run, command: command, phase: phase, action: action.kind, subject: action.subject,
                     knob: action.knob, process: action.process, file: action.file, before: nil, after: nil, result: nil,
                     detail: phase == .intent ? "about to change it: the outcome follows on its own line" : "", undoes: undoes,
                     irq: action.irq)
    }
}
