import NumaguardCore

/// The policy's device parts: the `devices:` section, and device references (`netdev:ens1f0`)
/// in workloads' node lists. Kept apart from `PolicySections` so the locality chain's grammar
/// reads in one place. Names from here become check IDs, metric labels and (after a reader
/// validates them again) sysfs path components, so each is checked to its exact shape.
extension PolicyLoader {
    /// Names that would share a `source` label with what is not a device in watch's
    /// `numaguard_watch_reserved_interrupts_total`: its own `undeclared` and `other`, and the
    /// kernel's named /proc/interrupts rows, which are all capital letters (LOC, RES, NMI, ...).
    public static func isReservedDeviceName(_ name: String) -> Bool {
        name == "undeclared" || name == "other" || (!name.isEmpty && name.utf8.allSatisfy { (0x41...0x5A).contains($0) })
    }

    static let deviceKeys = ["name", "match", "numa_node", "irqs", "count"]
    static let deviceMatchKeys = ["interface", "pci", "driver", "class", "block"]
    static let deviceIRQKeys = ["cpus", "nodes", "allow_managed"]
    /// The device references a policy may hold. `file:` and `ip:` need a stat or a route lookup
    /// on the audited host, which a `--host-root` capture cannot answer: run only.
    static let referencePrefixes = ["netdev", "pci", "block"]
    static let runOnlyPrefixes = ["file", "ip"]
}

extension PolicySections {
    /// `devices:`, each rule with the YAML item it came from (for the cross-section checks).
    func devices(_ node: YAMLNode) -> [(rule: DeviceRule, node: YAMLNode)] {
        guard let items = reader.list(node, "devices") else { return [] }
        return items.enumerated().compactMap { index, item in deviceRule(item, "devices[\(index)]").map { ($0, item) } }
    }

    /// A rule whose name or match is wrong is still read to its end, so every mistake in it is
    /// reported; it is returned only when all of it is right.
    func deviceRule(_ node: YAMLNode, _ path: String) -> DeviceRule? {
        guard let fields = reader.fields(node, path, allowed: Keys.deviceKeys, required: ["name", "match"]) else { return nil }
        var name = fields["name"].flatMap { reader.string($0.value, "\(path).name") }
        if let given = name, !Self.isDeviceName(given) {
            reader.error(fields["name"]?.value, "\(path).name \"\(given.prefix(80))\" must be 1 to 64 of A-Z, a-z, 0-9, - and _ "
                         + "(it becomes part of check IDs and a metric label)")
            name = nil
        } else if let given = name, PolicyLoader.isReservedDeviceName(given) {
            reader.error(fields["name"]?.value, "\(path).name \"\(given)\" is reserved: watch labels interrupts of no device "
                         + "\"undeclared\" and \"other\", and the kernel's own /proc/interrupts rows (LOC, RES, ...) by their "
                         + "capital-letter names; give the device a name with a lower-case letter, a digit, - or _")
            name = nil
        }
        let rulePath = name.map { "device \($0)" } ?? path
        let match = fields["match"].flatMap { deviceMatch($0.value, "\(rulePath).match") }
        var valid = name != nil && match != nil
        let numaNode = fields["numa_node"].flatMap { reader.int($0.value, "\(rulePath).numa_node", 0...IDListParser.maximumMember) }
        if fields["numa_node"] != nil && numaNode == nil { valid = false }
        var irqs: IRQPlacement?
        if let value = fields["irqs"] {
            irqs = irqPlacement(value.value, "\(rulePath).irqs")
            if irqs == nil { valid = false }
        }
        var count = RunningCount(minimum: 1)
        if let value = fields["count"] {
            if let given = deviceCount(value.value, "\(rulePath).count") { count = given } else { valid = false }
        }
        guard valid, let name, let match else { return nil }
        return DeviceRule(name: name, match: match, numaNode: numaNode, irqs: irqs, count: count)
    }

