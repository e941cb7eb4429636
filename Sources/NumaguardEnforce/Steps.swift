import NumaguardCore

/// The journal's write-ahead line for one action: written and synced right before the host
/// is changed, with the value found and the value about to be written, so a crash between
/// the change and its outcome line leaves a record undo can act on.
struct Intent {
    let journal: Journal?
    /// The action's line, phase intent; `before` and `after` are filled in when recorded.
    var line: JournalEntry
    /// The journal refused the line: the change was not made, and nothing after it is.
    private(set) var failure: JournalError?

    init(journal: Journal?, line: JournalEntry) {
        self.journal = journal
        self.line = line
    }

    /// False when the line could not be written: the caller must not change the host.
    mutating func record(before: String?, after: String?) -> Bool {
        line.before = before
        line.after = after
        do {
            try journal?.append(line)
            return true
        } catch {
            failure = error
            return false
        }
    }
}

/// Undo's guard: what the target must hold for it to be restored. A journal line without
/// `after` does not say what the run left, so it is never read as "anything goes".
enum Expectation: Equatable {
    /// apply: no expectation.
    case anything
    /// undo: the value the run being taken back left (nil: the file was absent; a knob
    /// without a recorded value is refused).
    case value(String?)
}

/// Carrying out one action against an Actuator: the identity re-read, the change, the
/// read-back, and what to say and journal about it.
struct Step {
    let action: Action
    var outcome: ActionResult.Outcome = .failed
    var detail = ""
    /// Journaled values: a knob's or file's value in its write spelling, or a description.
    var before: String?
    var after: String?
    /// Something on the host was changed or attempted.
    var touched = false

    init(action: Action) { self.action = action }

    mutating func finish(_ outcome: ActionResult.Outcome, _ detail: String) {
        self.outcome = outcome
        self.detail = detail
    }

    /// Journals the intent; when that fails, nothing is changed and no outcome is journaled.
    mutating func announce(_ intent: inout Intent, before: String?, after: String?) -> Bool {
        if intent.record(before: before, after: after) { return true }
        touched = false
        finish(.skipped, "not attempted: the journal could not record the change beforehand")
        return false
    }

    /// `expected`: undo's guard, the value the run being taken back left. A knob that has
    /// changed since is someone else's decision and is left alone.
    mutating func knob(_ actuator: any Actuator, expecting expectation: Expectation, intent: inout Intent) {
        guard let knob = action.knob, let value = action.value else { return finish(.failed, "no knob in the action") }
        let irq = knob.kind == .irqAffinity
        if irq, !sameInterrupt(actuator, knob) { return }
        do throws(ActuationError) {
            guard let current = try actuator.read(knob) else {
                return finish(.failed, "/\(knob.path) does not exist on this kernel")
            }
            before = current
            if current == value {
                after = current
                if irq { return try settleInterrupt(actuator, written: value, change: nil) }
                return finish(.unchanged, "already \(value)")
            }
            if case let .value(expected) = expectation, current != expected {
                after = current
                touched = true
                guard let expected else {
                    return finish(.skipped, "the journal does not record what that run left (it is \(current) now); left alone")
                }
                return finish(.skipped, "changed since that run: it is \(current), the run left \(expected); left alone")
            }
            guard announce(&intent, before: current, after: value) else { return }
            touched = true
            do throws(ActuationError) {
                try actuator.write(knob, value)
            } catch where irq && Self.unwritableIRQ(error) {
                return finish(.refused, "\(irqName(knob)) is managed or per-CPU: its affinity cannot be written from user space "
                              + "(the kernel answered \(error.errno?.description ?? error.description)); left at \(current)")
            }
            let readBack = try actuator.read(knob)
            after = readBack
            if readBack == value {
                if irq { return try settleInterrupt(actuator, written: value, change: "\(current) -> \(value)") }
                return finish(.done, "\(current) -> \(value)")
            }
            if knob.kind == .number, let got = readBack.flatMap({ Int($0) }), let want = Int(value), let was = Int(current),
               (was < want && got > was) || (was > want && got < was) {
                return finish(.partial, "\(current) -> \(got): asked for \(want), the kernel took \(got)")
            }
            finish(.failed, "wrote \(value), the kernel reports \(readBack ?? "nothing")")
        } catch {
            finish(.failed, error.description)
        }
    }

    mutating func persist(_ actuator: any Actuator, expecting expectation: Expectation, intent: inout Intent) {
        guard let path = action.file else { return finish(.failed, "no file in the action") }
        do throws(ActuationError) {
            let current = try actuator.readFile(path)
            before = current
            if current == action.value {
                after = current
                return finish(.unchanged, "\(path) already holds it")
            }
            if case let .value(expected) = expectation, current != expected {
                after = current
                touched = true
                return finish(.skipped, "\(path) changed since that run; left alone")
            }
            guard announce(&intent, before: current, after: action.value) else { return }
            touched = true
            try actuator.replaceFile(path, with: action.value)
            after = try actuator.readFile(path)
            if after == action.value {
                return finish(.done, action.value == nil ? "removed \(path)" : "wrote \(path)")
            }
            finish(.failed, "\(path) does not read back as written")
        } catch {
            finish(.failed, error.description)
        }
    }

