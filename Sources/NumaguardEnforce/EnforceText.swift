import NumaguardCore

/// The plan and the results as an operator reads them: each action with before and after,
/// the privilege it needs and whether numaguard holds it; refusals and what only the
/// operator can do, apart and with the reason.
public enum EnforceText {
    public static func render(_ plan: Plan, privileges: Privileges) -> String {
        var lines: [String] = []
        let live = plan.actions.filter { $0.status == .pending }
        let refused = plan.actions.filter { $0.status == .refused }
        let manual = plan.actions.filter { $0.status == .manual }
        if plan.actions.isEmpty {
            lines.append("Nothing to do: the host matches \(plan.policyFile)" + (plan.unreadable.isEmpty ? "." : ", as far as it could be read:"))
        } else {
            lines.append("Plan for \(plan.policyFile): \(live.count) change\(live.count == 1 ? "" : "s"), "
                         + "\(refused.count) refused, \(manual.count) not done live")
        }
        for (index, action) in live.enumerated() {
            lines.append("")
            lines.append("\(index + 1). \(headline(action))")
            lines.append("   before: \(action.before)")
            lines.append("   after:  \(action.after)")
            if !action.checks.isEmpty { lines.append("   fixes:  \(action.checks.joined(separator: ", "))") }
            for requirement in action.requires {
                lines.append("   needs:  \(privileges.describe(requirement))")
            }
        }
        if !refused.isEmpty {
            lines.append("")
            lines.append("Refused (never done live):")
            for action in refused { lines += item(action) }
        }
        if !manual.isEmpty {
            lines.append("")
            lines.append("Not done live (restart or operator):")
            for action in manual { lines += item(action) }
        }
        if !plan.unreadable.isEmpty {
            lines.append("")
            lines.append("Could not be read (the plan may be incomplete):")
            lines += plan.unreadable.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func headline(_ action: Action) -> String {
        switch action.kind {
        case .setKnob: "set \(action.subject)" + (action.irq.map(irqLabel) ?? "")
        case .setAffinity: "set the CPU affinity of every thread of \(action.subject)"
        case .vacateCPUs: action.value == nil ? "move every thread of \(action.subject) off reserved CPUs \(action.cpus?.listString ?? "?")"
            : "put every thread of \(action.subject) back on the CPUs it had"
        case .migratePages:
            "migrate the pages of \(action.subject) from node\((action.fromNodes?.count ?? 0) == 1 ? "" : "s") "
                + "\(action.fromNodes?.listString ?? "?") to node\((action.toNodes?.count ?? 0) == 1 ? "" : "s") \(action.toNodes?.listString ?? "?")"
        case .persist: "write \(action.subject) (the sysctls survive a reboot)"
        case .restart: "restart \(action.subject)"
        case .manual: action.subject
        }
    }

    /// " (device md-nic, IRQ 31 virtio1-input.0)": the handler's name is a driver's text, escaped.
    static func irqLabel(_ target: IRQTarget) -> String {
        " (" + (target.device.map { "device \(Step.escaped($0)), " } ?? "") + "IRQ \(target.irq)"
            + (target.actions.map { " \(Step.escaped($0))" } ?? "") + ")"
    }

    static func item(_ action: Action) -> [String] {
        var lines = ["  - \(action.subject)" + (action.process?.workload.map { " [workload \($0)\(action.process?.protected == true ? ", protected" : "")]" } ?? "")
                     + (action.checks.isEmpty ? "" : ": \(action.checks.joined(separator: ", "))")]
        lines += beforeAfter(action, indent: "    ")
        if let reason = action.reason { lines.append("    \(reason)") }
        return lines
    }

    /// What the audit saw and what the policy wants, for what apply does not change itself.
    static func beforeAfter(_ action: Action, indent: String) -> [String] {
        (action.before.isEmpty ? [] : ["\(indent)before: \(action.before)"]) + (action.after.isEmpty ? [] : ["\(indent)after:  \(action.after)"])
    }

    public static func render(_ report: ApplyReport) -> String {
        var lines: [String] = []
        if report.results.isEmpty { lines.append("Nothing to do.") }
        for result in report.results {
            let subject = result.action.kind == .manual ? result.action.subject : headline(result.action)
            lines.append("\(result.outcome.rawValue): \(subject)")
            if [.refused, .manual].contains(result.outcome) {
                if !result.action.checks.isEmpty { lines.append("    checks: \(result.action.checks.joined(separator: ", "))") }
                lines += beforeAfter(result.action, indent: "    ")
            }
            lines.append("    \(result.detail)")
        }
        var counts: [String] = []
        for outcome in [ActionResult.Outcome.done, .unchanged, .refused, .manual, .blocked, .skipped, .failed, .partial] {
            let count = report.results.filter { $0.outcome == outcome }.count
            if count > 0 { counts.append("\(count) \(outcome.rawValue)") }
        }
        if !counts.isEmpty { lines.append("\(report.command) \(report.run): " + counts.joined(separator: ", ")) }
        if let failure = report.journalFailure { lines.append("journal: \(failure); nothing was changed after that") }
        return lines.joined(separator: "\n") + "\n"
    }
}
