import NumaguardCore

/// The walk from a YAML tree to a `Policy`, one function per section, then the checks that
/// span sections (names referenced by reservations, workloads that would claim the same
/// processes). Each mistake is recorded where it is; nil means "already reported".
struct PolicySections {
    let reader: YAMLReader
    typealias Keys = PolicyLoader

    func policy(_ root: YAMLNode) -> Policy? {
        guard let top = reader.fields(root, "the policy", allowed: Keys.topKeys, required: ["version"]) else { return nil }
        var policy = Policy()
        if let version = top["version"] {
            guard reader.int(version.value, "version", 1...1) != nil else { return nil }
        }
        if let host = top["host"] { policy.host = hostPolicy(host.value) }
        // The YAML item each accepted workload and reservation came from, for locating the
        // cross-section checks (a rejected item leaves no entry, so indices stay aligned).
        var workloadNodes: [YAMLNode] = []
        var reserveNodes: [YAMLNode] = []
        if let workloads = top["workloads"], let items = reader.list(workloads.value, "workloads") {
            for (index, item) in items.enumerated() {
                guard let workload = workload(item, "workloads[\(index)]") else { continue }
                policy.workloads.append(workload)
                workloadNodes.append(item)
            }
        }
        var cpuReserveItems: [(index: Int, node: YAMLNode)] = []
        if let reserve = top["reserve"], let items = reader.list(reserve.value, "reserve") {
            for (index, item) in items.enumerated() {
                // A CPU reservation (PolicyIsolationSections.swift), else a node reservation.
                guard let isCPUs = isCPUReservation(item, "reserve[\(index)]") else { continue }
                if isCPUs {
                    if let reservation = cpuReservation(item, "reserve[\(index)]") {
                        policy.cpuReservations.append(reservation)
                        cpuReserveItems.append((index, item))
                    }
                    continue
                }
                guard let reservation = reservation(item, "reserve[\(index)]") else { continue }
                policy.reservations.append(reservation)
                reserveNodes.append(item)
            }
        }
        if let waivers = top["waivers"], let items = reader.list(waivers.value, "waivers") {
            policy.waivers = items.enumerated().compactMap { waiver($1, "waivers[\($0)]") }
        }
        if let watch = top["watch"] { policy.watch = watchSettings(watch.value) }
        let deviceRules = top["devices"].map { devices($0.value) } ?? []
        policy.devices = deviceRules.map(\.rule)
        crossChecks(policy, top, workloadNodes: workloadNodes, reserveNodes: reserveNodes)
        deviceCrossChecks(deviceRules, topology: policy.host.topology)
        isolationCrossChecks(policy, top, cpuReserveItems: cpuReserveItems)
        return policy
    }

    func hostPolicy(_ node: YAMLNode) -> HostPolicy {
        var host = HostPolicy()
        guard let fields = reader.fields(node, "host", allowed: Keys.hostKeys) else { return host }
        if let kernel = fields["kernel"] { host.kernel = kernelPolicy(kernel.value) }
        if let topology = fields["topology"] { host.topology = topologyPolicy(topology.value) }
        if let pages = fields["hugepages"], let items = reader.list(pages.value, "host.hugepages") {
            host.hugePages = items.enumerated().compactMap { index, item in
                let path = "host.hugepages[\(index)]"
                guard let entry = reader.fields(item, path, allowed: ["node", "size", "count"], required: ["node", "size", "count"]) else { return nil }
                // Each field is read (and reported) before any is required.
                let node = entry["node"].flatMap { reader.int($0.value, "\(path).node", 0...IDListParser.maximumMember) }
                let size = entry["size"].flatMap { reader.quantity($0.value, "\(path).size", Quantity.size) }
                let count = entry["count"].flatMap { reader.int($0.value, "\(path).count", 0...Int(Int32.max)) }
                guard let node, let size, let count else { return nil }
                guard size >= 1024, size % 1024 == 0 else {
                    reader.error(entry["size"]?.value, "\(path).size must be a whole number of KiB (e.g. 2MiB or 1GiB)")
                    return nil
                }
                return HugePageRequirement(node: node, sizeKiB: size / 1024, count: count)
            }
        }
        if let headroom = fields["headroom"], let items = reader.list(headroom.value, "host.headroom") {
            host.headroom = items.enumerated().compactMap { index, item in
                let path = "host.headroom[\(index)]"
                guard let entry = reader.fields(item, path, allowed: ["node", "min_free"], required: ["node", "min_free"]) else { return nil }
                let node = entry["node"].flatMap { reader.int($0.value, "\(path).node", 0...IDListParser.maximumMember) }
                let rule = entry["min_free"].flatMap { reader.quantity($0.value, "\(path).min_free", Self.freeMemoryRule) }
                guard let node, let rule else { return nil }
                return Headroom(node: node, minFree: rule)
            }
        }
        if let forbidden = fields["forbid_processes"] {
            host.forbidProcesses = reader.strings(forbidden.value, "host.forbid_processes") ?? []
        }
        if let isolation = fields["isolation"] { host.isolation = isolationPolicy(isolation.value) }
        if let irqbalance = fields["irqbalance"] { host.irqbalance = irqBalancePolicy(irqbalance.value) }
        return host
    }

