import Foundation
@testable import NumaguardPolicy
import TestSupport
import XCTest

/// The JSON Schema shipped for editors is the text `numaguard policy schema` prints, is valid
/// JSON, and agrees with the loader: what loads validates, and what the schema can tell is
/// wrong is refused by both.
final class PolicySchemaTests: XCTestCase {
    static var schemaPath: String { PolicyText.shipped("numaguard-policy.schema.json") }

    func testShippedFileIsTheEmbeddedSchema() throws {
        let file = try String(contentsOfFile: Self.schemaPath, encoding: .utf8)
        XCTAssertEqual(file, PolicySchema.json, "policies/numaguard-policy.schema.json and PolicySchema.swift differ")
        XCTAssertTrue(PolicySchema.json.hasSuffix("}\n"))
    }

    func testSchemaIsJSONDescribingEveryKeyTheLoaderKnows() throws {
        let object = try JSONSerialization.jsonObject(with: Data(PolicySchema.json.utf8))
        let schema = try XCTUnwrap(object as? [String: Any])
        XCTAssertEqual(schema["$schema"] as? String, "https://json-schema.org/draft/2020-12/schema")
        XCTAssertEqual(schema["additionalProperties"] as? Bool, false)
        func properties(_ node: Any?, _ path: [String]) -> [String: Any]? {
            var node = node as? [String: Any]
            for key in path { node = (node?[key] as? [String: Any]) }
            return node?["properties"] as? [String: Any]
        }
        func keys(_ path: String...) -> [String] { (properties(schema, path)?.keys).map { $0.sorted() } ?? [] }
        XCTAssertEqual(keys(), PolicyLoader.topKeys.sorted())
        XCTAssertEqual(keys("properties", "host"), PolicyLoader.hostKeys.sorted())
        XCTAssertEqual(keys("properties", "host", "properties", "kernel"), PolicyLoader.kernelKeys.sorted())
        XCTAssertEqual(keys("properties", "host", "properties", "topology"), PolicyLoader.topologyKeys.sorted())
        XCTAssertEqual(keys("properties", "workloads", "items"), PolicyLoader.workloadKeys.sorted())
        XCTAssertEqual(keys("properties", "workloads", "items", "properties", "match"), PolicyLoader.matchKeys.sorted())
        XCTAssertEqual(keys("properties", "workloads", "items", "properties", "memory"), PolicyLoader.memoryKeys.sorted())
        let memory = properties(schema, ["properties", "workloads", "items", "properties", "memory"])
        XCTAssertEqual((memory?["policy"] as? [String: Any])?["enum"] as? [String], PolicyLoader.memoryModes)
        let kernel = properties(schema, ["properties", "host", "properties", "kernel"])
        XCTAssertEqual((kernel?["numa_balancing"] as? [String: Any])?["enum"] as? [String], NumaBalancing.allCases.map(\.rawValue))
        // Every "additionalProperties" in the schema is false or a schema, never left open.
        XCTAssertFalse(PolicySchema.json.contains("\"additionalProperties\": true"))
    }

    // MARK: validation with python3-jsonschema, when it is installed

