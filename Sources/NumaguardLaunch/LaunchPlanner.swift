import NumaguardCore

/// What the wrapper will do to itself before it execs: checked, concrete, and the same
/// whether it is printed (`--dry-run`), recorded (`--record`) or applied.
public struct LaunchPlan: Equatable, Sendable {
    /// The affinity to set; nil leaves the inherited one (no CPU option, as numactl does).
    public var cpus: IDSet?
    /// Always set, so a policy inherited from the parent (an interleave) never survives exec.
    public var memory: MemoryPolicy
    /// Where the placement came from: the options, or the policy's workload.
    public var source: String
    public var warnings: [String]

    /// The nodes the CPUs belong to, for messages and the launch record.
    public var cpuNodes: IDSet?
    /// The devices named in node arguments and the node each gave.
    public var devices: [ResolvedDevice] = []

    public struct ResolvedDevice: Equatable, Sendable {
        /// As written (`netdev:eth0`).
        public var specifier: String
        public var node: Int
        /// The device whose `numa_node` gave the node ("eth0 (/sys/devices/pci0000:20/0000:20:00.0)").
        public var readFrom: String
    }
}

/// Turns a request into a plan against the host, or refuses with the reason. Pure: the host
/// comes in as values, so every refusal is tested over recorded hosts without a privileged
/// process, and the same checks run whether or not the plan is then applied.
public enum LaunchPlanner {
    public static func plan(_ request: LaunchRequest, host: LaunchHost, source: String) throws(LaunchError) -> LaunchPlan {
        var warnings: [String] = []
        let cpus = try cpuPlacement(request, host: host, warnings: &warnings)
        let memory = try memoryPolicy(request, host: host)
        try checkKernel(memory, release: host.kernelRelease)
        if let cpus { warnings += isolationWarnings(cpus, isolated: host.isolatedCPUs) }
        if let balancing = host.numaBalancing, balancing != 0 {
            let reason = "kernel.numa_balancing is \(balancing): the kernel takes NUMA hinting faults on this process "
                + "and may migrate its default-policy pages; set it to 0 for pinned latency work"
            // A requirement holds whatever the placement; the warning is for a placement it can undo.
            if request.requireBalancingOff { throw .refused(reason) }
            if cpus != nil || memory.mode != .default { warnings.append(reason) }
        }
        var devices: [LaunchPlan.ResolvedDevice] = []
        for device in request.devices {
            guard let found = host.device(device), case let .node(node, readFrom) = found.outcome,
                  !devices.contains(where: { $0.specifier == device.description }) else { continue }
            devices.append(.init(specifier: device.description, node: node, readFrom: readFrom))
            if let warning = found.warning { warnings.append(warning) }
        }
        let nodes = memoryNodes(memory, cpus: cpus, host: host)
        if let minFree = request.minFree { try checkFree(minFree, nodes: nodes, host: host, source: "--min-free \(minFree)") }
        for node in nodes {
            if let rule = request.headroom[node] { try checkFree(rule, nodes: IDSet([node]), host: host, source: "the policy's headroom \(rule)") }
        }
        return LaunchPlan(cpus: cpus, memory: memory, source: source, warnings: warnings,
                          cpuNodes: cpus.map { host.nodes(ofCPUs: $0) }, devices: devices)
    }

    // MARK: CPUs

