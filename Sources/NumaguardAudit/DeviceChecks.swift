import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// The `devices:` rules against the devices the host reports: how many match (`present`),
/// the node each is attached to (`numa_node`, `locality` for -1), and where each interrupt
/// vector is handled (`irqs.effective`), asked to go (`irqs.requested`) and whether the kernel
/// manages it (`irqs.managed`). One finding per broken link, the vector in the subject, never
/// an IRQ number in the ID (they change from boot to boot); what holds is one pass per device,
/// so a card with 2048 vectors gives one line, not 2048.
public enum DeviceChecks {
    static func check(_ rules: [DeviceRule], _ inventory: DeviceLocality.Inventory, topology: Topology) -> [Finding] {
        rules.flatMap { check($0, inventory, topology: topology) }
    }

    static func check(_ rule: DeviceRule, _ inventory: DeviceLocality.Inventory, topology: Topology) -> [Finding] {
        let devices = matched(rule.match, inventory.devices)
        var findings = [present(rule, devices, unreadable: inventory.problems.count)]
        for device in devices {
            if let node = rule.numaNode { findings.append(locality(rule.name, device, expected: node)) }
            if let irqs = rule.irqs { findings += interrupts(rule.name, device, irqs, topology: topology) }
        }
        return findings
    }

    /// A device as the checks see it: the bus device's entries merged (an NVMe controller and
    /// its namespaces, a NIC and its PCI function share the address and the vectors).
    struct Matched {
        var device: HostDevice
        var irqs: [DeviceIRQ]
        var subject: String { DeviceChecks.subject(device) }
    }

    /// The devices `match` selects, one per bus device, in the inventory's order.
    static func matched(_ match: DeviceMatch, _ devices: [HostDevice]) -> [Matched] {
        var order: [String] = []
        var groups: [String: Matched] = [:]
        for device in devices where match.holds(for: device) {
            let key = device.address.map { "pci \($0)" } ?? "\(device.kind) \(device.name)"
            guard var group = groups[key] else {
                order.append(key)
                groups[key] = Matched(device: device, irqs: device.irqs)
                continue
            }
            // A class device names it better than the bare PCI function.
            if group.device.kind == .pci && device.kind != .pci { group.device = device }
            let known = Set(group.irqs.map(\.irq))
            group.irqs += device.irqs.filter { !known.contains($0.irq) }
            groups[key] = group
        }
        return order.compactMap { key in
            groups[key].map { group in
                var sorted = group
                sorted.irqs.sort { $0.irq < $1.irq }
                return sorted
            }
        }
    }

    static func present(_ rule: DeviceRule, _ devices: [Matched], unreadable: Int) -> Finding {
        let count = rule.count
        let holds = count.contains(devices.count)
        let listed = devices.prefix(5).map(\.subject).joined(separator: ", ") + (devices.count > 5 ? " and \(devices.count - 5) more" : "")
        let expected = (count.maximum.map { $0 == count.minimum ? "exactly \($0)" : "\(count.minimum) to \($0)" } ?? "at least \(count.minimum)")
            + " device\(count.minimum == 1 && count.maximum != 0 ? "" : "s") matching \(text(rule.match))"
        var finding = Finding.judge(holds, .device(rule.name, .present), .critical, expected: expected,
                                    actual: devices.isEmpty ? "none" : "\(devices.count): \(listed)",
                                    remediation: devices.count < count.minimum
                                        ? "install the device or bind its driver (numaguard snapshot lists the devices it sees), or change the match"
                                        : "narrow the match or raise count.max")
        // A device that could not be read may be the one missing: that is not an absence.
        if !holds, devices.count < count.minimum, unreadable > 0 {
            finding.outcome = .incomplete
            finding.actual += "; \(unreadable) device\(unreadable == 1 ? "" : "s") could not be read (device.\(rule.name).read)"
        }
        return finding
    }

