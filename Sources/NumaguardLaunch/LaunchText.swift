import NumaguardCore
import NumaguardOutput

/// What `run --dry-run` prints and `run --help` says.
public enum LaunchText {
    public static func dryRun(_ launch: PreparedLaunch, format: LaunchRequest.Format) -> String {
        let plan = launch.plan
        let nodes = plan.cpuNodes ?? IDSet()
        let cpus = plan.cpus.map { "\($0) (\(nodes.count == 1 ? "node" : "nodes") \(nodes))" } ?? "unchanged (inherited)"
        let user = launch.credentials.map { "\($0.name) (uid \($0.uid), gid \($0.gid), groups \($0.groups.map(String.init).joined(separator: ",")))" }
        let capabilities = launch.keepCapabilities
            ? "kept (--keep-caps)"
            : "cleared (ambient, effective, permitted, inheritable); no_new_privs set, so no exec regains any"
        if format == .json {
            let string = JSONText.optional
            let fields: [(String, String)] = JSONText.header(.runPlan) + [
                ("source", string(plan.source)),
                ("program", string(launch.program?.text)),
                ("arguments", JSONText.array(launch.arguments.map(\.text))),
                ("cpus", string(plan.cpus?.listString)), ("cpu_nodes", string(plan.cpuNodes?.listString)),
                ("memory_policy", string(plan.memory.kernelSpelling)), ("user", string(launch.credentials?.name)),
                ("keep_capabilities", "\(launch.keepCapabilities)"), ("record_directory", string(launch.recordDirectory)),
                ("warnings", JSONText.array(plan.warnings)),
            ]
            // Only when a device was named, so a plain dry run's document is unchanged.
            let devices = plan.devices.map { device in
                JSONText.compact([("specifier", string(device.specifier)), ("node", "\(device.node)"), ("read_from", string(device.readFrom))])
            }
            return JSONText.object(fields + (devices.isEmpty ? [] : [("devices", "[" + devices.joined(separator: ", ") + "]")]))
        }
        var lines = [
            "numaguard run --dry-run: nothing was changed or executed",
            "  placement from: \(plan.source)",
            "  program:        \(launch.program.map { ([$0] + launch.arguments.dropFirst()).map(\.text).joined(separator: " ") } ?? "(none given)")",
            "  cpus:           \(cpus)",
            "  memory policy:  \(plan.memory.kernelSpelling) (set explicitly: nothing inherited survives exec)",
            "  user:           \(user ?? "unchanged")",
            "  capabilities:   \(capabilities)",
            "  signals:        mask emptied, every disposition default",
            "  launch record:  \(launch.recordDirectory.map { "written to \($0)" } ?? "none")",
        ]
        lines += plan.devices.map { "  device:         \($0.specifier) is on node \($0.node) (numa_node of \($0.readFrom))" }
        lines += plan.warnings.map { "  warning: \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    public static let help = """
        USAGE: numaguard run [options] [--] PROGRAM [ARGS...]
               numaguard run --policy FILE --workload NAME [options] -- PROGRAM [ARGS...]
               numaguard run --show

        Applies a CPU and memory placement to itself, checks it took, then execs PROGRAM in
        place (same PID). The memory policy is always set, so an inherited interleave never
        reaches PROGRAM. Capabilities are cleared, no_new_privs is set and signals are reset
        before exec.

        PLACEMENT (numactl's spellings; NODES and CPUS: N, N-M, lists, all, !inverse, +relative;
        NODES may end with a device, as in numactl: netdev:IF, pci:[SEG:]BUS:DEV[.FN], block:NAME,
        file:PATH, ip:ADDRESS, e.g. -N netdev:eth0 or -m 0,block:nvme0n1)
          -m, --membind NODES            allocate only on NODES (MPOL_BIND, strict)
          -N, --cpunodebind NODES        run on the CPUs of NODES
          -C, --physcpubind CPUS         run on CPUS
          -p, --preferred NODE           prefer NODE (a hint the kernel breaks under pressure)
          -P, --preferred-many NODES     prefer NODES (Linux 5.15+)
          -l, --localalloc               allocate on the node of the running CPU (MPOL_LOCAL)
          -i, --interleave NODES         interleave (refused without --allow-interleave)
          -w, --weighted-interleave NODES  weighted interleave (Linux 6.9+; needs --allow-interleave)
              --static-nodes             MPOL_F_STATIC_NODES: nodes are not remapped when the cpuset changes
              --allow-interleave         accept an interleave policy
          --policy FILE --workload NAME  take the placement from a policy's workload instead

        CHECKS
              --min-free SIZE|PCT        refuse unless every memory node has this much free (e.g. 2GiB, 10%)
              --require-balancing-off    refuse while kernel.numa_balancing is not 0 (a warning otherwise)

        PROCESS
              --user USER                switch to USER and its groups after the placement is applied
              --keep-caps                keep capabilities and do not set no_new_privs
              --record DIR               write a launch record (pid, start time, placement, policy digest)

        OTHER
          -s, --show                     print this process's placement like numactl --show
              --dry-run                  check and print what would be applied, then exit
              --format text|json         output of --dry-run
              --host-root DIR            with --dry-run: check against a captured host
          -h, --help                     this help

        EXIT STATUS: the program's own; 125 numaguard refused or failed before exec;
        126 the program cannot be executed; 127 the program was not found.

        """
}
