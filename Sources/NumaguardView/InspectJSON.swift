import NumaguardCore
import NumaguardOutput

/// `inspect --format json` written by hand (`JSONTree`): the same document as the
/// `Encodable` conformances in InspectReport.swift and Documents.swift give, byte for byte
/// (DocumentEncodingTests compares the two), without the Codable machinery's run-time cost in the
/// static front. Optional members are left out when nil, as synthesized `Encodable` leaves
/// them out.
extension InspectDocument {
    public var jsonDocument: String {
        JSONTree.document(kind: .inspect, [
            .init("failures", .array(failures.map { $0.json })),
            .init("processes", .array(processes.map { $0.json })),
        ])
    }
}

extension InspectDocument.Failure {
    var json: JSONTree {
        .object(present(.init("pid", pid.map(JSONTree.int)), .init("kind", .string(kind.rawValue)), .init("error", .string(error))))
    }
}

extension InspectReport {
    var json: JSONTree {
        .object(present(
            .init("process", process.json),
            .init("cpus_allowed", .string(cpusAllowed.listString)),
            .init("cpus_allowed_nodes", .string(cpusAllowedNodes.listString)),
            .init("mems_allowed", .string(memsAllowed.listString)),
            .init("threads", .array(threads.map { $0.json })),
            .init("numastat", memory?.json),
            .init("backing", backing?.json),
            .init("policies", .array(policies.map { $0.json })),
            .init("verdict", .string(verdict)),
            .init("notes", .array(notes.map(JSONTree.string)))
        ))
    }
}

extension InspectReport.ProcessInfo {
    var json: JSONTree {
        .object(present(
            .init("pid", .int(pid)), .init("start_time_ticks", .uint(startTime)), .init("comm", .string(comm)),
            .init("exe", exe.map(JSONTree.string)), .init("cmdline", .array(cmdline.map(JSONTree.string))),
            .init("uid", uid.map(JSONTree.int)), .init("cgroup", cgroup.map(JSONTree.string))
        ))
    }
}

extension InspectReport.ThreadRow {
    var json: JSONTree {
        .object(present(
            .init("tid", .int(tid)), .init("comm", .string(comm)), .init("last_cpu", .int(lastCPU)),
            .init("node", node.map(JSONTree.int)), .init("cpus_allowed", cpusAllowed.map { .string($0.listString) })
        ))
    }
}

extension InspectReport.NumastatCategories {
    var json: JSONTree {
        .object([.init("huge", huge.json), .init("heap", heap.json), .init("stack", stack.json),
                 .init("private", `private`.json), .init("total", total.json)])
    }
}

extension InspectReport.Backing {
    var json: JSONTree {
        .object([.init("anonymous", anonymous.json), .init("file", file.json), .init("mixed", mixed.json)])
    }
}

extension InspectReport.PolicyRow {
    var json: JSONTree {
        .object([
            .init("policy", .object([
                .init("mode", .string(policy.mode.rawValue)), .init("nodes", .string(policy.nodes.listString)),
                .init("kernel", .string(policy.kernelSpelling)), .init("static_nodes", .bool(policy.staticNodes)),
                .init("relative_nodes", .bool(policy.relativeNodes)), .init("balancing", .bool(policy.balancing)),
            ])),
            .init("mappings", .int(mappings)),
            .init("bytes", bytes.json),
        ])
    }
}

extension PerNode {
    var json: JSONTree {
        var members: [JSONTree.Member] = []
        for index in nodes.indices { members.append(.init("\(nodes[index])", .int(values[index]))) }
        members.append(.init("total", .int(total)))
        return .object(members)
    }
}

/// A member whose value may be absent (an optional property, which synthesized `Encodable`
/// leaves out when nil).
struct OptionalMember {
    var key: String
    var value: JSONTree?
    init(_ key: String, _ value: JSONTree?) {
        self.key = key
        self.value = value
    }
}

/// The members whose value is present, in the order given.
func present(_ members: OptionalMember...) -> [JSONTree.Member] {
    var kept: [JSONTree.Member] = []
    for member in members { if let value = member.value { kept.append(.init(member.key, value)) } }
    return kept
}