    /// YAML read as YAML 1.2 core (as editors do): off and 2026-12-31 stay strings; then
    /// validated with jsonschema's draft 2020-12 validator. Prints one line per document.
    static let validator = #"""
        import json, re, sys, yaml, jsonschema
        class Core(yaml.SafeLoader): pass
        Core.yaml_implicit_resolvers = {}
        Core.add_implicit_resolver('tag:yaml.org,2002:bool', re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'), list('tTfF'))
        Core.add_implicit_resolver('tag:yaml.org,2002:int', re.compile(r'^[-+]?[0-9]+$'), list('-+0123456789'))
        Core.add_implicit_resolver('tag:yaml.org,2002:float', re.compile(r'^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$'), list('-+0123456789.'))
        Core.add_implicit_resolver('tag:yaml.org,2002:null', re.compile(r'^(?:~|null|Null|NULL|)$'), ['~', 'n', 'N', ''])
        Core.add_constructor('tag:yaml.org,2002:int', lambda loader, node: int(loader.construct_scalar(node), 10))
        def jsonable(value):
            if isinstance(value, dict): return {str(k).lower() if isinstance(k, bool) else str(k): jsonable(v) for k, v in value.items()}
            if isinstance(value, list): return [jsonable(v) for v in value]
            return value
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        for path in sys.argv[2:]:
            document = jsonable(yaml.load(open(path), Loader=Core))
            errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
            name = path.rsplit('/', 1)[-1]
            print('VALID ' + name if not errors else 'INVALID ' + name + ': ' + '; '.join(
                '/'.join(map(str, e.absolute_path)) + ' ' + e.message[:120] for e in errors[:3]))
        """#

    /// The python3 (on PATH first, then the system one) that has jsonschema and PyYAML, as a command.
    private func requireJSONSchema() throws -> [String] {
        for command in [["/usr/bin/env", "python3"], ["/usr/bin/python3"]] {
            let probe = try? Command.run(command[0], Array(command.dropFirst()) + ["-c", "import jsonschema, yaml"])
            if probe?.status == 0 { return command }
        }
        throw XCTSkip("python3 with jsonschema and PyYAML is not available (pip install jsonschema pyyaml); schema validation not run")
    }

    /// Validates each (name, text) with the schema: name -> "VALID" or the first errors.
    private func validate(_ documents: [(String, String)]) throws -> [String: String] {
        let python = try requireJSONSchema()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for (name, text) in documents {
            let path = directory.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let result = try Command.run(python[0], Array(python.dropFirst()) + ["-c", Self.validator, Self.schemaPath] + paths)
        XCTAssertEqual(result.status, 0, result.stderr)
        var verdicts: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1)
            guard words.count == 2 else { continue }
            let rest = String(words[1])
            let name = String(rest.prefix { $0 != ":" })
            verdicts[name] = words[0] == "VALID" ? "VALID" : String(line)
        }
        return verdicts
    }

    func testShippedPoliciesValidateAgainstTheSchema() throws {
        let names = ["batch-isolation.yaml", "latency-baseline.yaml", "trading-host.yaml"]
        let documents = try names.map { ($0, try String(contentsOfFile: PolicyText.shipped($0), encoding: .utf8)) }
        let verdicts = try validate(documents)
        for name in names { XCTAssertEqual(verdicts[name], "VALID", name) }
    }

    /// Documents the loader accepts; the schema must accept them too.
    static let accepted: [String] = [
        "version: 1\n",
        "version: \"1\"\nhost: {kernel: {numa_balancing: \"off\", zone_reclaim_mode: \"1\", transparent_hugepage: madvise}}\n",
        "version: 1\nhost:\n  topology: {nodes: 4, cpus: {0: 0, 1: \"1-3\", 2: [4, 5]}, min_memory: {0: 1 GiB, 1: 4096, 2: 0.5TiB}, distances: {0: [10, 21]}}\n",
        "version: 1\nhost:\n  hugepages: [{node: 1, size: 1GiB, count: 0}]\n  headroom: [{node: 0, min_free: 0.5%}, {node: 1, min_free: 64GiB}, {node: 2, min_free: 1.5x protected}]\n",
        "version: 1\nworkloads:\n  - name: a_b-1\n    match: {comm: abcdefghijklmno, user: \"1000\", cgroup: /system.slice, systemd_unit: a.service}\n    protected: false\n    running: {max: 3}\n    cpus: {cpulist: \"2-15\"}\n    memory: {policy: weighted-interleave, nodes: \"0-1\", allow_interleave: true, scan: false, max_remote: 100%}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {exe: /bin/a}\n    memory: {policy: default}\n  - name: b\n    match: {cmdline: \"^b( |$)\"}\n    cpus: {nodes: 1}\n    memory: {policy: preferred, nodes: 1}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\nreserve:\n  - {node: 0, for: [a]}\nwaivers:\n  - {check: workload.a.*, reason: \"r\", expires: 2028-02-29}\n",
        "version: 1\nwatch: {interval: 500ms, regimes: {watch: {hint_faults_per_s: 0}, shock: {pages_migrated_per_s: 1e3, remote_fault_ratio: \"0.5\"}, dwell: 5m}}\n",
        "version: 1\nwatch: {numa_maps_period: 30s, listen: 9464, regimes: {safe: {migration_failures_per_s: 5}, exit: 40%}}\n",
        "version: 1\nwatch: {listen: \"127.0.0.1:9100\", regimes: {exit: 100%}}\n",
        "version: 1\nwatch: {numa_maps: true, numa_maps_period: 5m}\n",
        "version: 1\nwatch: {numa_maps: \"false\", numa_maps_period: 1s}\n",
        "version: 1\nwatch: {listen: \"localhost:80\", regimes: {exit: 0.5%}}\n",
        "version: 1\nwatch: {isolation_period: 30s}\n",
    ]

    /// Documents both the loader and the schema refuse.
    static let refused: [String] = [
        "host: {}\n",
        "version: 2\n",
        "version: 1\nworkload: []\n",
        "version: 1\nworkloads: []\n",
        "version: 1\nhost: {forbid_processes: []}\n",
        "version: 1\nhost: {kernel: {numa_balancing: of}}\n",
        "version: 1\nhost: {kernel: {numa_balancing: false}}\n",
        "version: 1\nhost: {kernel: {numa_balance: off}}\n",
        "version: 1\nhost: {kernel: {zone_reclaim_mode: 9}}\n",
        "version: 1\nhost: {hugepages: [{node: 0, size: 1GB, count: 1}]}\n",
        "version: 1\nhost: {hugepages: [{node: 0, size: 2MiB}]}\n",
        "version: 1\nhost: {headroom: [{node: 0, min_free: 150%}]}\n",
        "version: 1\nhost: {headroom: [{node: 0, min_free: 0x protected}]}\n",
        "version: 1\nhost: {topology: {min_memory: {0: abc}}}\n",
        "version: 1\nhost: {topology: {cpus: {0: \"0-\"}}}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind, nodes: [0], max_remote: 1}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind, nodes: []}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: interleave, nodes: [0, 1]}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    cpus: {nodes: [0], cpulist: \"0-3\"}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: abcdefghijklmnop}\n",
        "version: 1\nworkloads:\n  - name: a.b\n    match: {comm: a}\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    protected: yes\n",
        "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    running: {}\n",
        "version: 1\nwaivers:\n  - {check: kernel.thp, reason: r, expires: 2026-12-31}\n",
        "version: 1\nwaivers:\n  - {check: host.x, reason: r, expires: 2026-13-01}\n",
        "version: 1\nwaivers:\n  - {check: host.x, reason: r}\n",
        "version: 1\nwatch: {interval: 0s}\n",
        "version: 1\nwatch: {regimes: {shock: {remote_fault_ratio: -1}}}\n",
        "version: 1\nwatch: {regimes: {exit: 0%}}\n",
        "version: 1\nwatch: {regimes: {exit: 0.00 %}}\n",
        "version: 1\nwatch: {regimes: {safe: {failures: 1}}}\n",
        "version: 1\nwatch: {numa_maps_period: 0s}\n",
        "version: 1\nwatch: {isolation_period: 0s}\n",
        "version: 1\nwatch: {numa_maps: yes}\n",
        "version: 1\nwatch: {listen: \"example.com:80\"}\n",
        "version: 1\nwatch: {listen: \"127.0.0.19464\"}\n",
    ]

    func testLoaderAndSchemaAgree() throws {
        var documents: [(String, String)] = []
        for (index, text) in Self.accepted.enumerated() {
            XCTAssertNotNil(PolicyText.loads(text), text)
            documents.append(("accepted-\(index).yaml", text))
        }
        for (index, text) in Self.refused.enumerated() {
            XCTAssertFalse(PolicyText.diagnostics(text).isEmpty, text)
            documents.append(("refused-\(index).yaml", text))
        }
        let verdicts = try validate(documents)
        for (index, text) in Self.accepted.enumerated() {
            XCTAssertEqual(verdicts["accepted-\(index).yaml"], "VALID", "the schema refuses what the loader accepts:\n\(text)")
        }
        for (index, text) in Self.refused.enumerated() {
            let verdict = verdicts["refused-\(index).yaml"]
            XCTAssertNotNil(verdict, text)
            XCTAssertNotEqual(verdict, "VALID", "the schema accepts what the loader refuses:\n\(text)")
        }
    }
}
