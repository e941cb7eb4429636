import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// `policy init`'s part of the locality chain: a `devices:` section for the host's NICs, NVMe
/// controllers and GPUs, and `host.isolation` / `host.irqbalance` as the host has them.
///
/// Every candidate is judged by the audit's own pure checks (`DeviceChecks`,
/// `IsolationChecks`) before it is written, so the round trip (auditing the same host against
/// the generated policy passes, warnings included) holds by construction rather than by a copy
/// of the checks' rules here; what would not pass is written as a comment saying why.
///
/// Names and drivers come from sysfs, which a hostile capture (or a driver) fills with any
/// byte: a device's policy name is rebuilt from `[A-Za-z0-9_-]` only, and host text appears
/// nowhere but inside comments, escaped so it cannot end the comment line.
extension PolicyInit {
    /// The kinds init declares: the class devices a latency-critical process reads from.
    /// Block devices are their NVMe controller's namespaces (same bus device); other PCI
    /// functions are the fabric.
    static let declaredKinds: [DeviceKind] = [.net, .nvme, .gpu]

    /// The lines init adds: under `host:`, and the `devices:` section.
    struct Locality {
        var host: [String] = []
        var devices: [String] = []
    }

    static func locality(root: HostRoot, facts: HostFacts) throws(Failure) -> Locality {
        let topology = facts.topology
        let devices = deviceLines(DeviceLocality.read(root), topology: topology)
        var isolationState: IsolationState
        do {
            // No process is listed yet: irqbalance is read below only when it is declared.
            isolationState = try IsolationReader.read(root, isolated: topology.isolatedCPUs, nohzFull: topology.nohzFullCPUs,
                                                      commandLine: facts.kernel.commandLine, processes: [])
        } catch {
            throw .host(error)
        }
        var locality = Locality(host: isolationLines(isolationState, online: topology.onlineCPUs), devices: devices.lines)
        // irqbalance decides whether the declared interrupt placement lasts (it rewrites
        // affinities every 10 s) and whether isolated CPUs stay quiet: declared only then.
        guard !isolationState.isolated.union(isolationState.nohzFull).isEmpty || devices.interrupts else { return locality }
        do {
            isolationState = try IsolationReader.read(root, isolated: topology.isolatedCPUs, nohzFull: topology.nohzFullCPUs,
                                                      commandLine: facts.kernel.commandLine)
        } catch {
            throw .host(error)
        }
        locality.host += irqbalanceLines(isolationState)
        return locality
    }

    // MARK: devices

