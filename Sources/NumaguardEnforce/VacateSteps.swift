import NumaguardCore
import NumaguardHost

/// `vacate_cpus`: a process's threads leave reserved CPUs, each keeping the others it had.
/// The same guards as `set_affinity` (the protected workloads asked again, the start time
/// re-read, the threads listed again until no new one appears, each mask read back), and
/// every thread's mask journaled before anything changes, so undo can put each back.
extension Step {
    /// One thread's move: what it had, what it gets.
    private struct Move {
        var tid: Int
        var now: IDSet
        var new: IDSet
    }

    /// apply: every thread of the process off `action.cpus`. undo (`expecting` the masks apply
    /// set): each thread back to its recorded mask, only where it still holds what apply set.
    mutating func vacate(_ actuator: any Actuator, _ protection: Protection, expecting: Expectation, intent: inout Intent) {
        if case let .value(left) = expecting { return restoreThreads(actuator, protection, left: left, intent: &intent) }
        guard let reserved = action.cpus, !reserved.isEmpty else { return finish(.failed, "no reserved CPUs in the action") }
        guard sameProcess(actuator, protection), let target = action.process else { return }
        var seen: Set<Int> = []
        var was = ThreadMasks(), set = ThreadMasks()
        var confined: [Int] = []
        var problems: [String] = []
        var fits = true
        var fallback: IDSet?
        do throws(ActuationError) {
            for _ in 0..<5 {
                let fresh = try actuator.threads(of: target.pid).filter { !seen.contains($0) }
                if fresh.isEmpty { break }
                var moves: [Move] = []
                for tid in fresh {
                    seen.insert(tid)
                    do throws(ActuationError) {
                        let now = try actuator.affinity(of: tid)
                        if now.intersection(reserved).isEmpty { continue }
                        var new = now.subtracting(reserved)
                        if new.isEmpty {
                            if fallback == nil {
                                let cpuset = try actuator.cpusetCPUs(of: target.pid) ?? IDSet()
                                fallback = cpuset.subtracting(reserved).subtracting(try actuator.isolatedCPUs())
                            }
                            new = fallback ?? IDSet()
                        }
                        if new.isEmpty { confined.append(tid) } else { moves.append(Move(tid: tid, now: now, new: new)) }
                    } catch where error.errno == .noProcess {
                        continue // the thread exited: nothing left to move
                    }
                }
                if moves.isEmpty { continue }
                // Write-ahead: the first round's masks, whole, before the first thread moves.
                if was.isEmpty {
                    let before = ThreadMasks(Dictionary(uniqueKeysWithValues: moves.map { ($0.tid, $0.now) }))
                    let after = ThreadMasks(Dictionary(uniqueKeysWithValues: moves.map { ($0.tid, $0.new) }))
                    fits = before.journalText != nil && after.journalText != nil
                    guard announce(&intent, before: fits ? before.text : nil, after: fits ? after.text : nil) else { return }
                }
                for move in moves {
                    was.masks[move.tid] = move.now
                    do throws(ActuationError) {
                        touched = true
                        try actuator.setAffinity(of: move.tid, to: move.new)
                        let readBack = try actuator.affinity(of: move.tid)
                        if readBack == move.new {
                            set.masks[move.tid] = move.new
                        } else {
                            problems.append("thread \(move.tid): the kernel holds CPUs \(readBack.listString)")
                        }
                    } catch where error.errno == .noProcess {
                        was.masks[move.tid] = nil
                    }
                }
            }
        } catch {
            problems.append(error.description)
        }
        record(was: was, set: set, fits: fits)
        if !confined.isEmpty {
            problems.append("thread\(confined.count == 1 ? "" : "s") \(ThreadMasks.ranges(confined.sorted())): its cpuset confines it to reserved "
                            + "CPUs \(reserved.listString) (or to isolated ones): change the cgroup")
        }
        if !fits { problems.append("too many threads to journal; not undoable") }
        if set.isEmpty && problems.isEmpty { return finish(.unchanged, "no thread allowed on CPUs \(reserved.listString)") }
        let moved = set.isEmpty ? "" : "\(set.masks.count) of \(seen.count) threads off CPUs \(reserved.listString): \(describe(was)) -> \(describe(set))"
        if problems.isEmpty { return finish(.done, moved) }
        let outcome: ActionResult.Outcome = set.isEmpty ? (touched ? .failed : .skipped) : .partial
        finish(outcome, ([moved].filter { !$0.isEmpty } + problems).joined(separator: "; "))
    }