    /// `[A-Za-z0-9_-]{1,64}`, ASCII only: a check ID part and a Prometheus label value.
    static func isDeviceName(_ name: String) -> Bool {
        let bytes = name.utf8
        return (1...64).contains(bytes.count) && bytes.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
        }
    }

    func deviceMatch(_ node: YAMLNode, _ path: String) -> DeviceMatch? {
        guard let fields = reader.fields(node, path, allowed: Keys.deviceMatchKeys) else { return nil }
        if fields.isEmpty {
            // Only a bare {} is "empty"; an unknown key was reported already.
            if node.mapping?.isEmpty ?? true { reader.error(node, "\(path) is empty: it would match every device") }
            return nil
        }
        var valid = true
        func text(_ key: String, _ check: (String) -> String?) -> String? {
            guard let value = fields[key], let given = reader.string(value.value, "\(path).\(key)") else {
                if fields[key] != nil { valid = false }
                return nil
            }
            if let problem = check(given) {
                reader.error(value.value, "\(path).\(key) \"\(given.prefix(80))\" \(problem)")
                valid = false
                return nil
            }
            return given
        }
        var match = DeviceMatch()
        match.interface = text("interface", Self.interfaceProblem)
        match.driver = text("driver", Self.driverProblem)
        match.block = text("block") { Self.blockProblem(Self.blockName($0)) }.map(Self.blockName)
        if let value = fields["pci"], let given = reader.string(value.value, "\(path).pci") {
            match.pci = PCIAddress(sysfsName: given)
            if match.pci == nil {
                reader.error(value.value, "\(path).pci \"\(given.prefix(80))\" is not a PCI address as sysfs spells it (0000:21:00.0: "
                             + "segment, bus, device and function in lower-case hex)")
                valid = false
            }
        } else if fields["pci"] != nil {
            valid = false
        }
        if let value = fields["class"], let word = reader.choice(value.value, "\(path).class", DeviceKind.allCases.map(\.rawValue)) {
            match.kind = DeviceKind(rawValue: word)
        } else if fields["class"] != nil {
            valid = false
        }
        return valid ? match : nil
    }

    /// A network interface name as the kernel allows it: the one rule run, the policy and the
    /// reader share (`DeviceNames`). nil when valid.
    static func interfaceProblem(_ name: String) -> String? {
        DeviceNames.interfaceProblem(name).map { "is not an interface name: \($0)" }
    }

    /// A driver name: 1 to 64 of A-Z, a-z, 0-9, - and _. nil when valid.
    static func driverProblem(_ name: String) -> String? {
        isDeviceName(name) ? nil : "must be 1 to 64 of A-Z, a-z, 0-9, - and _ (a driver's name, e.g. mlx5_core)"
    }

    /// `/dev/nvme0n1` names the kernel's `nvme0n1` (the basename; nothing is stat'ed).
    static func blockName(_ text: String) -> String {
        text.hasPrefix("/dev/") ? String(text.dropFirst(5)) : text
    }

    /// A block device's kernel name, by `DeviceNames`' rule. nil when valid.
    static func blockProblem(_ name: String) -> String? {
        DeviceNames.blockProblem(name).map { "is not a block device's kernel name: \($0)" }
    }

    func irqPlacement(_ node: YAMLNode, _ path: String) -> IRQPlacement? {
        guard let fields = reader.fields(node, path, allowed: Keys.deviceIRQKeys) else { return nil }
        let allowManaged = fields["allow_managed"].flatMap { reader.bool($0.value, "\(path).allow_managed") }
        if fields["allow_managed"] != nil && allowManaged == nil { return nil }
        let target: IRQPlacement.Target?
        switch (fields["cpus"], fields["nodes"]) {
        case let (cpus?, nil): target = reader.idSet(cpus.value, "\(path).cpus", what: "cpulist").map { .cpus($0) }
        case let (nil, nodes?): target = reader.idSet(nodes.value, "\(path).nodes", what: "node list").map { .nodes($0) }
        case (.some, .some):
            reader.error(node, "\(path) takes cpus or nodes, not both")
            return nil
        case (nil, nil):
            // A misspelt key (reported already, with its suggestion) is the likelier mistake.
            if node.mapping?.count == fields.count { reader.error(node, "\(path) needs cpus or nodes") }
            return nil
        }
        return target.map { IRQPlacement(target: $0, allowManaged: allowManaged ?? false) }
    }

    /// `count: {min, max}`; min defaults to 1 (a rule is about a device that must be there).
    func deviceCount(_ node: YAMLNode, _ path: String) -> RunningCount? {
        guard let counts = reader.fields(node, path, allowed: ["min", "max"]) else { return nil }
        if counts.isEmpty {
            reader.error(node, "\(path) needs min or max")
            return nil
        }
        let low = counts["min"].map { reader.int($0.value, "\(path).min", 0...PolicyLimits.maximumListItems) }
        let high = counts["max"].map { reader.int($0.value, "\(path).max", 0...PolicyLimits.maximumListItems) }
        if low == .some(nil) || high == .some(nil) { return nil }
        let minimum = low.flatMap { $0 } ?? 1
        let maximum = high.flatMap { $0 }
        if let maximum, minimum > maximum {
            reader.error(node, "\(path).min (\(minimum)\(low == nil ? ", the default" : "")) is above max (\(maximum))")
            return nil
        }
        return RunningCount(minimum: minimum, maximum: maximum)
    }

    // MARK: node lists with device references

    /// A workload's `nodes`: `0`, `"0-1,3"`, `[0, 1]`, or a list mixing numbers and device
    /// references (`[0, "netdev:ens1f0"]`); a lone reference may stand without the list.
    /// Every item is checked (and each bad one reported) before the list is given up.
    func nodeList(_ node: YAMLNode, _ path: String) -> (nodes: IDSet, devices: [DeviceSpecifier])? {
        if let text = node.text, Self.startsWithLetter(text) {
            guard let text = reader.string(node, path) else { return nil }
            return deviceReference(node, text, path).map { (IDSet(), [$0]) }
        }
        guard node.sequence != nil else { return reader.idSet(node, path, what: "node list").map { ($0, []) } }
        guard let items = reader.list(node, path, emptyMessage: "\(path) is an empty list: it would assert nothing") else { return nil }
        var ids: [Int] = []
        var devices: [DeviceSpecifier] = []
        var valid = true
        for item in items {
            if let text = item.text, Self.startsWithLetter(text) {
                guard let text = reader.string(item, "\(path) item"), let device = deviceReference(item, text, "\(path) item") else {
                    valid = false
                    continue
                }
                if !devices.contains(device) { devices.append(device) }
            } else if let id = reader.int(item, "\(path) item", 0...IDListParser.maximumMember) {
                ids.append(id)
            } else {
                valid = false
            }
        }
        return valid ? (IDSet(ids), devices) : nil
    }

    static func startsWithLetter(_ text: String) -> Bool {
        text.utf8.first.map { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) } ?? false
    }

    /// One reference, reported at its item when it is not one.
    func deviceReference(_ node: YAMLNode, _ text: String, _ path: String) -> DeviceSpecifier? {
        switch Self.deviceReference(text) {
        case let .success(device): return device
        case let .failure(problem):
            reader.error(node, "\(path): \(problem.message)", suggestion: problem.suggestion)
            return nil
        }
    }

    struct ReferenceProblem: Error, Equatable {
        var message: String
        var suggestion: String?
    }

    /// The policy's grammar of a device reference: `netdev:NAME`, `pci:SSSS:BB:DD.F` (exactly as
    /// sysfs spells it) or `block:NAME` (a kernel name). Pure, so the fuzzer and tests call it.
    static func deviceReference(_ text: String) -> Result<DeviceSpecifier, ReferenceProblem> {
        let shown = "\"\(text.prefix(80))\""
        let grammar = "netdev:NAME, pci:0000:21:00.0 or block:NAME"
        guard let colon = text.firstIndex(of: ":") else {
            return .failure(ReferenceProblem(message: "\(shown) is neither a node number nor a device reference (\(grammar))"))
        }
        let prefix = String(text[..<colon])
        let name = String(text[text.index(after: colon)...])
        switch prefix {
        case _ where PolicyLoader.referencePrefixes.contains(prefix) || PolicyLoader.runOnlyPrefixes.contains(prefix):
            // One grammar, shared with the fuzzer and run's messages: NumaguardCore's.
            switch DeviceSpecifier.parse(policy: text) {
            case let .success(device): return .success(device)
            case let .failure(error): return .failure(ReferenceProblem(message: "\(shown): \(error.reason)"))
            }
        default:
            return .failure(ReferenceProblem(message: "\(shown) is not a device reference: \"\(prefix.prefix(32))\" is none of netdev, pci, block",
                                             suggestion: Suggestion.nearest(to: prefix, in: PolicyLoader.referencePrefixes).map { "\($0):\(name.prefix(80))" }))
        }
    }

    // MARK: checks across sections

    /// Device names are unique, and a device's nodes exist when the topology declares them.
    func deviceCrossChecks(_ rules: [(rule: DeviceRule, node: YAMLNode)], topology: TopologyPolicy?) {
        var seen: Set<String> = []
        for (rule, node) in rules {
            if !seen.insert(rule.name).inserted {
                reader.error(node["name"] ?? node, "device name \"\(rule.name)\" is used twice")
            }
            guard let declared = topology?.nodes else { continue }
            func check(_ highest: Int?, _ what: String, _ at: YAMLNode?) {
                guard let highest, highest >= declared else { return }
                reader.error(at, "device \(rule.name).\(what) uses node \(highest), but host.topology.nodes declares \(declared) node\(declared == 1 ? "" : "s")")
            }
            check(rule.numaNode, "numa_node", node["numa_node"])
            if case let .nodes(nodes)? = rule.irqs?.target { check(nodes.members.max(), "irqs.nodes", node["irqs"]?["nodes"]) }
        }
    }
}
