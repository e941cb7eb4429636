import NumaguardAudit
import NumaguardCore
import NumaguardHost

/// The IRQ-affinity half of `Step.knob`: an IRQ number is not an identity (numbers are handed
/// out at boot and when drivers load), so the interrupt is recognised again before anything is
/// written; and the requested CPUs are only half the answer, since the interrupt chip moves the
/// vector at its next interrupt, so the effective CPUs are read back too.
extension Step {
    /// Polls of `effective_affinity_list` after a write, `pollInterval` apart: up to 1 s.
    static let polls = 10
    static let pollInterval = 0.1

    /// EIO (6.1, PREEMPT_RT) or EPERM (6.12): `irq_can_set_affinity_usr` refuses a managed,
    /// per-CPU or no-balance interrupt. Root is not the problem then: no privilege helps.
    static func unwritableIRQ(_ error: ActuationError) -> Bool {
        error.errno == .ioError || error.errno == .notPermitted
    }

    /// "IRQ 51 (nvme0q2)".
    func irqName(_ knob: Knob) -> String {
        guard let target = action.irq else { return knob.name }
        return "IRQ \(target.irq)" + (target.actions.map { " (\(Self.escaped($0)))" } ?? "")
    }

    /// Same boot, same handler: the IRQ is the one planned. Otherwise nothing is written, and
    /// the record says why (a boot mismatch is refused: no later run can make it right).
    mutating func sameInterrupt(_ actuator: any Actuator, _ knob: Knob) -> Bool {
        guard let target = action.irq, Knob.irqAffinity(irq: target.irq) == knob else {
            finish(.failed, "\(knob.name) carries no record of the interrupt it was planned for; nothing written")
            return false
        }
        touched = true
        let now = actuator.bootID()
        guard let planned = target.bootID, let now, planned == now else {
            finish(.refused, "IRQ \(target.irq) was recorded on boot \(target.bootID.map(Self.escaped) ?? "unknown"), "
                   + "this is boot \(now.map(Self.escaped) ?? "unknown"): "
                   + "IRQ numbers are reassigned at boot; nothing written")
            return false
        }
        let actions: String?
        do throws(ActuationError) {
            actions = try actuator.irqActions(target.irq)
        } catch {
            finish(.failed, "cannot re-read IRQ \(target.irq)'s handler before writing: \(error); nothing written")
            return false
        }
        // By bytes: String's == holds canonically equivalent handler names equal.
        guard actions.map({ Array($0.utf8) }) == target.actions.map({ Array($0.utf8) }) else {
            finish(.skipped, "IRQ \(target.irq) is now \(actions.map { "\"\(Self.escaped($0))\"" } ?? "freed"), planned for "
                   + "\(target.actions.map { "\"\(Self.escaped($0))\"" } ?? "no handler"): not the same interrupt; nothing written")
            return false
        }
        touched = false
        return true
    }

    /// After `written` reads back as requested: where the chip handles it. Done when the
    /// effective CPUs are within the written ones (or the kernel reports none), partial when
    /// the chip has not moved it within a second (it moves at the vector's next interrupt).
    mutating func settleInterrupt(_ actuator: any Actuator, written: String, change: String?) throws(ActuationError) {
        guard let target = action.irq, let cpus = try? IDListParser.parse(written, what: "smp_affinity_list") else {
            return finish(.failed, "\(written) is not a CPU list")
        }
        var effective = try actuator.effectiveAffinity(irq: target.irq)
        var polls = 0
        while let now = effective, !now.isSubset(of: cpus), change != nil, polls < Self.polls {
            actuator.pause(Self.pollInterval)
            polls += 1
            effective = try actuator.effectiveAffinity(irq: target.irq)
        }
        let label = "IRQ \(target.irq)"
        guard let effective else {
            return finish(change == nil ? .unchanged : .done,
                          (change ?? "already \(written)") + " (this kernel reports no effective CPUs for \(label))")
        }
        if effective.isSubset(of: cpus) {
            let handled = effective.isEmpty ? "not started: no effective CPU yet" : "effective \(Self.cpus(effective))"
            return finish(change == nil ? .unchanged : .done, (change ?? "already \(written)") + " (\(handled))")
        }
        finish(.partial, "requested \(written)\(change == nil ? " already" : ""); effective still \(Self.cpus(effective)): "
               + "the chip moves it at the next interrupt")
    }

    static func cpus(_ set: IDSet) -> String { set.count == 1 ? "CPU \(set.listString)" : "CPUs \(set.listString)" }

    static func escaped(_ text: String) -> String { DeviceChecks.untrusted(text) }
}
