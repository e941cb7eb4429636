import NumaguardCore

/// Where one interrupt may go and where it is handled: `smp_affinity_list` is what was asked,
/// `effective_affinity_list` what the interrupt chip uses (on x86 usually one CPU). A check
/// judges the effective list; a fix writes the requested one and reads the effective back.
public struct IRQAffinity: Equatable, Sendable {
    public var irq: Int
    /// nil when the file could not be read.
    public var requested: IDSet?
    /// nil when the kernel has no such file (before 4.13) or it could not be read: unknown,
    /// never "empty". An empty set is a real value (an IRQ not started).
    public var effective: IDSet?
    /// `/sys/kernel/irq/N/actions`: the handlers' names (`virtio1-input.0`, `nvme0q1`). Untrusted
    /// text (drivers put interface names in it): escape before printing, never a metric label.
    public var actions: String?

    public init(irq: Int, requested: IDSet?, effective: IDSet?, actions: String?) {
        self.irq = irq
        self.requested = requested
        self.effective = effective
        self.actions = actions
    }
}

public enum IRQAffinityReader {
    /// The largest IRQ number accepted from a listing or a policy (the kernel's sparse IRQ
    /// space is far below this on real hosts).
    public static let maximumIRQ = 1_048_575

    /// Reads one IRQ's affinity files. A missing `effective_affinity_list` (old kernel) gives
    /// nil; any other failure is thrown so the caller records it.
    public static func read(_ root: HostRoot, irq: Int) throws(HostError) -> IRQAffinity {
        let requested = try root.parse("proc/irq/\(irq)/smp_affinity_list") { (text) throws(ParseError) in
            try IDListParser.parse(Lex.trimmed(text), what: "smp_affinity_list")
        }
        let effective = try root.parseIfPresent("proc/irq/\(irq)/effective_affinity_list") { (text) throws(ParseError) in
            let trimmed = Lex.trimmed(text)
            return trimmed.isEmpty ? IDSet() : try IDListParser.parse(trimmed, what: "effective_affinity_list")
        }
        let actions = try root.readTextIfPresent("sys/kernel/irq/\(irq)/actions").map { String(Lex.trimmed($0).prefix(256)) }
        return IRQAffinity(irq: irq, requested: requested, effective: effective, actions: actions)
    }
}
