import NumaguardCore
import NumaguardPolicy

/// Checks of the host as a whole: kernel knobs, boot arguments, topology, huge pages,
/// forbidden placement actors. Pure: values in, findings out.
enum HostChecks {
    static func kernel(_ policy: KernelPolicy, _ kernel: KernelState) -> [Finding] {
        var findings: [Finding] = []
        if let wanted = policy.numaBalancing {
            let actual = kernel.numaBalancing
            // Absent sysctl (no CONFIG_NUMA_BALANCING) is as off as it gets.
            let holds = (actual ?? 0) == wanted.value
            findings.append(.judge(
                holds, .kernel(.numaBalancing), .critical,
                expected: "\(wanted.rawValue) (\(wanted.value))",
                actual: actual == nil ? "absent (kernel built without NUMA balancing)" : KernelState.describeNumaBalancing(actual),
                remediation: "numaguard apply (sysctl kernel.numa_balancing=\(wanted.value))"))
        }
        if let wanted = policy.zoneReclaimMode {
            findings.append(.judge(
                kernel.zoneReclaimMode == wanted, .kernel(.zoneReclaimMode), .warning,
                expected: "\(wanted)", actual: kernel.zoneReclaimMode.map(String.init) ?? "absent",
                remediation: "numaguard apply (sysctl vm.zone_reclaim_mode=\(wanted))"))
        }
        if let wanted = policy.transparentHugepage {
            findings.append(.judge(
                kernel.transparentHugepage == wanted, .kernel(.transparentHugepage), .warning,
                expected: wanted, actual: kernel.transparentHugepage ?? "absent (kernel without THP)",
                remediation: "numaguard apply (/sys/kernel/mm/transparent_hugepage/enabled = \(wanted))"))
        }
        let words = BootArguments.kernelWords(kernel.commandLine)
        for word in policy.cmdlineRequire {
            findings.append(.judge(
                words.contains(word), .bootRequires(word), .critical,
                expected: "boot argument \(word)", actual: matching(word, in: words).joined(separator: " ").orNone,
                remediation: "add \(word) to the kernel command line and reboot"))
        }
        for word in policy.cmdlineForbid {
            let found = matching(word, in: words)
            findings.append(.judge(
                found.isEmpty, .bootForbids(word), .critical,
                expected: "no boot argument \(word)", actual: found.joined(separator: " ").orNone,
                remediation: "remove \(word) from the kernel command line and reboot"))
        }
        return findings
    }

    /// `numa=off` matches exactly; a bare key such as `isolcpus` matches any `isolcpus=...`.
    static func matching(_ word: String, in words: [String]) -> [String] {
        word.contains("=") ? words.filter { $0 == word } : words.filter { $0 == word || $0.hasPrefix(word + "=") }
    }

    static func topology(_ policy: TopologyPolicy, _ topology: Topology) -> [Finding] {
        var findings: [Finding] = []
        let remedy = "the hardware or firmware (BIOS NUMA/SNC settings) differs from the policy: fix the host or the policy"
        if let nodes = policy.nodes {
            findings.append(.judge(
                topology.nodes.count == nodes, .topologyNodes, .critical,
                expected: "\(nodes) online nodes", actual: "\(topology.nodes.count) (\(topology.onlineNodes.listString))",
                remediation: remedy))
        }
        for (id, cpus) in policy.cpus.sorted(by: { $0.key < $1.key }) {
            let actual = topology.node(id)?.cpus
            findings.append(.judge(
                actual == cpus, .topology(node: id, .cpus), .critical, subject: "node \(id)",
                expected: cpus.listString, actual: actual.map { $0.isEmpty ? "none" : $0.listString } ?? "node absent",
                remediation: remedy))
        }
        for (id, bytes) in policy.minMemory.sorted(by: { $0.key < $1.key }) {
            let actual = topology.node(id)?.memTotal
            findings.append(.judge(
                (actual ?? 0) >= bytes, .topology(node: id, .minMemory), .critical, subject: "node \(id)",
                expected: "at least \(Bytes.text(bytes))", actual: actual.map(Bytes.text) ?? "node absent",
                remediation: remedy))
        }
        for (id, row) in policy.distances.sorted(by: { $0.key < $1.key }) {
            let actual = topology.node(id)?.distances
            findings.append(.judge(
                actual == row, .topology(node: id, .distances), .warning, subject: "node \(id)",
                expected: row.map(String.init).joined(separator: " "),
                actual: actual.map { $0.map(String.init).joined(separator: " ") } ?? "node absent",
                remediation: remedy))
        }
        return findings
    }

    static func hugePages(_ requirements: [HugePageRequirement], _ topology: Topology) -> [Finding] {
        requirements.map { requirement in
            let pool = topology.node(requirement.node)?.hugePages.first { $0.sizeKiB == requirement.sizeKiB }
            return .judge(
                (pool?.total ?? 0) >= requirement.count,
                .hugePages(node: requirement.node, sizeKiB: requirement.sizeKiB), .critical, subject: "node \(requirement.node)",
                expected: "at least \(requirement.count) pages of \(requirement.sizeKiB) kB",
                actual: pool.map { "\($0.total) (\($0.free) free)" } ?? "no \(requirement.sizeKiB) kB pool on this node",
                remediation: "numaguard apply (node\(requirement.node)/hugepages/hugepages-\(requirement.sizeKiB)kB/nr_hugepages = \(requirement.count))")
        }
    }

    static func forbidden(_ names: [String], _ processes: [(pid: Int, comm: String)]) -> [Finding] {
        names.map { name in
            let running = processes.filter { $0.comm == name }
            return .judge(
                running.isEmpty, .forbiddenProcess(name), .critical,
                expected: "no \(name) process", actual: running.map { "PID \($0.pid)" }.joined(separator: ", ").orNone,
                remediation: "stop and disable \(name): it moves memory and threads on its own schedule")
        }
    }
}

extension String {
    var orNone: String { isEmpty ? "none" : self }
}