    /// The node the device is attached to, or the firmware's silence about it.
    static func locality(_ name: String, _ matched: Matched, expected node: Int) -> Finding {
        let subject = matched.subject
        guard let reported = matched.device.reportedNode else {
            return Finding(check: .device(name, .numaNode), severity: .critical, outcome: .incomplete, subject: subject,
                           expected: "attached to node \(node)", actual: "no numa_node could be read for \(subject)",
                           remediation: "see the device's numa_node in sysfs; run numaguard as root")
        }
        guard reported >= 0 else {
            let file = matched.device.address.map { "/sys/bus/pci/devices/\($0)/numa_node" } ?? "the device's numa_node"
            return Finding(check: .device(name, .locality), severity: .critical, outcome: .fail, subject: subject,
                           expected: "firmware reports the node of \(subject)",
                           actual: "numa_node \(reported): the firmware gives no locality",
                           remediation: "enable NUMA/SRAT/_PXM reporting in the BIOS (e.g. 'PCIe NUMA locality', 'NPS'/'SNC' settings); "
                               + "as a stopgap root may write the node to \(file) (taints the kernel, lost at reboot)")
        }
        return .judge(reported == node, .device(name, .numaNode), .critical, subject: subject,
                      expected: "attached to node \(node)", actual: "\(subject) on node \(reported)",
                      remediation: "move the card to a slot of node \(node)'s root complex, or change the policy; nothing numaguard can change")
    }

    static let managedRemedy = "managed by the kernel: its affinity cannot be written; boot with isolcpus=managed_irq,CPUS to keep it off "
        + "isolated CPUs (best effort), or set allow_managed: true to report it only"

    /// Each vector's effective and requested CPUs against the rule's.
    static func interrupts(_ name: String, _ matched: Matched, _ placement: IRQPlacement, topology: Topology) -> [Finding] {
        let allowed = allowedCPUs(placement, topology: topology)
        let device = matched.subject
        let cpus = allowed.listString.orNone
        var findings: [Finding] = []
        var effectiveFailed = false
        var unknown: [DeviceIRQ] = []
        var requestedOff: [DeviceIRQ] = []
        var managed: [DeviceIRQ] = []
        var managedOff: [DeviceIRQ] = []
        var asked = 0
        for vector in matched.irqs {
            if vector.managedExpected { managed.append(vector) }
            let affinity = vector.affinity
            let requested = affinity.requested.map { "requested \(cpuText($0))" } ?? "requested unknown"
            guard let effective = affinity.effective else {
                unknown.append(vector)
                continue
            }
            if !effective.isSubset(of: allowed) {
                if vector.managedExpected && placement.allowManaged {
                    managedOff.append(vector)
                    continue
                }
                effectiveFailed = true
                findings.append(Finding(
                    check: .device(name, .irqsEffective), severity: .critical, outcome: .fail, subject: "\(device) \(vectorName(vector))",
                    expected: "\(vectorLabel(vector)) handled on CPUs \(cpus)", actual: "effective \(cpuText(effective)) (\(requested))",
                    remediation: vector.managedExpected ? managedRemedy : "numaguard apply (writes smp_affinity_list \(cpus))"))
            } else if !vector.managedExpected, let requested = affinity.requested {
                asked += 1
                if !requested.isSubset(of: allowed) { requestedOff.append(vector) }
            }
        }
        let judged = matched.irqs.count - unknown.count
        if !effectiveFailed {
            findings.append(.pass(.device(name, .irqsEffective), .critical, subject: device,
                                  expected: "every interrupt of \(device) handled on CPUs \(cpus)",
                                  actual: matched.irqs.isEmpty ? "no interrupt vectors" : "\(judged) vector\(judged == 1 ? "" : "s") handled within \(cpus)"
                                      + (managedOff.isEmpty ? "" : " (\(managedOff.count) managed elsewhere: see irqs.managed)")))
        }
        if !unknown.isEmpty {
            findings.append(Finding(check: .device(name, .irqsEffective), severity: .critical, outcome: .incomplete, subject: device,
                                    expected: "every interrupt of \(device) handled on CPUs \(cpus)",
                                    actual: "effective_affinity_list unknown for \(unknown.count) vector\(unknown.count == 1 ? "" : "s") "
                                        + "(\(irqList(unknown))): a kernel before 4.13, or unreadable",
                                    remediation: "run numaguard as root on a kernel with /proc/irq/N/effective_affinity_list"))
        }
        for vector in requestedOff {
            findings.append(Finding(
                check: .device(name, .irqsRequested), severity: .warning, outcome: .fail, subject: "\(device) \(vectorName(vector))",
                expected: "\(vectorLabel(vector)) asked for CPUs within \(cpus)",
                actual: "requested \(vector.affinity.requested.map(cpuText) ?? "unknown") (effective \(vector.affinity.effective.map(cpuText) ?? "unknown"))",
                remediation: "numaguard apply (writes smp_affinity_list \(cpus)); the kernel may move it there at any time"))
        }
        if requestedOff.isEmpty, asked > 0 {
            findings.append(.pass(.device(name, .irqsRequested), .warning, subject: device,
                                  expected: "every interrupt of \(device) asked for CPUs within \(cpus)",
                                  actual: "\(asked) vector\(asked == 1 ? "" : "s") requested within \(cpus)"
                                      + (managed.isEmpty ? "" : "; managed ones not judged")))
        }
        if !managed.isEmpty {
            let driver = matched.device.driver.map { "driver \(untrusted($0))" } ?? "its driver"
            let off = managedOff.prefix(5).map { "\(vectorLabel($0)) effective \($0.affinity.effective.map(cpuText) ?? "unknown")" }
            findings.append(Finding(
                check: .device(name, .irqsManaged), severity: .info, outcome: managedOff.isEmpty ? .pass : .fail, subject: device,
                expected: placement.allowManaged ? "managed vectors reported, not failed (allow_managed)" : "managed vectors judged as the others",
                actual: "\(managed.count) of \(matched.irqs.count) vectors expected to be managed by the kernel (\(driver)): \(irqList(managed))"
                    + (off.isEmpty ? "" : "; off CPUs \(cpus): " + off.joined(separator: ", ") + (managedOff.count > 5 ? " and \(managedOff.count - 5) more" : "")),
                remediation: managedOff.isEmpty ? "" : managedRemedy))
        }
        return findings
    }