    /// Undo of a vacate: the masks apply recorded (`action.value`) put back on each thread that
    /// is still this process's and still holds what apply set (`left`); any other is left.
    mutating func restoreThreads(_ actuator: any Actuator, _ protection: Protection, left: String?, intent: inout Intent) {
        guard let recorded = action.value.flatMap(ThreadMasks.parse), let applied = left.flatMap(ThreadMasks.parse) else {
            return finish(.failed, "the journal does not record each thread's CPUs before and after that run; nothing done")
        }
        guard sameProcess(actuator, protection), let target = action.process else { return }
        var moves: [Move] = []
        var left: [String] = []
        var restored = ThreadMasks(), found = ThreadMasks()
        do throws(ActuationError) {
            let threads = Set(try actuator.threads(of: target.pid))
            for tid in recorded.masks.keys.sorted() {
                guard let back = recorded.masks[tid] else { continue }
                guard threads.contains(tid) else {
                    left.append("thread \(tid) has exited")
                    continue
                }
                do throws(ActuationError) {
                    let now = try actuator.affinity(of: tid)
                    if now == back { continue }
                    guard let set = applied.masks[tid], now == set else {
                        left.append("thread \(tid) is on CPUs \(now.listString) now, not \(applied.masks[tid]?.listString ?? "?") as that run left it; left alone")
                        continue
                    }
                    moves.append(Move(tid: tid, now: now, new: back))
                } catch where error.errno == .noProcess {
                    left.append("thread \(tid) has exited")
                }
            }
            if !moves.isEmpty {
                let before = ThreadMasks(Dictionary(uniqueKeysWithValues: moves.map { ($0.tid, $0.now) }))
                let after = ThreadMasks(Dictionary(uniqueKeysWithValues: moves.map { ($0.tid, $0.new) }))
                guard announce(&intent, before: before.text, after: after.text) else { return }
            }
            for move in moves {
                touched = true
                try actuator.setAffinity(of: move.tid, to: move.new)
                let readBack = try actuator.affinity(of: move.tid)
                found.masks[move.tid] = move.now
                if readBack == move.new { restored.masks[move.tid] = move.new } else {
                    left.append("thread \(move.tid): the kernel holds CPUs \(readBack.listString)")
                }
            }
        } catch {
            left.append(error.description)
        }
        before = found.isEmpty ? nil : found.text
        after = restored.isEmpty ? nil : restored.text
        if moves.isEmpty && left.isEmpty { return finish(.unchanged, "every thread already back on its CPUs") }
        let back = restored.isEmpty ? "" : "\(restored.masks.count) thread\(restored.masks.count == 1 ? "" : "s") back: \(describe(found)) -> \(describe(restored))"
        if left.isEmpty { return finish(.done, back) }
        touched = true
        finish(restored.isEmpty ? .skipped : .partial, ([back].filter { !$0.isEmpty } + left).joined(separator: "; "))
    }

    /// The outcome line's values: each side whole, or nothing when it does not fit a line.
    private mutating func record(was: ThreadMasks, set: ThreadMasks, fits: Bool) {
        before = fits && !was.isEmpty ? was.journalText : nil
        after = fits && !set.isEmpty ? set.journalText : nil
    }

    /// "CPUs 0-3 (4 threads) / CPUs 2-3 (1 thread)": the distinct masks, for people.
    private func describe(_ masks: ThreadMasks) -> String {
        var counts: [IDSet: Int] = [:]
        for cpus in masks.masks.values { counts[cpus, default: 0] += 1 }
        return counts.sorted { $0.key.listString < $1.key.listString }
            .map { "CPUs \($0.key.listString) (\($0.value) thread\($0.value == 1 ? "" : "s"))" }.joined(separator: " / ")
    }
}