    /// One entry per bus device of a declared kind, matched by PCI address (stable across
    /// boots; interface names are not). `irqs: {nodes: [n]}` only when every vector already
    /// passes there. Whether any entry declares interrupts is returned too.
    static func deviceLines(_ inventory: DeviceLocality.Inventory, topology: Topology) -> (lines: [String], interrupts: Bool) {
        var seen: Set<PCIAddress> = []
        let candidates = declaredKinds.flatMap { kind in inventory.devices.filter { $0.kind == kind } }.filter { device in
            guard let address = device.address else { return false }
            return seen.insert(address).inserted
        }
        guard !candidates.isEmpty else { return ([], false) }
        if let first = inventory.problems.first {
            // The audit would be incomplete for any devices: rule (a device it could not read
            // may be the one a rule is about), so none is declared.
            let count = inventory.problems.count
            return (["# devices: not declared: \(count) device\(count == 1 ? "" : "s") could not be read (\(commentText(first.subject)): "
                     + "\(commentText(first.error.description, limit: 160))); an audit would be incomplete with any devices: rule. "
                     + "Re-run policy init once it reads (as root, if it is a permission)"], false)
        }
        // Each rule is judged against its own bus device's entries only: linear in the
        // inventory, however many NICs a capture lists.
        var byAddress: [PCIAddress: [HostDevice]] = [:]
        for device in inventory.devices {
            if let address = device.address { byAddress[address, default: []].append(device) }
        }
        var lines = ["devices:", "  # Matched by PCI address, which is stable across boots (interface names are not)."]
        var names: Set<String> = []
        var interrupts = false
        for device in candidates {
            guard let address = device.address else { continue }
            let own = DeviceLocality.Inventory(devices: byAddress[address] ?? [])
            let label = "\(device.kind.rawValue) \(commentText(device.name))" + (device.driver.map { ", driver \(commentText($0))" } ?? "")
            guard let node = device.reportedNode, node >= 0 else {
                let reported = device.reportedNode.map { "numa_node \($0): the firmware gives no locality" } ?? "no numa_node could be read"
                lines.append("  # \(address) (\(label)): not declared, \(reported). Enable NUMA/_PXM reporting in the BIOS, then re-run policy init.")
                continue
            }
            let name = uniqueName(for: device, among: &names)
            let rule = DeviceRule(name: name, match: DeviceMatch(pci: address), numaNode: node)
            guard topology.nodes.contains(where: { $0.id == node }), !topology.numaEnabled || node < topology.nodes.count else {
                lines.append("  # \(address) (\(label)): not declared, numa_node \(node) is not a node of this host's topology.")
                continue
            }
            if let failed = DeviceChecks.check(rule, own, topology: topology).first(where: { $0.outcome != .pass }) {
                lines.append("  # \(address) (\(label)): not declared, \(failed.check) would not pass: \(commentText(failed.actual, limit: 160))")
                continue
            }
            lines += ["  - name: \(name)", "    match: {pci: \"\(address)\"}  # \(label)", "    numa_node: \(node)"]
            var placed = rule
            placed.irqs = IRQPlacement(target: .nodes(IDSet([node])))
            let vectors = DeviceChecks.matched(rule.match, own.devices).first?.irqs ?? []
            if !vectors.isEmpty, allPass(DeviceChecks.check(placed, own, topology: topology)) {
                interrupts = true
                lines.append("    irqs: {nodes: [\(node)]}")
            } else if let reason = interruptsOff(vectors, node: node, topology: topology) {
                lines.append("    # irqs: not declared: \(reason)")
            }
        }
        // Only comments: a `devices:` key with no item would be null, which the loader refuses.
        if !lines.contains(where: { $0.hasPrefix("  - name: ") }) { lines = ["# devices: none declared"] + lines.dropFirst(2) }
        return (lines, interrupts)
    }

    /// Why `irqs: {nodes: [node]}` would not pass today, in the audit's words.
    static func interruptsOff(_ vectors: [DeviceIRQ], node: Int, topology: Topology) -> String? {
        guard !vectors.isEmpty else { return "the device has no interrupt vectors" }
        let cpus = topology.nodes.first { $0.id == node }?.cpus ?? IDSet()
        let unknown = vectors.filter { $0.affinity.effective == nil }
        if !unknown.isEmpty { return "effective affinity unknown for \(DeviceChecks.irqList(unknown))" }
        let nodeText = "node \(node)'s CPUs \(cpus.listString.orNone)"
        let handled = vectors.filter { !($0.affinity.effective ?? IDSet()).isSubset(of: cpus) }
        if !handled.isEmpty {
            let on = handled.reduce(IDSet()) { $0.union($1.affinity.effective ?? IDSet()) }
            let managed = handled.allSatisfy(\.managedExpected) ? " (managed by the kernel, which spreads them over all CPUs)" : ""
            return "\(DeviceChecks.irqList(handled)) handled on \(DeviceChecks.cpuText(on)), outside \(nodeText)\(managed)"
        }
        let asked = vectors.filter { !$0.managedExpected && !($0.affinity.requested ?? IDSet()).isSubset(of: cpus) }
        if !asked.isEmpty {
            let on = asked.reduce(IDSet()) { $0.union($1.affinity.requested ?? IDSet()) }
            return "\(DeviceChecks.irqList(asked)) asked for \(DeviceChecks.cpuText(on)) (smp_affinity_list), outside \(nodeText); "
                + "the kernel may move them there"
        }
        return nil
    }

