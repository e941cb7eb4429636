import NumaguardCore

/// Every interrupt the host has (`proc/irq/N/`), with where each was asked to go and where it
/// is handled: what a CPU reservation is checked against. IRQs are read one by one through
/// `IRQAffinityReader`; one that cannot be read is recorded and the rest still read.
public struct IRQScan: Equatable, Sendable {
    public var irqs: [IRQAffinity] = []
    /// IRQ number and why it could not be read.
    public var failures: [Failure] = []
    /// How many numeric entries proc/irq listed beyond `IRQScanReader.maximumIRQs` (not read).
    public var beyondLimit = 0

    public struct Failure: Equatable, Sendable {
        public var irq: Int
        public var reason: String

        public init(irq: Int, reason: String) {
            self.irq = irq
            self.reason = reason
        }
    }

    public init(irqs: [IRQAffinity] = [], failures: [Failure] = [], beyondLimit: Int = 0) {
        self.irqs = irqs
        self.failures = failures
        self.beyondLimit = beyondLimit
    }
}

public enum IRQScanReader {
    /// The kernel's sparse IRQ space is far below this on real hosts; beyond it a capture is
    /// not believed whole (an incomplete finding, never a silent truncation).
    public static let maximumIRQs = 100_000

    /// The numeric entries of proc/irq in ascending order (`default_smp_affinity` and other
    /// names are skipped), each read; an IRQ freed between the listing and its read is left out.
    public static func read(_ root: HostRoot) throws(HostError) -> IRQScan {
        let numbers = try root.list("proc/irq").compactMap { name -> Int? in
            // Decimal, no leading zero: the kernel's own spelling, nothing else.
            guard let number = Lex.decimal(name), number <= IRQAffinityReader.maximumIRQ, "\(number)" == name else { return nil }
            return number
        }.sorted()
        var scan = IRQScan(beyondLimit: max(0, numbers.count - maximumIRQs))
        for irq in numbers.prefix(maximumIRQs) {
            do {
                scan.irqs.append(try IRQAffinityReader.read(root, irq: irq))
            } catch {
                if error.isMissing { continue }
                scan.failures.append(.init(irq: irq, reason: error.description))
            }
        }
        return scan
    }
}