    // MARK: words

    /// "eth0 (0000:21:00.0)"; the name is read from the host, so escaped.
    static func subject(_ device: HostDevice) -> String {
        let name = untrusted(device.name)
        guard let address = device.address, name != address.description else { return name }
        return "\(name) (\(address))"
    }

    /// "IRQ 45 virtio1-input.0" (the subject's part).
    static func vectorName(_ vector: DeviceIRQ) -> String {
        "IRQ \(vector.irq)" + (vector.affinity.actions.map { " \(untrusted($0))" } ?? "")
    }

    /// "IRQ 45 (virtio1-input.0)".
    static func vectorLabel(_ vector: DeviceIRQ) -> String {
        "IRQ \(vector.irq)" + (vector.affinity.actions.map { " (\(untrusted($0)))" } ?? "")
    }

    /// "IRQ 51-57, 60": numbers ranged as CPU lists are, so 2048 vectors stay one short text.
    static func irqList(_ vectors: [DeviceIRQ]) -> String {
        "IRQ " + IDSet(vectors.map(\.irq)).listString
    }

    /// "CPU 3", "CPUs 0-1", "no CPU" (an IRQ not started).
    static func cpuText(_ cpus: IDSet) -> String {
        cpus.isEmpty ? "no CPU" : cpus.count == 1 ? "CPU \(cpus.listString)" : "CPUs \(cpus.listString)"
    }

    static func text(_ match: DeviceMatch) -> String {
        var parts: [String] = []
        if let interface = match.interface { parts.append("interface \(interface)") }
        if let pci = match.pci { parts.append("pci \(pci)") }
        if let driver = match.driver { parts.append("driver \(driver)") }
        if let kind = match.kind { parts.append("class \(kind.rawValue)") }
        if let block = match.block { parts.append("block \(block)") }
        return parts.joined(separator: ", ")
    }

    /// Text a device or driver put in sysfs (an interface name, an IRQ action): any byte is
    /// legal there, an escape sequence included. Control characters and backslashes become
    /// `\xHH`, and more than `limit` bytes is cut (with `...`), so no output is steered by it.
    public static func untrusted(_ text: String, limit: Int = 64) -> String {
        var out = ""
        var bytes = 0
        for scalar in text.unicodeScalars {
            let width = String(scalar).utf8.count
            guard bytes + width <= limit else { return out + "..." }
            bytes += width
            let value = scalar.value
            // Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) too: they
            // reorder what follows on a terminal, so a value could show as something it is not.
            if value < 0x20 || value == 0x5C || (0x7F...0x9F).contains(value) || (0x2028...0x202E).contains(value)
                || (0x2066...0x2069).contains(value) {
                let hex = String(value, radix: 16)
                out += value > 0xFF ? "\\u{\(hex)}" : "\\x" + (hex.count == 1 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension DeviceMatch {
    /// Every given key holds for the device.
    public func holds(for device: HostDevice) -> Bool {
        if let interface, !(device.kind == .net && device.name == interface) { return false }
        if let pci, device.address != pci { return false }
        if let driver, device.driver != driver { return false }
        if let kind, device.kind != kind { return false }
        if let block, !(device.kind == .block && device.name == block) { return false }
        return true
    }
}
