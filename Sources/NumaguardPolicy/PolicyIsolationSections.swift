import NumaguardCore

/// The CPU-isolation part of the policy walk: `host.isolation`, `host.irqbalance`, `reserve:`
/// items with `cpus`, and the checks that span them (reservations naming workloads, CPU
/// reservations that overlap, isolated CPUs the declared topology does not have). Each mistake
/// is recorded where it is, as in `PolicySections`. Device names in `irqs:` follow the
/// `devices:` rule (`isDeviceName`, PolicyDeviceSections.swift).
extension PolicySections {
    static let isolationKeys = ["isolated", "nohz_full", "managed_irq", "workqueue"]
    static let cpuReservationKeys = ["cpus", "for", "irqs"]

    func isolationPolicy(_ node: YAMLNode) -> IsolationPolicy? {
        guard let fields = reader.fields(node, "host.isolation", allowed: Self.isolationKeys) else { return nil }
        if node.mapping?.isEmpty == true {
            reader.error(node, "host.isolation is empty: it would assert nothing (remove the key instead)")
            return nil
        }
        var isolation = IsolationPolicy()
        // An empty list is refused by idSet ("would assert nothing"): "no CPU isolated" is
        // said by leaving the key out, never by an empty set.
        isolation.isolated = fields["isolated"].flatMap { reader.idSet($0.value, "host.isolation.isolated", what: "cpulist") }
        isolation.nohzFull = fields["nohz_full"].flatMap { reader.idSet($0.value, "host.isolation.nohz_full", what: "cpulist") }
        isolation.managedIRQ = fields["managed_irq"].flatMap { reader.bool($0.value, "host.isolation.managed_irq") }
        if let workqueue = fields["workqueue"] {
            if workqueue.value.text == "housekeeping" {
                isolation.workqueue = .housekeeping
            } else if let first = workqueue.value.text?.unicodeScalars.first, first.properties.isAlphabetic {
                reader.error(workqueue.value, "host.isolation.workqueue must be housekeeping or a CPU list, not \"\(workqueue.value.text?.prefix(64) ?? "")\"",
                             suggestion: "housekeeping")
            } else {
                isolation.workqueue = reader.idSet(workqueue.value, "host.isolation.workqueue", what: "cpulist").map { .within($0) }
            }
        }
        let given = fields.keys.count
        let read = [isolation.isolated != nil, isolation.nohzFull != nil, isolation.managedIRQ != nil, isolation.workqueue != nil].filter { $0 }.count
        return read == given ? isolation : nil
    }

    func irqBalancePolicy(_ node: YAMLNode) -> IRQBalancePolicy? {
        guard let fields = reader.fields(node, "host.irqbalance", allowed: ["running"], required: ["running"]),
              let running = fields["running"].flatMap({ reader.bool($0.value, "host.irqbalance.running") }) else { return nil }
        return IRQBalancePolicy(running: running)
    }

    /// Whether a `reserve:` item is a CPU reservation (it has `cpus`). An item with both `node`
    /// and `cpus` is refused here, at the item, and yields nil (nothing else is read from it).
    func isCPUReservation(_ node: YAMLNode, _ path: String) -> Bool? {
        guard let mapping = node.mapping else { return false }
        let keys = Set(mapping.compactMap { $0.key.text })
        guard keys.contains("cpus") else { return false }
        if keys.contains("node") {
            reader.error(node, "\(path) takes node or cpus, not both")
            return nil
        }
        return true
    }

    func cpuReservation(_ node: YAMLNode, _ path: String) -> CPUReservation? {
        guard let fields = reader.fields(node, path, allowed: Self.cpuReservationKeys, required: ["cpus", "for"]) else { return nil }
        let cpus = fields["cpus"].flatMap { reader.idSet($0.value, "\(path).cpus", what: "cpulist") }
        let names = fields["for"].flatMap { reader.strings($0.value, "\(path).for") }
        var devices: [String]? = []
        if let irqs = fields["irqs"] {
            devices = reader.strings(irqs.value, "\(path).irqs")
            let items = irqs.value.sequence ?? []
            for (index, name) in (devices ?? []).enumerated() where !Self.isDeviceName(name) {
                reader.error(index < items.count ? items[index] : irqs.value,
                             "\(path).irqs item \"\(name.prefix(64))\" is not a device name (1 to 64 letters, digits, - and _)")
                devices = nil
            }
        }
        guard let cpus, let names, let devices else { return nil }
        return CPUReservation(cpus: cpus, workloads: names, irqDevices: devices)
    }