    static func cpuPlacement(_ request: LaunchRequest, host: LaunchHost, warnings: inout [String]) throws(LaunchError) -> IDSet? {
        var fromNodes: IDSet?
        if let spec = request.cpuNodes {
            let nodesWithAllowedCPUs = host.nodes(ofCPUs: host.cpusAllowed)
            let resolution = try spec.resolve(allowed: nodesWithAllowedCPUs,
                                              deviceNode: try deviceNode(spec, option: request.cpuNodesOption, host: host))
            try requireOnline(resolution.named, spec: spec, option: request.cpuNodesOption, host: host)
            let cpuless = resolution.named.subtracting(host.nodesWithCPU)
            guard cpuless.isEmpty else {
                throw .refused("\(request.cpuNodesOption) \(spec): \(named("node", cpuless)) \(cpuless.count == 1 ? "has" : "have") no CPUs (a memory-only node); "
                               + "nodes with CPUs: \(host.nodesWithCPU)")
            }
            let nodes = resolution.members
            guard !nodes.isEmpty else { throw .refused("\(request.cpuNodesOption) \(spec) names no node") }
            let cpus = nodes.reduce(IDSet()) { $0.union(host.cpus(ofNode: $1)) }
            let usable = cpus.intersection(host.cpusAllowed)
            guard !usable.isEmpty else {
                throw .refused("\(request.cpuNodesOption) \(spec): none of the CPUs of \(named("node", nodes)) (\(cpus)) is allowed: \(cpusetExplanation(host, cpus: true))")
            }
            if usable != cpus {
                let outside = cpus.subtracting(usable)
                let verb = outside.count == 1 ? "is" : "are"
                warnings.append("\(request.cpuNodesOption) \(spec): \(named("CPU", outside)) of \(named("node", nodes)) \(verb) outside the allowed CPUs "
                                + "and \(verb) left out: \(cpusetExplanation(host, cpus: true))")
            }
            fromNodes = usable
        }
        guard let spec = request.physicalCPUs else { return fromNodes }
        let resolution = try spec.resolve(allowed: host.cpusAllowed)
        let online = host.allCPUs
        let absent = resolution.named.subtracting(online)
        guard absent.isEmpty else {
            throw .refused("\(request.physicalCPUsOption) \(spec): \(named("CPU", absent)) \(absent.count == 1 ? "does" : "do") not exist or \(absent.count == 1 ? "is" : "are") offline (online CPUs: \(online))")
        }
        let outside = resolution.named.subtracting(host.cpusAllowed)
        guard outside.isEmpty else {
            throw .refused("\(request.physicalCPUsOption) \(spec): \(named("CPU", outside)) \(outside.count == 1 ? "is" : "are") not allowed: \(cpusetExplanation(host, cpus: true))")
        }
        let cpus = resolution.members
        guard !cpus.isEmpty else { throw .refused("\(request.physicalCPUsOption) \(spec) names no CPU") }
        if let fromNodes, !cpus.isSubset(of: fromNodes) {
            throw .refused("\(request.physicalCPUsOption) \(spec): \(named("CPU", cpus.subtracting(fromNodes))) \(cpus.subtracting(fromNodes).count == 1 ? "is" : "are") not on the \(request.cpuNodesOption) nodes "
                           + "(their allowed CPUs: \(fromNodes))")
        }
        return cpus
    }

    /// Isolated CPUs (isolcpus=) are outside the scheduler's load balancing: a thread stays
    /// on the CPU it was first placed on, so spanning several, or mixing them with
    /// housekeeping CPUs, is rarely what a latency-critical launch means.
    static func isolationWarnings(_ cpus: IDSet, isolated: IDSet) -> [String] {
        let onIsolated = cpus.intersection(isolated)
        guard !onIsolated.isEmpty else { return [] }
        if onIsolated != cpus {
            let housekeeping = cpus.subtracting(onIsolated)
            return ["\(named("CPU", onIsolated)) \(onIsolated.count == 1 ? "is" : "are") isolated (isolcpus) and "
                    + "\(named("CPU", housekeeping)) \(housekeeping.count == 1 ? "is" : "are") not: "
                    + "the scheduler does not balance threads onto the isolated ones"]
        }
        if onIsolated.count > 1 {
            return ["CPUs \(onIsolated) are all isolated (isolcpus): the scheduler does not balance threads "
                    + "across them, so each thread stays where it starts; pin threads individually"]
        }
        return []
    }

    // MARK: Memory

    static func memoryPolicy(_ request: LaunchRequest, host: LaunchHost) throws(LaunchError) -> MemoryPolicy {
        guard let memory = request.memory else { return .default }
        guard let spec = memory.nodes else { return MemoryPolicy(mode: memory.mode) }
        let option = memory.source
        if memory.mode.isInterleave, !request.allowInterleave {
            throw .refused("\(option) \(spec): interleave spreads every page over several nodes and is inherited by every "
                           + "child process; pass --allow-interleave (or allow_interleave in the policy) if that is intended")
        }
        let resolution = try spec.resolve(allowed: host.memsAllowed.intersection(host.nodesWithMemory),
                                          deviceNode: try deviceNode(spec, option: option, host: host))
        try requireOnline(resolution.named, spec: spec, option: option, host: host)
        let memoryless = resolution.named.subtracting(host.nodesWithMemory)
        guard memoryless.isEmpty else {
            throw .refused("\(option) \(spec): \(named("node", memoryless)) \(memoryless.count == 1 ? "has" : "have") no memory (a CPU-only node); "
                           + "nodes with memory: \(host.nodesWithMemory)")
        }
        let outside = resolution.named.subtracting(host.memsAllowed)
        guard outside.isEmpty else {
            throw .refused("\(option) \(spec): \(named("node", outside)) \(outside.count == 1 ? "is" : "are") not allowed: \(cpusetExplanation(host, cpus: false))")
        }
        let nodes = resolution.members
        guard !nodes.isEmpty else { throw .refused("\(option) \(spec) names no node") }
        if memory.mode == .preferred, nodes.count != 1 {
            throw .refused("\(option) \(spec): preferred takes one node (\(nodes) given); use --preferred-many for several")
        }
        return MemoryPolicy(mode: memory.mode, nodes: nodes, staticNodes: request.staticNodes)
    }

