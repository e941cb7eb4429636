import NumaguardCore
import NumaguardHost
import NumaguardLaunch
import NumaguardPolicy

/// `run --policy P --workload W`: the workload's declared placement becomes the same request
/// numactl-style options would make, so both forms pass the same checks.
public enum PolicyPlacement {
    /// `LaunchCommand`'s policy resolver: loads the file (its diagnostics go to stderr with
    /// file:line:col) and applies the workload's placement.
    public static func resolve(_ request: LaunchRequest) throws(LaunchError) -> (request: LaunchRequest, digest: String) {
        guard let path = request.policyPath else { return (request, "") }
        let loaded: LoadedPolicy
        do {
            loaded = try PolicyLoader.load(file: path, reading: InputFile.read)
        } catch {
            // run's own contract: whatever stops it before exec is 125 (as env(1)); the
            // message is the one every other command gives.
            if let unreadable = error.unreadable { throw .refused("\(unreadable); nothing was executed") }
            FileHandleWriter.write(2, error.description + "\n")
            throw .refused("\(path) is not a valid policy; nothing was executed")
        }
        return (try Self.request(request, policy: loaded), loaded.digest)
    }

    /// Device references (`netdev:ens1f0`) resolve on the host `--host-root` names with the
    /// audit's endpoint rule, so `run --policy` binds where the audit judges.
    public static func request(_ base: LaunchRequest, policy loaded: LoadedPolicy) throws(LaunchError) -> LaunchRequest {
        try request(base, policy: loaded) { device in
            DeviceLocality.resolve(device, in: HostRoot(path: base.hostRoot ?? "/"), rule: .endpoint)
        }
    }

    /// The same, with the resolver given (tests).
    public static func request(_ base: LaunchRequest, policy loaded: LoadedPolicy,
                               resolving node: (DeviceSpecifier) -> Result<Int, DeviceRefusal>) throws(LaunchError) -> LaunchRequest {
        guard let name = base.workload else { return base }
        let policy = loaded.policy
        guard let declared = policy.workload(named: name) else {
            let names = policy.workloads.map(\.name)
            throw .usage("--workload \(name): \(loaded.file) declares no such workload (it declares: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
        let source = "workload \"\(name)\" of \(loaded.file)"
        let workload: Workload
        switch declared.resolvingDevices(node) {
        case let .success(resolved): workload = resolved
        case let .failure(failures):
            let reasons = failures.failures.map { failure in
                switch failure {
                case let .refused(_, refusal): "\(refusal.specifier): \(refusal.fact)"
                case let .preferredSpread(nodes, devices):
                    "memory policy preferred takes one node, and gives nodes \(nodes.listString) once \(devices.map(\.description).joined(separator: ", ")) resolved"
                }
            }
            throw .refused("\(source): \(reasons.joined(separator: "; ")); nothing was executed")
        }
        var request = base
        switch workload.cpus {
        case let .nodes(nodes): request.cpuNodes = NumactlSet(explicit: nodes, kind: .node)
        case let .cpulist(cpus): request.physicalCPUs = NumactlSet(explicit: cpus, kind: .cpu)
        case nil: break
        }
        if let memory = workload.memory {
            let nodes = memory.nodes.isEmpty ? nil : NumactlSet(explicit: memory.nodes, kind: .node)
            request.memory = MemoryRequest(mode: memory.mode, nodes: nodes, source: source)
            request.allowInterleave = memory.allowInterleave
        } else if case let .nodes(nodes) = workload.cpus {
            // Strict by default: memory follows the CPUs' nodes under MPOL_BIND rather than
            // the kernel's default, which spills to remote nodes under pressure.
            request.memory = MemoryRequest(mode: .bind, nodes: NumactlSet(explicit: nodes, kind: .node),
                                           source: "\(source) (no memory declared: bound to its CPU nodes)")
        }
        if policy.host.kernel.numaBalancing == .off { request.requireBalancingOff = true }
        request.headroom = headroom(policy)
        return request
    }

    /// The policy's headroom rules that can be checked before the program exists: a fixed
    /// size or a share of the node (a multiple of protected memory needs it already running).
    static func headroom(_ policy: Policy) -> [Int: LaunchRequest.FreeMemory] {
        var rules: [Int: LaunchRequest.FreeMemory] = [:]
        for rule in policy.host.headroom {
            switch rule.minFree {
            case let .bytes(bytes): rules[rule.node] = .bytes(bytes)
            case let .percent(percent): rules[rule.node] = .percent(percent)
            case .protectedMultiple: continue
            }
        }
        return rules
    }
}
