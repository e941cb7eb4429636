#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardOutput
import NumaguardPolicy
import NumaguardReport

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the changes apply would make to bring the host to the policy; change nothing.",
        discussion: """
            Each action with before and after, the privilege it needs and whether numaguard holds it; \
            what is refused (protected processes) and what only a restart or the operator can fix. \
            Exit codes: 0 nothing to do; 2 actions listed; 3 nothing listed but something could not be read; \
            64 usage; 66 the policy file is missing or unreadable; 71 host unreadable; 78 invalid policy.
            """
    )

    @OptionGroup var host: HostOptions
    @OptionGroup var enforce: EnforceOptions
    @Option(help: "Output format: text or json (apply --plan reads the json back).") var format: OutputFormat = .text

    func run() throws {
        let plan = try enforce.plan(root: host.root).plan
        switch format {
        case .text: FileHandleWriter.write(1, EnforceText.render(plan, privileges: .current()))
        case .json: FileHandleWriter.write(1, try JSONDocument.render(kind: .plan, plan))
        }
        if plan.status != .success { throw ExitCode(plan.status.rawValue) }
    }
}

/// What plan and apply share: the policy, the day waivers are judged on, `--persist`.
struct EnforceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The policy file.", valueName: "file")) var policy: String?
    @Option(help: ArgumentHelp("Judge waiver expiry as of this day (YYYY-MM-DD) instead of today (UTC).", valueName: "date"))
    var today: String?
    @Flag(help: "Also keep the policy's sysctls across reboots in /etc/sysctl.d/90-numaguard.conf.") var persist = false

    static let dropIn = KnownTargets.dropIn

    func plan(root: HostRoot) throws -> (plan: Plan, policy: LoadedPolicy) {
        guard let policy else { throw ValidationError("--policy FILE is required") }
        let loaded = try PolicyFile.load(policy)
        let day = try SystemClock.day(today)
        let audit: Audit
        do {
            audit = try Auditor.audit(root: root, policy: loaded, today: day)
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        let current = persist ? (try? root.readTextIfPresent(String(Self.dropIn.dropFirst()))) ?? nil : nil
        let options = Planner.Options(selfPID: Int(getpid()),
                                      persist: persist ? .init(path: Self.dropIn, current: current) : nil)
        return (Planner.plan(audit.report, state: audit.state, policy: audit.policy, options: options), loaded)
    }
}

