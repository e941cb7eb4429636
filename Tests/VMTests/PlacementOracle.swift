import Foundation
import TestSupport
import XCTest

/// Assertions shared by the VM tests: numaguard's output inside a guest against the kernel's
/// files and numactl/numastat run in the same guest.
enum PlacementOracle {
    static func assertTopologyAgrees(_ guest: Guest, nodes: [Int], cpus: [Int: String], memoryOnly: String,
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let document = try guest.json("topology.json")
        let topology = try XCTUnwrap(document["topology"] as? [String: Any], file: file, line: line)
        let reported = try XCTUnwrap(topology["nodes"] as? [[String: Any]], file: file, line: line)
        XCTAssertEqual(reported.compactMap { $0["id"] as? Int }, nodes, "node ids", file: file, line: line)
        for node in reported {
            let id = node["id"] as? Int ?? -1
            XCTAssertEqual(node["cpus"] as? String, cpus[id] ?? "", "node \(id) cpus", file: file, line: line)
        }
        XCTAssertEqual(topology["memory_only_nodes"] as? String ?? memoryOnlyFromSets(topology), memoryOnly,
                       "memory-only nodes", file: file, line: line)

        // numactl --hardware in the same guest: node list, CPUs, sizes and the distance matrix.
        let numactl = Oracle.numactlHardware(try guest.text("numactl-hardware.txt"))
        let ours = Oracle.numactlHardware(try guest.text("topology.txt"))
        XCTAssertEqual(ours.nodes, numactl.nodes, file: file, line: line)
        XCTAssertEqual(ours.cpus, numactl.cpus, file: file, line: line)
        XCTAssertEqual(ours.sizeMB, numactl.sizeMB, file: file, line: line)
        XCTAssertEqual(ours.distances, numactl.distances, file: file, line: line)
        // And the kernel's own distance files, row by row.
        for row in try guest.text("distances.txt").split(separator: "\n") {
            let numbers = row.split(separator: " ").compactMap { Int($0) }
            guard let id = numbers.first else { continue }
            let node = reported.first { $0["id"] as? Int == id }
            XCTAssertEqual(node?["distances"] as? [Int], Array(numbers.dropFirst()), "node \(id) distances", file: file, line: line)
        }
    }

    /// The JSON only carries the sets; derive memory-only nodes as numaguard's text does.
    private static func memoryOnlyFromSets(_ topology: [String: Any]) -> String {
        func set(_ key: String) -> Set<Int> {
            Set((topology[key] as? String ?? "").split(separator: ",").flatMap { part -> [Int] in
                let bounds = part.split(separator: "-").compactMap { Int($0) }
                return bounds.count == 2 ? Array(bounds[0]...bounds[1]) : bounds
            })
        }
        return set("nodes_with_memory").subtracting(set("nodes_with_cpus")).sorted().map(String.init).joined(separator: ",")
    }

    /// One inspected probe: its report, with its numastat -p and numa_maps recorded at the same time.
    struct Probe {
        let report: [String: Any]
        let numastatText: String
        let numaMaps: String

        var policies: [String] {
            (report["policies"] as? [[String: Any]] ?? []).compactMap { ($0["policy"] as? [String: Any])?["kernel"] as? String }
        }

        func anonymousShare(on node: Int) -> Double {
            let anonymous = (report["backing"] as? [String: Any])?["anonymous"] as? [String: Int] ?? [:]
            guard let total = anonymous["total"], total > 0 else { return 0 }
            return Double(anonymous["\(node)"] ?? 0) / Double(total)
        }

        var anonymousBytes: Int { ((report["backing"] as? [String: Any])?["anonymous"] as? [String: Int])?["total"] ?? 0 }
    }

    static func probe(_ guest: Guest, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Probe {
        XCTAssertEqual(try guest.text("inspect-\(name).status").trimmingCharacters(in: .whitespacesAndNewlines), "0",
                       "inspect \(name) exit status; stderr: \((try? guest.text("inspect-\(name).err")) ?? "")", file: file, line: line)
        let document = try guest.json("inspect-\(name).json")
        let processes = try XCTUnwrap(document["processes"] as? [[String: Any]], file: file, line: line)
        XCTAssertEqual(processes.count, 1, file: file, line: line)
        let probe = Probe(report: try XCTUnwrap(processes.first, file: file, line: line),
                          numastatText: try guest.text("numastat-\(name).txt"),
                          numaMaps: try guest.text("numa_maps-\(name)"))
        try assertNumastatAgrees(probe, name, file: file, line: line)
        try assertPoliciesMatchNumaMaps(probe, name, file: file, line: line)
        return probe
    }

    static func assertNumastatAgrees(_ probe: Probe, _ name: String, file: StaticString, line: UInt) throws {
        let categories = try XCTUnwrap(probe.report["numastat"] as? [String: [String: Int]], file: file, line: line)
        Oracle.assertNumastatAgrees(probe.numastatText, name, bytes: { Oracle.jsonFigure(categories, $0, $1) }, file: file, line: line)
    }

    /// Every policy numa_maps shows is listed by numaguard, in the kernel's own spelling.
    static func assertPoliciesMatchNumaMaps(_ probe: Probe, _ name: String, file: StaticString, line: UInt) throws {
        var kernelPolicies = Set<String>()
        for mappingLine in probe.numaMaps.split(separator: "\n") {
            let rest = mappingLine.drop { $0 != " " }.dropFirst()
            if rest.hasPrefix("prefer (many)") || rest.hasPrefix("weighted interleave") {
                let words = rest.split(separator: " ", maxSplits: 2)
                kernelPolicies.insert(words.prefix(2).joined(separator: " "))
            } else if let word = rest.split(separator: " ").first {
                kernelPolicies.insert(String(word))
            }
        }
        XCTAssertEqual(Set(probe.policies), kernelPolicies, "\(name): policies vs numa_maps", file: file, line: line)
    }
}