    /// Right before acting: the policy's protected workloads are asked again (a process one
    /// of them claims now is refused), then the start time is re-read (a process that exited
    /// or whose PID now belongs to another process is skipped), so the protection answer was
    /// about this very process.
    mutating func sameProcess(_ actuator: any Actuator, _ protection: Protection) -> Bool {
        guard let target = action.process else {
            finish(.failed, "no process in the action")
            return false
        }
        // Journaled: the change was due, and the record says why it was not made.
        touched = true
        if let reason = protection.reason(target) {
            finish(.refused, "\(reason): never changed live; nothing done")
            return false
        }
        let now: ProcessIdentity?
        do throws(ActuationError) {
            now = try actuator.identity(of: target.pid)
        } catch {
            finish(.failed, "cannot re-read \(target.label) before changing it: \(error); nothing done")
            return false
        }
        guard let now else {
            finish(.skipped, "\(target.label) has exited; nothing done")
            return false
        }
        guard now.startTime == target.startTime else {
            finish(.skipped, "PID \(target.pid) was replaced: it started at tick \(now.startTime), the planned \(target.comm) at \(target.startTime); nothing done")
            return false
        }
        touched = false
        return true
    }

    /// Every thread, including threads started while it runs (the list is read again until
    /// no new thread appears), each set and read back.
    mutating func affinity(_ actuator: any Actuator, _ protection: Protection, intent: inout Intent) {
        guard let cpus = action.cpus else { return finish(.failed, "no CPUs in the action") }
        guard sameProcess(actuator, protection), let target = action.process else { return }
        var seen: Set<Int> = []
        var changed: [Int] = []
        var previous: Set<String> = []
        var problems: [String] = []
        do throws(ActuationError) {
            for _ in 0..<5 {
                let fresh = try actuator.threads(of: target.pid).filter { !seen.contains($0) }
                if fresh.isEmpty { break }
                for tid in fresh {
                    seen.insert(tid)
                    do throws(ActuationError) {
                        let now = try actuator.affinity(of: tid)
                        if now == cpus { continue }
                        if previous.isEmpty, !announce(&intent, before: now.listString, after: cpus.listString) { return }
                        previous.insert(now.listString)
                        touched = true
                        try actuator.setAffinity(of: tid, to: cpus)
                        let readBack = try actuator.affinity(of: tid)
                        if readBack == cpus {
                            changed.append(tid)
                        } else {
                            problems.append("thread \(tid): the kernel holds CPUs \(readBack.listString)")
                        }
                    } catch where error.errno == .noProcess {
                        continue // the thread exited: nothing left to place
                    }
                }
            }
        } catch {
            touched = touched || !changed.isEmpty
            before = previous.sorted().joined(separator: " / ")
            return finish(changed.isEmpty ? .failed : .partial, error.description)
        }
        before = previous.isEmpty ? cpus.listString : previous.sorted().joined(separator: " / ")
        after = cpus.listString
        if !problems.isEmpty {
            return finish(changed.isEmpty ? .failed : .partial, problems.joined(separator: "; "))
        }
        if changed.isEmpty { return finish(.unchanged, "every thread already allowed CPUs \(cpus.listString)") }
        finish(.done, "\(changed.count) of \(seen.count) threads: CPUs \(before ?? "") -> \(cpus.listString)")
    }

    mutating func migrate(_ actuator: any Actuator, _ protection: Protection, intent: inout Intent) {
        guard let from = action.fromNodes, let to = action.toNodes else { return finish(.failed, "no nodes in the action") }
        guard sameProcess(actuator, protection), let target = action.process else { return }
        do throws(ActuationError) {
            let was = try actuator.anonymousBytes(of: target.identity)
            before = Self.describe(was)
            if from.allSatisfy({ (was[$0] ?? 0) == 0 }) {
                after = before
                return finish(.unchanged, "no anonymous memory on node\(from.count == 1 ? "" : "s") \(from.listString)")
            }
            guard announce(&intent, before: before, after: "pages on node\(from.count == 1 ? "" : "s") \(from.listString) "
                           + "moved to node\(to.count == 1 ? "" : "s") \(to.listString)") else { return }
            touched = true
            let notMoved = try actuator.migratePages(of: target.pid, from: from, to: to, onlyUnshared: action.onlyUnshared ?? false)
            let now = try actuator.anonymousBytes(of: target.identity)
            after = Self.describe(now)
            let left = from.lazy.map { now[$0] ?? 0 }.saturatingSum
            let moved = "\(before ?? "") -> \(after ?? "")"
            if notMoved == 0 && left == 0 { return finish(.done, moved) }
            finish(.partial, "\(moved); the kernel could not move \(notMoved) page\(notMoved == 1 ? "" : "s"), "
                   + "\(Bytes.text(left)) still on node\(from.count == 1 ? "" : "s") \(from.listString)")
        } catch {
            finish(.failed, error.description)
        }
    }

    /// `64.0 MiB on node 0, 1.2 MiB on node 1`, nodes ascending.
    static func describe(_ bytes: [Int: Int]) -> String {
        let nodes = bytes.keys.sorted().filter { (bytes[$0] ?? 0) > 0 }
        if nodes.isEmpty { return "none" }
        return nodes.map { "\(Bytes.text(bytes[$0] ?? 0)) on node \($0)" }.joined(separator: ", ")
    }
}
