import NumaguardCore

/// `numaguard topology` as text: numactl --hardware's lines first (same wording, so a
/// diff against numactl is meaningful), then what numactl does not show.
public enum TopologyText {
    public static func render(_ topology: Topology) -> String {
        var out: [String] = []
        if !topology.numaEnabled {
            out.append("NUMA: not available on this kernel (no /sys/devices/system/node); treating the host as one node 0")
        }
        out.append("available: \(topology.nodes.count) nodes (\(topology.onlineNodes.listString))")
        for node in topology.nodes {
            out.append("node \(node.id) cpus:" + node.cpus.map { " \($0)" }.joinedText())
            out.append("node \(node.id) size: \(node.memTotal >> 20) MB")
            out.append("node \(node.id) free: \(node.memFree >> 20) MB")
        }
        out.append("node distances:")
        out.append("node " + topology.nodes.map { padLeft("\($0.id)", 3) + " " }.joinedText())
        for node in topology.nodes {
            out.append(padLeft("\(node.id)", 3) + ": " + node.distances.map { padLeft("\($0)", 3) + " " }.joinedText())
        }
        out.append("")
        out.append("possible nodes: \(orNone(topology.possibleNodes))")
        out.append("nodes with cpus: \(orNone(topology.nodesWithCPU))")
        out.append("nodes with memory: \(orNone(topology.nodesWithMemory))")
        out.append("memory-only nodes (no cpus): \(orNone(topology.memoryOnlyNodes))")
        out.append("cpu-only nodes (no memory): \(orNone(topology.cpuOnlyNodes))")
        out.append("online cpus: \(orNone(topology.onlineCPUs))")
        out.append("isolated cpus: \(orNone(topology.isolatedCPUs))")
        out.append("nohz_full cpus: \(orNone(topology.nohzFullCPUs))")
        out.append("huge pages:")
        var anyPool = false
        for node in topology.nodes {
            for pool in node.hugePages {
                anyPool = true
                out.append("  node \(node.id) \(pool.sizeKiB) kB: \(pool.total) total, \(pool.free) free, \(pool.surplus) surplus")
            }
        }
        if !anyPool { out.append("  none") }
        return out.joinedText(separator: "\n") + "\n"
    }

    static func orNone(_ set: IDSet) -> String { set.isEmpty ? "none" : set.listString }
}

/// `numaguard inspect` as text: one block per process.
public enum InspectText {
    public static func render(_ report: InspectReport) -> String {
        var out: [String] = []
        let process = report.process
        out.append("PID \(process.pid) (\(process.comm))" + (process.exe.map { " \($0)" } ?? ""))
        if !process.cmdline.isEmpty { out.append("  cmdline: \(process.cmdline.joinedText(separator: " "))") }
        if let cgroup = process.cgroup { out.append("  cgroup: \(cgroup)") }
        out.append("  verdict: \(report.verdict)")
        out.append("  cpus allowed: \(report.cpusAllowed.listString) (nodes \(TopologyText.orNone(report.cpusAllowedNodes)))")
        out.append("  mems allowed: \(report.memsAllowed.listString)")
        out.append("  threads (last cpu -> node):")
        for thread in report.threads {
            let node = thread.node.map { "node \($0)" } ?? "node ?"
            var line = "    \(thread.tid) \(thread.comm): cpu \(thread.lastCPU) -> \(node)"
            if let allowed = thread.cpusAllowed, allowed != report.cpusAllowed { line += " (own affinity \(allowed.listString))" }
            out.append(line)
        }
        if let memory = report.memory {
            let columns = memory.total.columns
            out.append("  memory per node (MiB, numastat -p categories):")
            out.append(table(columns: columns, rows: [
                ("Huge", memory.huge), ("Heap", memory.heap), ("Stack", memory.stack),
                ("Private", memory.private), ("Total", memory.total),
            ]))
            if let backing = report.backing {
                out.append("  by backing (MiB):")
                out.append(table(columns: columns, rows: [
                    ("Anonymous", backing.anonymous), ("File-backed", backing.file), ("Mixed", backing.mixed),
                ]))
            }
            out.append("  memory policies in force:")
            for row in report.policies {
                let where_ = row.bytes.columns.filter { row.bytes[$0] > 0 }
                    .map { "node \($0) \(Size.mebibytes(row.bytes[$0])) MiB" }.joinedText(separator: ", ")
                out.append("    \(row.policy.kernelSpelling): \(row.mappings) mapping\(row.mappings == 1 ? "" : "s")"
                           + (where_.isEmpty ? ", no pages" : ", \(where_)"))
            }
        }
        for note in report.notes { out.append("  note: \(note)") }
        return out.joinedText(separator: "\n") + "\n"
    }

    static func table(columns: [Int], rows: [(String, PerNode)]) -> String {
        var lines: [String] = []
        lines.append("    " + pad("", 12) + columns.map { padLeft("Node \($0)", 12) }.joinedText() + padLeft("Total", 12))
        for (label, values) in rows {
            lines.append("    " + pad(label, 12) + columns.map { padLeft(Size.mebibytes(values[$0]), 12) }.joinedText()
                         + padLeft(Size.mebibytes(values.total), 12))
        }
        return lines.joinedText(separator: "\n")
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

extension Array where Element == String {
    /// The elements with `separator` between them, built in one String here: the standard
    /// library's `joined` was entered unspecialized by the static front and looked up its
    /// collection's associated types at every call (~7k instructions each; a small inspect's
    /// text made 16 calls, a tenth of its start-up).
    func joinedText(separator: String = "") -> String {
        var text = ""
        for index in indices {
            if index > 0 { text += separator }
            text += self[index]
        }
        return text
    }
}