/// Options of the commands that change the host.
struct ChangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The append-only journal of every change.", valueName: "path")) var journal: String = Journal.defaultPath
    @Flag(help: "Do not ask; required when standard input is not a terminal.") var yes = false
    @Option(help: "Output format for the results: text or json.") var format: OutputFormat = .text

    /// Exit 73 when it cannot be created or opened (a symbolic link, a hard link or an
    /// untrusted file is refused); a torn last line it cut off, and a journal past
    /// Journal.warningBytes, are reported on stderr.
    func openJournal() throws -> Journal {
        let opened: Journal
        do {
            opened = try Journal(path: journal)
        } catch {
            throw Terminal.fail("\(error); nothing was changed", ExitStatus(error))
        }
        if let repaired = opened.repaired { Terminal.printError("numaguard: warning: \(repaired)") }
        Self.warnSize(opened)
        return opened
    }

    /// A journal is never rotated by numaguard; past Journal.warningBytes the operator hears so.
    static func warnSize(_ journal: Journal) {
        let size = journal.size
        if size > Journal.warningBytes {
            Terminal.printError("numaguard: warning: the journal \(journal.path) is \(Bytes.text(Int(size))) (over "
                                + "\(Bytes.text(Int(Journal.warningBytes)))); every undo reads it whole: once its runs need no undo, "
                                + "move it aside and let apply start a new one")
        }
    }

    /// On a terminal, asks; elsewhere --yes is the answer. A no changes nothing (exit 2:
    /// the changes are still pending). Asked before the journal is opened (or created), so
    /// a refusal or a no leaves the host exactly as it was.
    func confirm(_ question: String) throws {
        do {
            try Consent.obtain(question, yes: yes, terminal: isatty(0) == 1) { prompt in
                FileHandleWriter.write(2, prompt)
                return readLine(strippingNewline: true)
            }
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
    }

    func finish(_ report: ApplyReport) throws {
        switch format {
        case .text: FileHandleWriter.write(1, EnforceText.render(report))
        case .json: FileHandleWriter.write(1, try JSONDocument.render(kind: report.kind, report))
        }
        if let failure = report.journalFailure { Terminal.printError("numaguard: \(failure)") }
        if report.status != .success { throw ExitCode(report.status.rawValue) }
    }

    /// The live host only: a --host-root is a captured host, which nothing may change.
    static func requireLive(_ host: HostOptions, _ command: String) throws {
        guard host.root.isLive else {
            throw Terminal.fail("\(command) changes the live host only; --host-root \(host.hostRoot) is a captured host "
                                + "(numaguard plan --host-root reads it); nothing was changed", .usage)
        }
    }
}

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the changes plan shows: kernel knobs, affinity and pages of processes that are not protected.",
        discussion: """
            Protected processes are never migrated, re-pinned or re-cgrouped live. Each process is identified by \
            PID and start time, re-read right before each change; one that exited or was replaced is skipped. \
            Every change is journaled before it is made and again after (numaguard undo restores the knobs). Exit codes: 0 the host \
            is as planned after; 1 something remains (refused, left to a restart or the operator, failed, \
            partial, skipped, or the journal failed partway: nothing is changed after that); 2 declined at the \
            prompt; 3 nothing to do but something could not be read; 77 what remains was all blocked by a missing \
            privilege; 64 usage (no --yes off a terminal, --host-root, a plan file from another boot, a policy \
            changed since the plan); 65 the --plan file is not a numaguard plan; 66 the --plan or policy file is \
            missing or cannot be read, or another user could have written it; 71 host unreadable; 73 the journal \
            cannot be created or opened, or is a symbolic link, a hard link, not a regular file or another user's \
            (nothing changed); 78 invalid policy. \
            --plan FILE is read only when it is root's or yours, writable by no one else and not a link; it re-loads \
            --policy FILE when given, else the plan's policy_file under the same rule, and refuses a plan whose \
            policy has changed since; the policy's protected workloads are matched again right before each \
            process is touched. Only the kernel settings numaguard manages and its sysctl.d drop-in are ever written.
            """
    )

    @OptionGroup var host: HostOptions
    @OptionGroup var enforce: EnforceOptions
    @OptionGroup var change: ChangeOptions
    @Option(help: ArgumentHelp("Apply this saved plan (numaguard plan --format json) instead of planning now; its policy "
                               + "(the plan's policy_file, or --policy FILE) is loaded again and must be unchanged.", valueName: "file"))
    var plan: String?

    func validate() throws {
        if plan == nil && enforce.policy == nil { throw ValidationError("give --policy FILE or --plan FILE") }
        if plan != nil && enforce.persist { throw ValidationError("--persist is planned: give it to numaguard plan, not with --plan") }
    }

    func run() throws {
        try ChangeOptions.requireLive(host, "apply")
        let (planned, loaded) = try plan.map { try Self.load($0, policy: enforce.policy) } ?? enforce.plan(root: host.root)
        if planned.actions.isEmpty {
            FileHandleWriter.write(1, EnforceText.render(planned, privileges: .current()))
            if planned.status != .success { throw ExitCode(planned.status.rawValue) }
            return
        }
        let report = try Consent.apply(planned.actions, confirm: { pending in
            if !change.yes { FileHandleWriter.write(2, EnforceText.render(planned, privileges: .current())) }
            try change.confirm("Make these \(pending) change\(pending == 1 ? "" : "s")?")
        }, openJournal: change.openJournal) { journal in
            Applier(actuator: LiveActuator(), privileges: .current(), journal: journal, command: "apply",
                    run: Journal.runID(time: Journal.now()), protection: .policy(loaded.policy, file: loaded.file))
        }
        try change.finish(report)
    }

    /// A saved plan under SavedPlan's rules (trusted file, this boot, a trusted and unchanged
    /// policy); the plan is decoded and its policy loaded here, between them.
    static func load(_ path: String, policy override: String?) throws -> (plan: Plan, policy: LoadedPolicy) {
        do {
            let bytes = try SavedPlan.read(path)
            let plan: Plan
            do {
                plan = try JSONDocument.decode(Plan.self, kind: .plan, from: bytes)
            } catch {
                throw Terminal.fail("\(path) is not a plan numaguard can read: \(error)", ExitStatus(error))
            }
            let file = try SavedPlan.policyFile(plan, path: path, override: override, bootID: HostNames.read(.live).bootID)
            let loaded = try PolicyFile.load(file)
            try SavedPlan.verify(plan, path: path, policyFile: loaded.file, digest: loaded.digest)
            return (plan, loaded)
        } catch let refusal as SavedPlan.Refusal {
            throw Terminal.fail(refusal.description, ExitStatus(refusal))
        }
    }
}