    /// The device's name rebuilt from `[A-Za-z0-9_-]` (anything else becomes `_`), at most 64
    /// bytes, made unique with `-2`, `-3`...: a check ID part and a metric label, never host text.
    static func uniqueName(for device: HostDevice, among names: inout Set<String>) -> String {
        var base = String(String.UnicodeScalarView(device.name.unicodeScalars.prefix(64).map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_") ? scalar : "_"
        }))
        if base.isEmpty || base.allSatisfy({ $0 == "_" }) { base = device.kind.rawValue }
        if PolicyLoader.isReservedDeviceName(base) { base = String((device.kind.rawValue + "-" + base).prefix(64)) }
        var name = base
        var suffix = 1
        while names.contains(name) {
            suffix += 1
            let tail = "-\(suffix)"
            name = String(base.prefix(64 - tail.count)) + tail
        }
        names.insert(name)
        return name
    }

    // MARK: isolation and irqbalance

    /// `host.isolation` as read: the keys whose check passes on this host. Nothing when the
    /// host isolates nothing. CPU reservations are never generated: they say which workloads
    /// own CPUs, an intent the host does not record.
    static func isolationLines(_ state: IsolationState, online: IDSet) -> [String] {
        var wanted = IsolationPolicy()
        if !state.isolated.isEmpty { wanted.isolated = state.isolated }
        if !state.nohzFull.isEmpty { wanted.nohzFull = state.nohzFull }
        if state.isolcpus?.flags.contains(.managedIRQ) == true { wanted.managedIRQ = true }
        guard wanted != IsolationPolicy() else { return [] }
        if let problem = state.workqueueProblem {
            return ["  # isolation: not declared: the workqueue cpumask could not be read (\(commentText(problem, limit: 160)))"]
        }
        let failed = Set(IsolationChecks.isolation(wanted, state, online: online, reserved: IDSet()).filter { $0.outcome != .pass }.map(\.id))
        var parts: [String] = []
        if let cpus = wanted.isolated, !failed.contains(.isolation(.isolated)) { parts.append("isolated: \"\(cpus.listString)\"") }
        if let cpus = wanted.nohzFull, !failed.contains(.isolation(.nohzFull)) { parts.append("nohz_full: \"\(cpus.listString)\"") }
        if wanted.managedIRQ != nil, !failed.contains(.isolation(.managedIRQ)) { parts.append("managed_irq: true") }
        guard !parts.isEmpty else { return [] }
        return ["  isolation: {\(parts.joined(separator: ", "))}",
                "  # CPU reservations (reserve: [{cpus, for}]) are not generated: which workloads own which CPUs is an intent, not host state."]
    }

    /// `host.irqbalance: {running: ...}` when declaring what runs passes its checks (when it
    /// runs: it bans every isolated CPU); otherwise a comment saying why not.
    static func irqbalanceLines(_ state: IsolationState) -> [String] {
        if let problem = state.irqbalanceProblems.first {
            return ["  # irqbalance: not declared: \(commentText(problem, limit: 160))"]
        }
        let running = !state.irqbalance.isEmpty
        let findings = IsolationChecks.irqbalance(IRQBalancePolicy(running: running), state, required: state.isolated)
        if let failed = findings.first(where: { $0.outcome != .pass }) {
            return ["  # irqbalance: not declared: it runs, and \(failed.check) would fail: \(commentText(failed.actual, limit: 200))"]
        }
        return ["  irqbalance: {running: \(running)}"]
    }

    // MARK: words

    static func allPass(_ findings: [Finding]) -> Bool { findings.allSatisfy { $0.outcome == .pass } }

    /// Host text made safe inside a YAML comment: `DeviceChecks.untrusted` escapes line breaks
    /// (which would end the comment and start a key) and control characters; the three
    /// non-characters YAML refuses anywhere (a byte-order mark, U+FFFE, U+FFFF) are escaped too,
    /// so the policy still loads.
    static func commentText(_ text: String, limit: Int = 64) -> String {
        var out = ""
        for scalar in DeviceChecks.untrusted(text, limit: limit).unicodeScalars {
            if [0xFEFF, 0xFFFE, 0xFFFF].contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