    /// Modes newer than the running kernel are refused here, where the message can say why,
    /// rather than as a bare EINVAL from set_mempolicy.
    static func checkKernel(_ memory: MemoryPolicy, release: String) throws(LaunchError) {
        guard let needed = minimumKernel(memory.mode), let running = KernelVersion.parse(release) else { return }
        if running < needed {
            throw .refused("\(memory.mode.rawValue) needs Linux \(needed.0).\(needed.1) or later; this kernel is \(release)")
        }
    }

    /// The first Linux (major, minor) with `mode`; nil for the modes every supported kernel
    /// has, whose launch then skips reading the kernel release.
    static func minimumKernel(_ mode: MemoryPolicy.Mode) -> (Int, Int)? {
        switch mode {
        case .preferredMany: (5, 15)
        case .weightedInterleave: (6, 9)
        case .local: (3, 8)
        default: nil
        }
    }

    /// The nodes the program's memory will come from: the policy's, or for local allocation
    /// the nodes of the CPUs it runs on.
    static func memoryNodes(_ memory: MemoryPolicy, cpus: IDSet?, host: LaunchHost) -> IDSet {
        if !memory.nodes.isEmpty { return memory.nodes }
        let cpuNodes = cpus.map { host.nodes(ofCPUs: $0) } ?? host.memsAllowed
        return cpuNodes.intersection(host.nodesWithMemory)
    }

    static func checkFree(_ minimum: LaunchRequest.FreeMemory, nodes: IDSet, host: LaunchHost, source: String) throws(LaunchError) {
        for node in nodes {
            guard let memory = host.node(node)?.memory else { continue }
            let required = switch minimum {
            case let .bytes(bytes): bytes
            case let .percent(percent): KernelArithmetic.clamped(Double(memory.total) * percent / 100)
            }
            if memory.free < required {
                var free = Bytes.text(memory.free)
                var needed = Bytes.text(required)
                // Rounded to a tenth, a shortfall of a few KiB would read "has 1 GiB, requires 1 GiB".
                if free == needed {
                    free = "\(memory.free) bytes"
                    needed = "\(required) bytes"
                }
                throw .refused("node \(node) has \(free) free of \(Bytes.text(memory.total)); \(source) requires \(needed)")
            }
        }
    }

    // MARK: Devices

    /// The node the host gave the argument's device, nil when it names none. A device
    /// without one refuses the launch (never a guess: -1 is not node 0). The node is then
    /// judged like a number (offline, CPU-less or memory-less, outside the cpuset), unlike
    /// numactl, which also refuses a node numbered at or above the cpuset's node count.
    static func deviceNode(_ spec: NumactlSet, option: String, host: LaunchHost) throws(LaunchError) -> Int? {
        guard let device = spec.device else { return nil }
        guard let found = host.device(device) else { throw .failed("\(option) \(spec): \(device) was not read") }
        switch found.outcome {
        case let .node(node, _): return node
        case let .refused(reason): throw .refused("\(option) \(spec): \(reason)")
        }
    }

    // MARK: Explanations

    /// "node 3", "nodes 2-3", "CPU 5", "CPUs 4-7".
    static func named(_ noun: String, _ set: IDSet) -> String {
        "\(noun)\(set.count == 1 ? "" : "s") \(set)"
    }

    static func requireOnline(_ requested: IDSet, spec: NumactlSet, option: String, host: LaunchHost) throws(LaunchError) {
        let absent = requested.subtracting(host.onlineNodes)
        guard absent.isEmpty else {
            throw .refused("\(option) \(spec): \(named("node", absent)) \(absent.count == 1 ? "does" : "do") not exist or \(absent.count == 1 ? "is" : "are") offline (online nodes: \(host.onlineNodes))")
        }
    }

    /// Says what limits the process: its cgroup's cpuset when one is known, otherwise the
    /// sets the kernel reports for the process.
    static func cpusetExplanation(_ host: LaunchHost, cpus: Bool) -> String {
        let allowed = cpus ? host.cpusAllowed : host.memsAllowed
        let what = cpus ? "CPUs" : "nodes"
        if let cpuset = host.cpuset {
            let file = cpus ? cpuset.cpusFile : cpuset.memsFile
            let effective = (cpus ? cpuset.cpus : cpuset.mems).map(\.listString) ?? "unreadable"
            return "this process's cgroup \(cpuset.path) allows \(what) \(effective) (\(file)); "
                + "run numaguard in a cgroup whose cpuset includes them"
        }
        let field = cpus ? "Cpus_allowed_list" : "Mems_allowed_list"
        return "this process may use \(what) \(allowed.listString.isEmpty ? "none" : allowed.listString) (\(field) of \(host.allowedSource))"
    }
}

/// `major.minor` of a kernel release string such as `6.1.0-18-amd64`.
enum KernelVersion {
    static func parse(_ release: String) -> (Int, Int)? {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return nil }
        return (parts[0], parts[1])
    }
}