    /// `50%`, a size, or `2x protected`.
    static func freeMemoryRule(_ text: String) -> Result<FreeMemoryRule, Invalid> {
        let words = text.split(separator: " ")
        if words.count == 2, words[1] == "protected", words[0].hasSuffix("x"), let factor = Quantity.decimal(words[0].dropLast()), factor > 0 {
            return .success(.protectedMultiple(factor))
        }
        if Quantity.spacesTrimmed(text).hasSuffix("%") { return Quantity.percent(text).map { .percent($0) } }
        return Quantity.size(text)
            .map { FreeMemoryRule.bytes($0) }
            .mapError { _ in Invalid("\"\(text)\" is not a free-memory rule: expected a size (64GiB), a share (50%) or a multiple (2x protected)") }
    }

    func kernelPolicy(_ node: YAMLNode) -> KernelPolicy {
        var kernel = KernelPolicy()
        guard let fields = reader.fields(node, "host.kernel", allowed: Keys.kernelKeys) else { return kernel }
        if let value = fields["numa_balancing"],
           let word = reader.choice(value.value, "host.kernel.numa_balancing", NumaBalancing.allCases.map(\.rawValue)) {
            kernel.numaBalancing = NumaBalancing(rawValue: word)
        }
        if let value = fields["zone_reclaim_mode"] {
            kernel.zoneReclaimMode = reader.int(value.value, "host.kernel.zone_reclaim_mode", 0...7)
        }
        if let value = fields["transparent_hugepage"] {
            kernel.transparentHugepage = reader.choice(value.value, "host.kernel.transparent_hugepage", ["always", "madvise", "never"])
        }
        if let value = fields["cmdline"], let cmdline = reader.fields(value.value, "host.kernel.cmdline", allowed: ["require", "forbid"]) {
            kernel.cmdlineRequire = cmdline["require"].flatMap { reader.strings($0.value, "host.kernel.cmdline.require") } ?? []
            kernel.cmdlineForbid = cmdline["forbid"].flatMap { reader.strings($0.value, "host.kernel.cmdline.forbid") } ?? []
            for word in Set(kernel.cmdlineRequire).intersection(kernel.cmdlineForbid) {
                reader.error(value.value, "host.kernel.cmdline both requires and forbids \"\(word)\"")
            }
        }
        return kernel
    }

    func topologyPolicy(_ node: YAMLNode) -> TopologyPolicy {
        var topology = TopologyPolicy()
        guard let fields = reader.fields(node, "host.topology", allowed: Keys.topologyKeys) else { return topology }
        if let nodes = fields["nodes"] { topology.nodes = reader.int(nodes.value, "host.topology.nodes", 1...IDListParser.maximumMember) }
        if let cpus = fields["cpus"] {
            topology.cpus = reader.byNode(cpus.value, "host.topology.cpus") { reader.idSet($0, $1, what: "cpulist") } ?? [:]
        }
        if let memory = fields["min_memory"] {
            topology.minMemory = reader.byNode(memory.value, "host.topology.min_memory") { reader.quantity($0, $1, Quantity.size) } ?? [:]
        }
        if let distances = fields["distances"] {
            topology.distances = reader.byNode(distances.value, "host.topology.distances") { item, path in
                guard let values = reader.list(item, path) else { return nil }
                let numbers = values.compactMap { reader.int($0, "\(path) item", 1...255) }
                return numbers.count == values.count ? numbers : nil
            } ?? [:]
        }
        return topology
    }