struct UndoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undo",
        abstract: "Restore the kernel knobs, IRQ affinities, the sysctl.d drop-in and vacated threads the newest apply run changed, from the journal.",
        discussion: """
            Takes back one run: the newest apply run with a change not yet restored (--run ID picks another); \
            repeated undos walk back through the runs. A knob changed since that run is left alone and reported; an \
            IRQ is written back only on the boot it was changed on, to the same handler; a thread vacate_cpus moved \
            is put back only with --policy FILE (its protected workloads are asked again), when the process is the \
            same and the thread still holds the CPUs apply gave it. \
            Exit codes: 0 restored, or nothing to undo; 1 something was not restored (or the journal failed \
            partway: nothing is changed after that); 2 declined at the prompt; 77 blocked by a missing \
            privilege, or the journal is not readable (EACCES/EPERM); 64 usage (no --yes off a terminal, an unknown \
            --run); 65 a damaged journal line (named by file:line; a torn last line is ignored with a warning); 66 no \
            journal, or it cannot be read otherwise (a directory); 73 it cannot be opened for writing (or is a \
            symbolic link, a hard link, not a regular file or another user's); undo never creates it. \
            A change journaled as intended with no outcome (an interrupted run) is restored too: it may have been made.
            """
    )

    @OptionGroup var change: ChangeOptions
    @Option(name: .customLong("run"), help: ArgumentHelp("Undo this run (its ID is printed by apply and in every journal line).", valueName: "id"))
    var runID: String?
    @Option(help: ArgumentHelp("The policy whose protected workloads are asked again before a thread vacate_cpus moved is put "
                               + "back; without it no thread is moved back (knobs are restored either way).", valueName: "file"))
    var policy: String?

    /// The journal is opened first (never created, under the journal's trust rule) and its
    /// lines read from that descriptor; the same descriptor takes undo's lines: what is
    /// restored is what was checked, whatever happens to the path while the prompt waits.
    func run() throws {
        let entries: [JournalEntry]
        let journal: Journal
        do {
            journal = try Journal.openExisting(change.journal)
            let contents = try journal.load()
            for warning in contents.warnings { Terminal.printError("numaguard: warning: \(warning)") }
            ChangeOptions.warnSize(journal)
            entries = contents.entries
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        let selection: Undo.Selection?
        do {
            selection = try Undo.select(entries, run: runID)
        } catch {
            throw Terminal.fail(error.description, .usage)
        }
        for entry in Undo.unfinished(entries, run: selection?.run) {
            Terminal.printError("numaguard: warning: \(entry.command) run \(entry.run) journaled that it was about to change "
                                + "\(entry.subject) (\(entry.before ?? "?") -> \(entry.after ?? "?")) and no outcome: it may have been made; "
                                + "undo does not reverse process placement (numaguard plan shows it now)")
        }
        guard let selection else {
            FileHandleWriter.write(1, "Nothing to undo: every apply run in \(change.journal) is restored.\n")
            return
        }
        let protection = try policy.map { file -> Protection in
            let loaded = try PolicyFile.load(file)
            return .policy(loaded.policy, file: loaded.file)
        } ?? .unknown
        let count = selection.entries.count
        let report = try Consent.undo(selection, journal: journal, confirm: {
            try change.confirm("Restore \(count) setting\(count == 1 ? "" : "s") of run \(selection.run)?")
        }, repairFailed: { error in Terminal.fail("\(error); nothing was changed", ExitStatus(error)) }) { journal in
            if let repaired = journal.repaired { Terminal.printError("numaguard: warning: \(repaired)") }
            return Applier(actuator: LiveActuator(), privileges: .current(), journal: journal, command: "undo",
                           run: Journal.runID(time: Journal.now()), protection: protection)
        }
        try change.finish(report)
    }
}