    private func path(_ index: Int, _ items: [(index: Int, node: YAMLNode)]) -> String {
        index < items.count ? "reserve[\(items[index].index)]" : "reserve"
    }

    /// CPU reservations name declared workloads and do not overlap; isolated, nohz_full and
    /// reserved CPUs exist in the declared topology. The overlap check keeps one running union,
    /// so it costs one set operation per reservation, not one per pair.
    /// `irqs` names declared `devices:` entries.
    /// `items`: the `reserve:` index and YAML item of each accepted CPU reservation, in order.
    func isolationCrossChecks(_ policy: Policy, _ top: [String: (key: YAMLNode, value: YAMLNode)], cpuReserveItems items: [(index: Int, node: YAMLNode)]) {
        let sink = reader.sink
        let workloads = Set(policy.workloads.map(\.name))
        let devices = Set(policy.devices.map(\.name))
        func item(_ index: Int) -> YAMLNode? { index < items.count ? items[index].node : nil }
        func path(_ index: Int) -> String { index < items.count ? "reserve[\(items[index].index)]" : "reserve" }
        var union = IDSet()
        for (index, reservation) in policy.cpuReservations.enumerated() {
            let path = path(index)
            for name in reservation.workloads {
                sink.work += 1
                guard !workloads.contains(name) else { continue }
                reader.error(item(index)?["for"] ?? item(index), "\(path) names workload \"\(name)\", which the policy does not declare",
                             suggestion: sink.isFull ? nil : Suggestion.nearest(to: name, in: policy.workloads.map(\.name)))
            }
            let irqItems = item(index)?["irqs"]?.sequence ?? []
            for (position, name) in reservation.irqDevices.enumerated() where !devices.contains(name) {
                sink.work += 1
                reader.error(position < irqItems.count ? irqItems[position] : item(index),
                             "\(path).irqs names device \"\(name)\", which the policy's devices: does not declare",
                             suggestion: sink.isFull ? nil : Suggestion.nearest(to: name, in: policy.devices.map(\.name)))
            }
            sink.work += 1
            let shared = union.intersection(reservation.cpus)
            if !shared.isEmpty {
                let earlier = policy.cpuReservations[..<index].firstIndex { !$0.cpus.intersection(reservation.cpus).isEmpty }
                reader.error(item(index)?["cpus"] ?? item(index),
                             "\(path).cpus overlaps \(earlier.map { self.path($0, items) } ?? "an earlier reservation") on CPUs \(shared.listString): CPU reservations may not overlap")
            }
            union = union.union(reservation.cpus)
        }
        guard let declared = policy.host.topology?.cpus, !declared.isEmpty else { return }
        let known = declared.values.reduce(IDSet()) { $0.union($1) }
        func check(_ cpus: IDSet?, _ what: String, _ at: YAMLNode?) {
            guard let cpus else { return }
            let unknown = cpus.subtracting(known)
            guard !unknown.isEmpty else { return }
            reader.error(at, "\(what) names CPUs \(unknown.listString), which host.topology.cpus does not declare (\(known.listString))")
        }
        let isolation = top["host"]?.value["isolation"]
        check(policy.host.isolation?.isolated, "host.isolation.isolated", isolation?["isolated"])
        check(policy.host.isolation?.nohzFull, "host.isolation.nohz_full", isolation?["nohz_full"])
        for (index, reservation) in policy.cpuReservations.enumerated() {
            check(reservation.cpus, "\(path(index)).cpus", item(index)?["cpus"])
        }
    }
}