    /// A workload whose name or match is wrong is still read to its end, so every mistake in it
    /// is reported; it is returned only when all of it is right.
    func workload(_ node: YAMLNode, _ path: String) -> Workload? {
        guard let fields = reader.fields(node, path, allowed: Keys.workloadKeys, required: ["name", "match"]) else { return nil }
        var name = fields["name"].flatMap { reader.string($0.value, "\(path).name") }
        if let given = name, !given.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            reader.error(fields["name"]?.value, "\(path).name \"\(given)\" may hold only letters, digits, - and _ (it becomes part of check IDs)")
            name = nil
        }
        let workloadPath = name.map { "workload \($0)" } ?? path
        let match = fields["match"].flatMap { processMatch($0.value, "\(workloadPath).match") }
        var workload = Workload(name: name ?? "", match: match ?? ProcessMatch())
        if let protected = fields["protected"] { workload.protected = reader.bool(protected.value, "\(workloadPath).protected") ?? false }
        if let running = fields["running"],
           let counts = reader.fields(running.value, "\(workloadPath).running", allowed: ["min", "max"]) {
            let low = counts["min"].flatMap { reader.int($0.value, "\(workloadPath).running.min", 0...1_000_000) } ?? 0
            // No max: no upper bound.
            let high = counts["max"].flatMap { reader.int($0.value, "\(workloadPath).running.max", 0...1_000_000) }
            if counts.isEmpty {
                reader.error(running.value, "\(workloadPath).running needs min or max")
            } else if let high, low > high {
                reader.error(running.value, "\(workloadPath).running.min (\(low)) is above max (\(high))")
            } else {
                workload.running = RunningCount(minimum: low, maximum: high)
            }
        }
        if let cpus = fields["cpus"], let placement = cpuPlacement(cpus.value, "\(workloadPath).cpus") {
            (workload.cpus, workload.cpuNodeDevices) = placement
        }
        if let memory = fields["memory"] { workload.memory = memoryPlacement(memory.value, "\(workloadPath).memory") }
        return name != nil && match != nil ? workload : nil
    }

    func processMatch(_ node: YAMLNode, _ path: String) -> ProcessMatch? {
        guard let fields = reader.fields(node, path, allowed: Keys.matchKeys) else { return nil }
        func text(_ key: String) -> String? { fields[key].flatMap { reader.string($0.value, "\(path).\(key)") } }
        let match = ProcessMatch(comm: text("comm"), exe: text("exe"), cmdline: text("cmdline"), cgroup: text("cgroup"),
                                 systemdUnit: text("systemd_unit"), user: text("user"))
        if match.isEmpty {
            // Keys whose values were refused were reported already; only a bare {} is "empty".
            if fields.isEmpty { reader.error(node, "\(path) is empty: it would match every process") }
            return nil
        }
        var valid = true
        if let comm = match.comm, comm.utf8.count > 15 {
            reader.error(fields["comm"]?.value, "\(path).comm \"\(comm)\" is longer than the kernel's 15-byte comm: it could never match")
            valid = false
        }
        if let pattern = match.cmdline {
            do { _ = try LinearRegex(pattern) } catch {
                reader.error(fields["cmdline"]?.value, inScalarAt: error.offset,
                             "\(path).cmdline is not a valid regular expression: \(error.message)")
                valid = false
            }
        }
        return valid ? match : nil
    }

    /// The placement, and the devices its `nodes` names (PolicyDeviceSections.swift).
    func cpuPlacement(_ node: YAMLNode, _ path: String) -> (CPUPlacement, [DeviceSpecifier])? {
        guard let fields = reader.fields(node, path, allowed: ["nodes", "cpulist"]) else { return nil }
        switch (fields["nodes"], fields["cpulist"]) {
        case let (nodes?, nil): return nodeList(nodes.value, "\(path).nodes").map { (.nodes($0.nodes), $0.devices) }
        case let (nil, cpulist?): return reader.idSet(cpulist.value, "\(path).cpulist", what: "cpulist").map { (.cpulist($0), []) }
        case (.some, .some):
            reader.error(node, "\(path) takes nodes or cpulist, not both")
        case (nil, nil):
            reader.error(node, "\(path) needs nodes or cpulist")
        }
        return nil
    }

    /// Every field is read and every mistake reported before the placement is given up.
    func memoryPlacement(_ node: YAMLNode, _ path: String) -> MemoryPlacement? {
        guard let fields = reader.fields(node, path, allowed: Keys.memoryKeys, required: ["policy"]) else { return nil }
        let modeText = fields["policy"].flatMap { reader.choice($0.value, "\(path).policy", Keys.memoryModes) }
        let mode = modeText.flatMap { MemoryPolicy.Mode(rawValue: $0) }
        let allowInterleave = fields["allow_interleave"].flatMap { reader.bool($0.value, "\(path).allow_interleave") } ?? false
        let list = fields["nodes"].flatMap { nodeList($0.value, "\(path).nodes") }
        let nodes = list?.nodes
        let maxRemote = fields["max_remote"].flatMap { reader.quantity($0.value, "\(path).max_remote", Quantity.percent) }
        let scan = fields["scan"].flatMap { reader.bool($0.value, "\(path).scan") } ?? true
        guard let mode, let modeText else { return nil }
        if mode.isInterleave && !allowInterleave {
            reader.error(fields["policy"]?.value, "\(path).policy \(modeText) needs allow_interleave: true (interleave is forbidden unless allowed)")
            return nil
        }
        let needsNodes = ![MemoryPolicy.Mode.local, .default].contains(mode)
        if !needsNodes, let value = fields["nodes"] {
            reader.error(value.value, "\(path): policy \(modeText) takes no nodes")
            return nil
        }
        if needsNodes && fields["nodes"] == nil {
            reader.error(node, "\(path) with policy \(modeText) needs nodes")
            return nil
        }
        if fields["nodes"] != nil && nodes == nil { return nil }
        // With a device reference, "one node" can only be judged once it is resolved.
        if mode == .preferred, let nodes, nodes.count > 1 {
            reader.error(fields["nodes"]?.value, "\(path): policy preferred takes one node; use preferred-many for several")
            return nil
        }
        var placement = MemoryPlacement(mode: mode, nodes: nodes ?? IDSet(), maxRemote: maxRemote.map { $0 / 100 }, allowInterleave: allowInterleave, scan: scan)
        placement.nodeDevices = list?.devices ?? []
        return placement
    }

    func reservation(_ node: YAMLNode, _ path: String) -> Reservation? {
        guard let fields = reader.fields(node, path, allowed: ["node", "for", "max_foreign_memory"], required: ["node", "for"]) else { return nil }
        let id = fields["node"].flatMap { reader.int($0.value, "\(path).node", 0...IDListParser.maximumMember) }
        let names = fields["for"].flatMap { reader.strings($0.value, "\(path).for") }
        let allowance = fields["max_foreign_memory"].flatMap { reader.quantity($0.value, "\(path).max_foreign_memory", Quantity.size) } ?? 0
        guard let id, let names else { return nil }
        return Reservation(node: id, workloads: names, maxForeignMemory: allowance)
    }

    func waiver(_ node: YAMLNode, _ path: String) -> Waiver? {
        guard let fields = reader.fields(node, path, allowed: ["check", "reason", "expires"], required: ["check", "reason", "expires"]) else { return nil }
        let check = fields["check"].flatMap { reader.string($0.value, "\(path).check") }
        let reason = fields["reason"].flatMap { reader.string($0.value, "\(path).reason") }
        let expires = fields["expires"].flatMap { reader.quantity($0.value, "\(path).expires", Quantity.day) }
        let roots = ["host.", "workload.", "node.", "drift.", "device.", "cpus."]
        if let check, !roots.contains(where: { check.hasPrefix($0) }) {
            reader.error(fields["check"]?.value, "\(path).check \"\(check)\" is not a check ID (they start with host., workload., node. or drift., "
                         + "or device. for a devices: entry; cpus. for a CPU reservation)")
            return nil
        }
        guard let check, let reason, let expires else { return nil }
        return Waiver(check: check, reason: reason, expires: expires)
    }

    func watchSettings(_ node: YAMLNode) -> WatchSettings? {
        guard let fields = reader.fields(node, "watch", allowed: Keys.watchKeys) else { return nil }
        var settings = WatchSettings(intervalSeconds: 1)
        if let interval = fields["interval"],
           let seconds = reader.quantity(interval.value, "watch.interval", { Quantity.seconds($0, within: DurationLimits.watchInterval) }) {
            settings.intervalSeconds = seconds
        }
        if let period = fields["numa_maps_period"] {
            settings.numaMapsPeriodSeconds = reader.quantity(period.value, "watch.numa_maps_period") {
                Quantity.seconds($0, within: DurationLimits.numaMapsPeriod)
            }
        }
        if let opted = fields["numa_maps"], let value = reader.bool(opted.value, "watch.numa_maps") {
            settings.numaMaps = value
            let limit = DurationLimits.numaMapsReadPeriod
            if value, let period = fields["numa_maps_period"], let seconds = settings.numaMapsPeriodSeconds, seconds < limit.minimum {
                reader.error(period.value, "watch.numa_maps_period \"\(reader.string(period.value, "watch.numa_maps_period") ?? "")\" is below "
                             + "\(limit.minimumSpelling), the least allowed with watch.numa_maps: true (each read stalls the process "
                             + "while the kernel walks its page tables)")
            }
        }
        if let period = fields["isolation_period"] {
            settings.isolationPeriodSeconds = reader.quantity(period.value, "watch.isolation_period") {
                Quantity.seconds($0, within: DurationLimits.isolationPeriod)
            }
        }
        if let listen = fields["listen"] {
            settings.listen = reader.quantity(listen.value, "watch.listen", ListenAddress.parse)
        }
        guard let regimes = fields["regimes"],
              let levels = reader.fields(regimes.value, "watch.regimes", allowed: Keys.regimeKeys) else { return settings }
        func number(_ node: YAMLNode, _ path: String) -> Double? {
            guard let text = reader.string(node, path) else { return nil }
            guard let value = Double(text), value >= 0, value.isFinite else {
                reader.error(node, "\(path) must be a non-negative number, not \"\(text)\"")
                return nil
            }
            return value
        }
        if let watch = levels["watch"], let keys = reader.fields(watch.value, "watch.regimes.watch", allowed: ["hint_faults_per_s"]) {
            settings.hintFaultsPerSecond = keys["hint_faults_per_s"].flatMap { number($0.value, "watch.regimes.watch.hint_faults_per_s") }
        }
        if let shock = levels["shock"],
           let keys = reader.fields(shock.value, "watch.regimes.shock", allowed: ["pages_migrated_per_s", "remote_fault_ratio"]) {
            settings.pagesMigratedPerSecond = keys["pages_migrated_per_s"].flatMap { number($0.value, "watch.regimes.shock.pages_migrated_per_s") }
            settings.remoteFaultRatio = keys["remote_fault_ratio"].flatMap { number($0.value, "watch.regimes.shock.remote_fault_ratio") }
        }
        if let safe = levels["safe"],
           let keys = reader.fields(safe.value, "watch.regimes.safe", allowed: ["migration_failures_per_s"]) {
            settings.migrationFailuresPerSecond = keys["migration_failures_per_s"].flatMap {
                number($0.value, "watch.regimes.safe.migration_failures_per_s")
            }
        }
        if let dwell = levels["dwell"] {
            settings.dwellSeconds = reader.quantity(dwell.value, "watch.regimes.dwell") { Quantity.seconds($0, within: DurationLimits.dwell) }
        }
        if let exit = levels["exit"], let share = reader.quantity(exit.value, "watch.regimes.exit", Quantity.percent) {
            if share > 0 {
                settings.exitShare = share / 100
            } else {
                reader.error(exit.value, "watch.regimes.exit must be above 0%: at 0% no regime could ever be left")
            }
        }
        return settings
    }

    /// Checks that need the whole policy: unique workload names, reservations naming real
    /// workloads, and two workloads that would claim the same processes with different placements.
    func crossChecks(_ policy: Policy, _ top: [String: (key: YAMLNode, value: YAMLNode)], workloadNodes: [YAMLNode], reserveNodes: [YAMLNode]) {
        var seen: Set<String> = []
        // Per match: the first workload with it, and the first whose placement differs from
        // that one's. The earliest earlier workload with a placement other than W's is always one
        // of the two, so each workload costs two comparisons, not one per earlier workload.
        var byMatch: [ProcessMatch: (first: Workload, other: Workload?)] = [:]
        let sink = reader.sink
        for (index, workload) in policy.workloads.enumerated() {
            let node = index < workloadNodes.count ? workloadNodes[index] : nil
            if !seen.insert(workload.name).inserted {
                reader.error(node, "workload name \"\(workload.name)\" is used twice")
            }
            guard let known = byMatch[workload.match] else {
                byMatch[workload.match] = (workload, nil)
                continue
            }
            sink.work += 2
            if !known.first.hasPlacement(of: workload) {
                reader.error(node, "workloads \"\(known.first.name)\" and \"\(workload.name)\" match the same processes with different placements")
                if known.other == nil { byMatch[workload.match] = (known.first, workload) }
            } else if let other = known.other {
                reader.error(node, "workloads \"\(other.name)\" and \"\(workload.name)\" match the same processes with different placements")
            }
        }
        for (index, reservation) in policy.reservations.enumerated() {
            for name in reservation.workloads {
                sink.work += 1
                guard !seen.contains(name) else { continue }
                reader.error(index < reserveNodes.count ? reserveNodes[index] : nil,
                             "reserve[\(index)] names workload \"\(name)\", which the policy does not declare",
                             suggestion: sink.isFull ? nil : Suggestion.nearest(to: name, in: policy.workloads.map(\.name)))
            }
        }
        // Every node a placement, reservation, huge page or headroom rule names must exist.
        if let declared = policy.host.topology?.nodes {
            func check(_ nodes: IDSet?, _ what: String, _ at: YAMLNode?) {
                guard let highest = nodes?.members.max(), highest >= declared else { return }
                reader.error(at, "\(what) uses node \(highest), but host.topology.nodes declares \(declared) node\(declared == 1 ? "" : "s")")
            }
            for (index, workload) in policy.workloads.enumerated() {
                let node = index < workloadNodes.count ? workloadNodes[index] : nil
                if case let .nodes(nodes)? = workload.cpus {
                    check(nodes, "workload \(workload.name).cpus.nodes", node?["cpus"]?["nodes"])
                }
                check(workload.memory?.nodes, "workload \(workload.name).memory.nodes", node?["memory"]?["nodes"])
            }
            for (index, reservation) in policy.reservations.enumerated() {
                let node = index < reserveNodes.count ? reserveNodes[index]["node"] : nil
                check(IDSet([reservation.node]), "reserve[\(index)].node", node)
            }
            // The first item of a host list naming each node, by its spelling: one pass per list
            // (a scan per rule would be quadratic in the list's length).
            func hostItems(_ key: String) -> [String: (index: Int, node: YAMLNode)] {
                let items = top["host"]?.value[key]?.sequence ?? []
                var first: [String: (index: Int, node: YAMLNode)] = [:]
                for (index, item) in items.enumerated() {
                    guard let node = item["node"], let spelling = node.text, first[spelling] == nil else { continue }
                    first[spelling] = (index, node)
                }
                return first
            }
            let pageItems = hostItems("hugepages")
            for pages in policy.host.hugePages {
                let item = pageItems["\(pages.node)"]
                check(IDSet([pages.node]), "host.hugepages[\(item?.index ?? 0)].node", item?.node)
            }
            let headroomItems = hostItems("headroom")
            for rule in policy.host.headroom {
                let item = headroomItems["\(rule.node)"]
                check(IDSet([rule.node]), "host.headroom[\(item?.index ?? 0)].node", item?.node)
            }
        }
    }
}
