import NumaguardCore

/// A device's interrupt vectors: the MSI/MSI-X entries of its `msi_irqs/` directory (one per
/// queue, each file saying `msi` or `msix`) when there are any, else its INTx line (`irq`
/// above 0). virtio devices have none of their own: their PCI function holds them.
enum DeviceVectors {
    /// The MSI-X table's maximum size.
    static let maximumVectors = 2048

    /// The drivers known to ask for kernel-managed affinity (PCI_IRQ_AFFINITY), each with its
    /// vectors that are not managed (`pre_vectors`): nvme's admin queue (`nvme0q0`),
    /// virtio's config vector, virtio-scsi's control and event queues too. No file says
    /// which IRQ is managed on Debian's kernels (no IRQ debugfs), so this is an expectation.
    struct ManagedRule {
        /// How many of the lowest vectors are not managed when the handler names are unknown.
        var preVectors: Int
        /// True when an `actions` name belongs to an unmanaged vector.
        var unmanagedAction: (Substring) -> Bool

        static func forDrivers(_ drivers: [String]) -> ManagedRule? {
            if drivers.contains("nvme") {
                // nvme0q0: "nvme", digits, "q0".
                return ManagedRule(preVectors: 1) { name in
                    name.utf8.count > 6 && name.hasPrefix("nvme") && name.hasSuffix("q0")
                        && name.dropFirst(4).dropLast(2).utf8.allSatisfy(Lex.isDigit)
                }
            }
            if drivers.contains("virtio_scsi") {
                return ManagedRule(preVectors: 3) { name in
                    name.hasSuffix("-config") || name.hasSuffix("-control") || name.hasSuffix("-event")
                }
            }
            if drivers.contains("virtio_blk") {
                return ManagedRule(preVectors: 1) { name in name.hasSuffix("-config") }
            }
            return nil
        }
    }

    /// The vectors of the device at `directory`, each with its affinity. A vector whose
    /// affinity cannot be read is kept with unknown sets and the failure recorded.
    static func read(_ directory: String, in root: HostRoot, managed rule: ManagedRule?, subject: String,
                     problems: inout [DeviceLocality.Problem]) -> [DeviceIRQ] {
        var lines: [(irq: Int, mode: DeviceIRQ.Mode)] = []
        // INTx stands in only where there is no msi_irqs/ at all: a listing refused (too many
        // entries) or unreadable is a problem, not a device without MSI.
        var msiReadable = true
        do {
            let names = try root.list("\(directory)/msi_irqs", limit: maximumVectors)
            for name in names {
                guard let irq = Lex.decimal(name), irq <= IRQAffinityReader.maximumIRQ else {
                    problems.append(.init(subject: subject, error: .refused(
                        path: root.absolute("\(directory)/msi_irqs"), reason: "it holds an entry that is no IRQ number")))
                    continue
                }
                let mode = try root.parse("\(directory)/msi_irqs/\(irq)") { (text) throws(ParseError) -> DeviceIRQ.Mode in
                    switch Lex.trimmed(text) {
                    case "msi": .msi
                    case "msix": .msix
                    default: throw ParseError(what: "msi_irqs entry", input: Lex.trimmed(text), reason: "expected msi or msix")
                    }
                }
                lines.append((irq, mode))
            }
        } catch {
            if !error.isMissing {
                msiReadable = false
                problems.append(.init(subject: subject, error: error))
            }
        }
        if lines.isEmpty, msiReadable {
            do {
                let line = try root.parseIfPresent("\(directory)/irq") { (text) throws(ParseError) -> Int in
                    let line = try Lex.number(text, what: "irq")
                    guard line <= IRQAffinityReader.maximumIRQ else {
                        throw ParseError(what: "irq", input: Lex.trimmed(text), reason: "above the largest IRQ number \(IRQAffinityReader.maximumIRQ)")
                    }
                    return line
                }
                if let line, line > 0 { lines.append((line, .intx)) }
            } catch {
                problems.append(.init(subject: subject, error: error))
            }
        }
        lines.sort { $0.irq < $1.irq }
        var affinities: [IRQAffinity] = []
        for line in lines {
            do {
                affinities.append(try IRQAffinityReader.read(root, irq: line.irq))
            } catch {
                problems.append(.init(subject: "\(subject) IRQ \(line.irq)", error: error))
                affinities.append(IRQAffinity(irq: line.irq, requested: nil, effective: nil, actions: nil))
            }
        }
        let managed = managedFlags(affinities, modes: lines.map(\.mode), rule: rule)
        return lines.indices.map { DeviceIRQ(mode: lines[$0].mode, affinity: affinities[$0], managedExpected: managed[$0]) }
    }

    /// Which vectors are expected to be managed: none under INTx or for other drivers; else
    /// all but the unmanaged ones, named by their handlers when every handler name is known
    /// (`nvme0q0`, `virtio2-config`), else the lowest `preVectors` IRQs (vectors are
    /// allocated in order, so the lowest numbers are the first vectors).
    static func managedFlags(_ affinities: [IRQAffinity], modes: [DeviceIRQ.Mode], rule: ManagedRule?) -> [Bool] {
        guard let rule, !modes.contains(.intx), affinities.count > rule.preVectors else {
            return Array(repeating: false, count: affinities.count)
        }
        if affinities.allSatisfy({ $0.actions != nil }) {
            let unmanaged = affinities.map { affinity in
                (affinity.actions ?? "").split(separator: ",").contains { rule.unmanagedAction(Lex.trimmed($0)) }
            }
            if unmanaged.contains(true) { return unmanaged.map { !$0 } }
        }
        return affinities.indices.map { $0 >= rule.preVectors }
    }
}
