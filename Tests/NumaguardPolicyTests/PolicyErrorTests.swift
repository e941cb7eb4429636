import NumaguardCore
import NumaguardOutput
@testable import NumaguardPolicy
import XCTest

/// Every class of mistake a policy can hold comes back located to file:line:col with the
/// offending line, a caret under the column, and a suggestion when a near spelling exists.
/// (The CLI turns these into exit 78; that contract is tested with the CLI.)
final class PolicyErrorTests: XCTestCase {
    // MARK: YAML itself

    func testYAMLSyntaxError() {
        assertPolicyError("version: 1\nhost:\n  kernel: {numa_balancing: off\n  topology: {nodes: 2}\n",
                          line: 4, column: 11, "invalid YAML", "did not find expected ',' or '}'")
        assertPolicyError("version: 1\nhost:\n\tkernel: {}\n", line: 3, column: 1, "invalid YAML", "cannot start any token")
        assertPolicyError("version: 1\nworkloads:\n  - name: \"unterminated\n", line: 4, column: 1, "invalid YAML")
    }

    /// A double-quoted scalar can hold any character: an escape sequence or a bidi override in
    /// a key reaches the message and the quoted line only as `\xHH`/`\u{hhhh}`; the author's
    /// backslashes and tabs stay as written.
    func testDiagnosticsCannotSteerTheTerminal() {
        let text = "version: 1\n\"\\e[2J\\u202Ex\": 1\n\"\\e[2J\\u202Ex\": 2\nworkloads:\n  - {name: a, match: {comm: \"a\\\\d(\"}}\n"
        let rendered = PolicyText.diagnostics(text).map(\.description).joined(separator: "\n")
        XCTAssertTrue(rendered.contains("duplicate key \"\\x1b[2J\\u{202e}x\""), rendered)
        XCTAssertFalse(rendered.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E }, rendered)
        XCTAssertTrue(rendered.contains("\"\\e[2J\\u202Ex\": 2"), "the source line as written: \(rendered)")
        XCTAssertEqual(UntrustedText.escaped("a\tb\\c\u{1B}", authored: true), "a\tb\\c\\x1b")
        XCTAssertEqual(UntrustedText.escaped("a\tb\\c"), "a\\x09b\\x5cc")
    }

    func testTwoDocumentsAreRefused() {
        assertPolicyError("version: 1\n---\nversion: 1\n", line: 2, column: 1, "invalid YAML", "another document")
    }

    func testUndefinedAliasIsASyntaxError() {
        assertPolicyError("version: 1\nhost: &h\n  kernel: *h\n", line: 3, column: 11, "invalid YAML", "undefined alias")
    }

    func testEmptyAndNonMappingDocuments() {
        assertPolicyError("", line: 1, column: 1, "the policy is empty", "version: 1")
        assertPolicyError("# only a comment\n", line: 1, column: 1, "the policy is empty")
        assertPolicyError("- version: 1\n", line: 1, column: 1, "the policy must be a mapping with keys version, host, workloads")
        assertPolicyError("version: 1\n? [a, b]\n: 1\n", line: 2, column: 3, "the policy has a key that is not a plain word")
    }

    // MARK: duplicate keys point at the second occurrence

    func testDuplicateBlockKeyPointsAtTheSecondOccurrence() {
        assertPolicyError("version: 1\nhost:\n  kernel:\n    numa_balancing: off\n    zone_reclaim_mode: 0\n    numa_balancing: normal\n",
                          line: 6, column: 5, "duplicate key \"numa_balancing\" (first at line 4, column 5)")
        assertPolicyError("version: 1\nversion: 1\n", line: 2, column: 1, "duplicate key \"version\" (first at line 1, column 1)")
        // The first key of the mapping is not the duplicated one: still the second occurrence.
        assertPolicyError("version: 1\nhost:\n  kernel:\n    zone_reclaim_mode: 0\n    numa_balancing: off\n    numa_balancing: normal\n",
                          line: 6, column: 5, "duplicate key \"numa_balancing\" (first at line 5, column 5)")
    }

    func testDuplicateKeySkipsNestedKeysOfTheSameName() {
        // watch.regimes.watch is not the duplicate of the top-level watch.
        let text = "watch:\n  interval: 1s\n  regimes:\n    watch: {hint_faults_per_s: 1}\nwatch: {interval: 2s}\nversion: 1\n"
        assertPolicyError(text, line: 5, column: 1, "duplicate key \"watch\" (first at line 1, column 1)")
    }

    func testDuplicateKeyInAWorkloadItem() {
        let text = "version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    name: b\n"
        assertPolicyError(text, line: 5, column: 5, "duplicate key \"name\" (first at line 3, column 5)")
    }

    func testDuplicateFlowKeyAndQuotedKey() {
        assertPolicyError("version: 1\nhost:\n  kernel: {numa_balancing: off, numa_balancing: normal}\n",
                          line: 3, column: 33, "duplicate key \"numa_balancing\" (first at line 3, column 12)")
        assertPolicyError("version: 1\nhost:\n  kernel: {numa_balancing: off,\n    numa_balancing: normal}\n",
                          line: 4, column: 5, "duplicate key \"numa_balancing\" (first at line 3, column 12)")
        assertPolicyError("version: 1\n\"version\": 1\n", line: 2, column: 1, "duplicate key \"version\" (first at line 1, column 1)")
    }

    // MARK: unknown keys, with the nearest valid one

    func testUnknownKeysSuggestTheNearestValidKey() {
        assertPolicyError("version: 1\nhost:\n  kernel:\n    numa_balance: off\n",
                          line: 4, column: 5, "unknown key \"numa_balance\" in host.kernel", suggestion: "numa_balancing")
        assertPolicyError("version: 1\nworkload:\n  - name: a\n    match: {comm: a}\n",
                          line: 2, column: 1, "unknown key \"workload\" in the policy", suggestion: "workloads")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a, systemd_unt: a.service}\n",
                          line: 4, column: 22, "unknown key \"systemd_unt\" in workload a.match", suggestion: "systemd_unit")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind, nodes: [0], max_remot: 1%}\n",
                          line: 5, column: 40, "unknown key \"max_remot\" in workload a.memory", suggestion: "max_remote")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\nreserve:\n  - {node: 0, for: [a], max_foreign_memroy: 1GiB}\n",
                          line: 6, column: 25, "unknown key \"max_foreign_memroy\" in reserve[0]", suggestion: "max_foreign_memory")
        // A misspelt required key is reported twice: as unknown, and as missing.
        let diagnostics = PolicyText.diagnostics("version: 1\nreserve:\n  - {node: 0, fro: [a]}\n")
        XCTAssertEqual(diagnostics.map(\.message), ["unknown key \"fro\" in reserve[0]", "reserve[0] needs \"for\""])
        XCTAssertEqual(diagnostics.first?.suggestion, "for")
    }

    func testUnknownKeyFarFromEveryValidOneHasNoSuggestion() {
        assertPolicyError("version: 1\nfrobnicate: true\n", line: 2, column: 1, "unknown key \"frobnicate\" in the policy")
    }

    // MARK: empty lists assert nothing

    func testEmptyListsAreRefused() {
        assertPolicyError("version: 1\nhost:\n  forbid_processes: []\n",
                          line: 3, column: 21, "host.forbid_processes is an empty list: it would assert nothing")
        assertPolicyError("version: 1\nworkloads: []\n", line: 2, column: 12, "workloads is an empty list: it would assert nothing")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind, nodes: []}\n",
                          line: 5, column: 35, "workload a.memory.nodes is an empty list: it would assert nothing")
        assertPolicyError("version: 1\nreserve: []\n", line: 2, column: 10, "reserve is an empty list")
        assertPolicyError("version: 1\nwaivers: []\n", line: 2, column: 10, "waivers is an empty list")
        assertPolicyError("version: 1\nhost:\n  kernel:\n    cmdline: {require: []}\n",
                          line: 4, column: 24, "host.kernel.cmdline.require is an empty list")
        assertPolicyError("version: 1\nhost:\n  topology: {cpus: {}}\n", line: 3, column: 20, "host.topology.cpus is empty: it would assert nothing")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    cpus: {cpulist: \"\"}\n",
                          line: 5, column: 21, "workload a.cpus.cpulist is empty")
    }

    func testEmptyMatchAndRunningAreRefused() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {}\n",
                          line: 4, column: 12, "workload a.match is empty: it would match every process")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    running: {}\n",
                          line: 5, column: 14, "workload a.running needs min or max")
    }

    // MARK: sizes, percents, durations, dates

    func testBadSizes() {
        assertPolicyError("version: 1\nhost:\n  hugepages: [{node: 0, size: 1GB, count: 1}]\n",
                          line: 3, column: 31, "host.hugepages[0].size", "\"1GB\" is ambiguous", "KiB, MiB, GiB, TiB")
        assertPolicyError("version: 1\nhost:\n  topology: {min_memory: {0: 120G}}\n",
                          line: 3, column: 30, "\"120G\" is ambiguous")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\nreserve:\n  - {node: 0, for: [a], max_foreign_memory: abc}\n",
                          line: 6, column: 45, "reserve[0].max_foreign_memory: \"abc\" is not a size")
        assertPolicyError("version: 1\nhost:\n  topology: {min_memory: {0: -1GiB}}\n", line: 3, column: 30, "\"-1GiB\" is not a size")
        assertPolicyError("version: 1\nhost:\n  topology: {min_memory: {0: 1e3GiB}}\n", line: 3, column: 30, "\"1e3GiB\" is not a size")
        assertPolicyError("version: 1\nhost:\n  topology: {min_memory: {0: \"1 0GiB\"}}\n", line: 3, column: 30, "\"1 0GiB\" is not a size")
        assertPolicyError("version: 1\nhost:\n  hugepages: [{node: 0, size: 1.5KiB, count: 1}]\n",
                          line: 3, column: 31, "host.hugepages[0].size must be a whole number of KiB")
    }

    func testBadPercents() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind, nodes: [0], max_remote: 1}\n",
                          line: 5, column: 52, "workload a.memory.max_remote: \"1\" is not a percentage", "% sign")
        assertPolicyError("version: 1\nhost:\n  headroom: [{node: 0, min_free: 150%}]\n",
                          line: 3, column: 34, "host.headroom[0].min_free: \"150%\" is outside 0%...100%")
        assertPolicyError("version: 1\nhost:\n  headroom: [{node: 0, min_free: lots}]\n",
                          line: 3, column: 34, "\"lots\" is not a free-memory rule", "2x protected")
        assertPolicyError("version: 1\nhost:\n  headroom: [{node: 0, min_free: 0x protected}]\n",
                          line: 3, column: 34, "\"0x protected\" is not a free-memory rule")
        assertPolicyError("version: 1\nhost:\n  headroom: [{node: 0, min_free: infx protected}]\n",
                          line: 3, column: 34, "\"infx protected\" is not a free-memory rule")
    }

    func testBadDurations() {
        assertPolicyError("version: 1\nwatch: {interval: 0s}\n", line: 2, column: 19, "watch.interval: \"0s\" is not a duration")
        assertPolicyError("version: 1\nwatch: {interval: 1}\n", line: 2, column: 19, "\"1\" is not a duration")
        assertPolicyError("version: 1\nwatch: {regimes: {dwell: 1e400s}}\n", line: 2, column: 26, "watch.regimes.dwell: \"1e400s\" is not a duration")
        assertPolicyError("version: 1\nwatch: {regimes: {shock: {remote_fault_ratio: nan}}}\n",
                          line: 2, column: 47, "remote_fault_ratio must be a non-negative number")
        assertPolicyError("version: 1\nwatch: {regimes: {watch: {hint_faults_per_s: inf}}}\n",
                          line: 2, column: 46, "hint_faults_per_s must be a non-negative number")
    }

    func testWatchSettingsAddedForTheMonitor() {
        assertPolicyError("version: 1\nwatch: {numa_maps_period: 0s}\n", line: 2, column: 27, "watch.numa_maps_period: \"0s\" is not a duration")
        assertPolicyError("version: 1\nwatch: {regimes: {exit: 0%}}\n", line: 2, column: 25, "watch.regimes.exit must be above 0%")
        assertPolicyError("version: 1\nwatch: {regimes: {exit: 0.5}}\n", line: 2, column: 25, "watch.regimes.exit: \"0.5\" is not a percentage")
        assertPolicyError("version: 1\nwatch: {regimes: {safe: {migration_failures_per_s: -2}}}\n",
                          line: 2, column: 52, "migration_failures_per_s must be a non-negative number")
        assertPolicyError("version: 1\nwatch: {listen: \"example.com:9464\"}\n", line: 2, column: 17,
                          "watch.listen: \"example.com:9464\" is not a listen address: expected PORT or IPV4:PORT")
        assertPolicyError("version: 1\nwatch: {listen: 70000}\n", line: 2, column: 17, "port 70000 is outside 1...65535")
        assertPolicyError("version: 1\nwatch: {numa_map_period: 1m}\n", line: 2, column: 9, "unknown key \"numa_map_period\" in watch",
                          suggestion: "numa_maps_period")
        assertPolicyError("version: 1\nwatch: {regimes: {saf: {}}}\n", line: 2, column: 19, "unknown key \"saf\" in watch.regimes",
                          suggestion: "safe")
    }

    // MARK: CPU and node lists

    func testBadCPUAndNodeLists() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    cpus: {cpulist: \"0-\"}\n",
                          line: 5, column: 21, "workload a.cpus.cpulist", "expected N or N-M", "\"0-\"")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    cpus: {cpulist: \"3-1\"}\n",
                          line: 5, column: 21, "workload a.cpus.cpulist", "descending")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    cpus: {nodes: [0, -1]}\n",
                          line: 5, column: 23, "workload a.cpus.nodes item must be a whole number in 0...65536, not \"-1\"")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind, nodes: \"0,,1\"}\n",
                          line: 5, column: 35, "workload a.memory.nodes", "empty element")
        assertPolicyError("version: 1\nhost:\n  topology: {cpus: {0: \"0-15\", x: \"16-31\"}}\n",
                          line: 3, column: 32, "host.topology.cpus key (a node number) must be a whole number")
        assertPolicyError("version: 1\nhost:\n  topology: {cpus: {0: \"0-99999\"}}\n",
                          line: 3, column: 24, "host.topology.cpus.0", "exceeds the largest supported id")
    }

    // MARK: enums

    func testWrongEnumValuesSuggestTheNearest() {
        assertPolicyError("version: 1\nhost:\n  kernel:\n    numa_balancing: of\n",
                          line: 4, column: 21, "host.kernel.numa_balancing must be one of off, normal, tiering, not \"of\"", suggestion: "off")
        assertPolicyError("version: 1\nhost:\n  kernel:\n    transparent_hugepage: madvice\n",
                          line: 4, column: 27, "must be one of always, madvise, never", suggestion: "madvise")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bnd, nodes: [0]}\n",
                          line: 5, column: 22, "workload a.memory.policy must be one of bind, preferred", suggestion: "bind")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    protected: yes\n",
                          line: 5, column: 16, "workload a.protected must be true or false, not \"yes\"")
    }

    func testNumaBalancingOffIsTheWordNotABoolean() throws {
        // YAML 1.1 resolves a plain off as false; the policy means the sysctl setting "off".
        for spelling in ["off", "\"off\"", "'off'"] {
            let policy = PolicyText.loads("version: 1\nhost:\n  kernel:\n    numa_balancing: \(spelling)\n")
            XCTAssertEqual(policy?.host.kernel.numaBalancing, .off, spelling)
            XCTAssertEqual(policy?.host.kernel.numaBalancing?.value, 0, spelling)
        }
        XCTAssertEqual(PolicyText.loads("version: 1\nhost: {kernel: {numa_balancing: tiering}}\n")?.host.kernel.numaBalancing, .tiering)
        // ...and the booleans YAML 1.1 would equate with it are not accepted for it.
        assertPolicyError("version: 1\nhost:\n  kernel:\n    numa_balancing: false\n",
                          line: 4, column: 21, "must be one of off, normal, tiering, not \"false\"")
        assertPolicyError("version: 1\nhost:\n  kernel:\n    numa_balancing: no\n",
                          line: 4, column: 21, "not \"no\"")
    }

    // MARK: version

    func testVersionMissingOrNotOne() {
        assertPolicyError("host:\n  kernel:\n    numa_balancing: off\n", line: 1, column: 1, "the policy needs \"version\"")
        assertPolicyError("version: 2\n", line: 1, column: 10, "version must be a whole number in 1...1, not \"2\"")
        assertPolicyError("version: one\n", line: 1, column: 10, "version must be a whole number")
        assertPolicyError("version: [1]\n", line: 1, column: 10, "version must be a single value")
    }

    // MARK: memory placement rules

    func testInterleaveNeedsAllowInterleave() throws {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: interleave, nodes: [0, 1]}\n",
                          line: 5, column: 22, "workload a.memory.policy interleave needs allow_interleave: true")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: weighted-interleave, nodes: [0, 1], allow_interleave: false}\n",
                          line: 5, column: 22, "weighted-interleave needs allow_interleave: true")
        let policy = PolicyText.loads("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: interleave, nodes: [0, 1], allow_interleave: true}\n")
        XCTAssertEqual(policy?.workloads.first?.memory, MemoryPlacement(mode: .interleave, nodes: IDSet([0, 1]), allowInterleave: true))
    }

    func testPreferredTakesOneNode() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: preferred, nodes: [0, 1]}\n",
                          line: 5, column: 40, "policy preferred takes one node; use preferred-many for several")
        let policy = PolicyText.loads("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: preferred-many, nodes: \"0-1\"}\n")
        XCTAssertEqual(policy?.workloads.first?.memory?.mode, .preferredMany)
    }

    func testNodesAreNeededUnlessLocalOrDefault() throws {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind}\n",
                          line: 5, column: 13, "workload a.memory with policy bind needs nodes")
        let policy = PolicyText.loads("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: local, scan: false}\n")
        XCTAssertEqual(policy?.workloads.first?.memory, MemoryPlacement(mode: .local, nodes: IDSet(), scan: false))
    }

    func testCPUsTakeNodesOrCpulistNotBoth() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    cpus: {nodes: [0], cpulist: \"0-3\"}\n",
                          line: 5, column: 11, "workload a.cpus takes nodes or cpulist, not both")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    cpus: {}\n",
                          line: 5, column: 11, "workload a.cpus needs nodes or cpulist")
    }

    func testRunningMinAboveMax() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: a}\n    running: {min: 3, max: 1}\n",
                          line: 5, column: 14, "workload a.running.min (3) is above max (1)")
    }

    // MARK: workloads against each other

    func testTwoWorkloadsClaimingTheSameProcessesWithDifferentPlacements() {
        let text = "version: 1\nworkloads:\n  - name: a\n    match: {comm: x}\n    cpus: {nodes: [0]}\n  - name: b\n    match: {comm: x}\n    cpus: {nodes: [1]}\n"
        assertPolicyError(text, line: 6, column: 5, "workloads \"a\" and \"b\" match the same processes with different placements")
        // The same placement twice is redundant, not contradictory.
        XCTAssertNotNil(PolicyText.loads("version: 1\nworkloads:\n  - name: a\n    match: {comm: x}\n    cpus: {nodes: [0]}\n  - name: b\n    match: {comm: x}\n    cpus: {nodes: \"0\"}\n"))
    }

    func testDuplicateWorkloadNames() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: x}\n  - name: a\n    match: {comm: y}\n",
                          line: 5, column: 5, "workload name \"a\" is used twice")
    }

    func testDuplicateNameIsLocatedEvenAfterARejectedWorkload() {
        // The first item fails; the duplicate is still reported on the third item, not the second.
        let text = "version: 1\nworkloads:\n  - name: bad\n    match: {}\n  - name: a\n    match: {comm: x}\n  - name: a\n    match: {comm: y}\n"
        let diagnostics = PolicyText.diagnostics(text)
        XCTAssertEqual(diagnostics.map { "\($0.line):\($0.column)" }, ["4:12", "7:5"], "\(PolicyErrors(diagnostics: diagnostics))")
        XCTAssertEqual(diagnostics.last?.message, "workload name \"a\" is used twice")
    }

    func testWorkloadNameBecomesPartOfCheckIDs() {
        assertPolicyError("version: 1\nworkloads:\n  - name: my.app\n    match: {comm: x}\n",
                          line: 3, column: 11, "workloads[0].name \"my.app\" may hold only letters, digits, - and _")
        assertPolicyError("version: 1\nworkloads:\n  - match: {comm: x}\n", line: 3, column: 5, "workloads[0] needs \"name\"")
    }

    func testReservationNamingAnUnknownWorkload() {
        let text = "version: 1\nworkloads:\n  - name: trading-engine\n    match: {comm: x}\nreserve:\n  - {node: 0, for: [trading-engin]}\n"
        assertPolicyError(text, line: 6, column: 5, "reserve[0] names workload \"trading-engin\", which the policy does not declare",
                          suggestion: "trading-engine")
        assertPolicyError("version: 1\nworkloads:\n  - name: trading-engine\n    match: {comm: x}\nreserve:\n  - {node: 0, for: [zz]}\n",
                          line: 6, column: 5, "names workload \"zz\"")
    }

    // MARK: waivers

    func testWaiverWithBadDate() {
        assertPolicyError("version: 1\nwaivers:\n  - {check: host.kernel.transparent_hugepage, reason: r, expires: 2026-02-30}\n",
                          line: 3, column: 67, "waivers[0].expires: \"2026-02-30\" is not a day of that month")
        assertPolicyError("version: 1\nwaivers:\n  - {check: host.x, reason: r, expires: 2026-13-01}\n",
                          line: 3, column: 41, "\"2026-13-01\" is not a date: expected YYYY-MM-DD")
        assertPolicyError("version: 1\nwaivers:\n  - {check: host.x, reason: r, expires: +202-01-01}\n",
                          line: 3, column: 41, "\"+202-01-01\" is not a date")
        assertPolicyError("version: 1\nwaivers:\n  - {check: host.x, reason: r, expires: 31/12/2026}\n",
                          line: 3, column: 41, "is not a date")
        let leap = PolicyText.loads("version: 1\nwaivers:\n  - {check: host.x, reason: r, expires: 2028-02-29}\n")
        XCTAssertEqual(leap?.waivers.first?.expires, Day(year: 2028, month: 2, day: 29))
        assertPolicyError("version: 1\nwaivers:\n  - {check: host.x, reason: r, expires: 2100-02-29}\n",
                          line: 3, column: 41, "not a day of that month")
    }

    func testWaiverWithBadCheckID() {
        assertPolicyError("version: 1\nwaivers:\n  - {check: kernel.thp, reason: r, expires: 2026-12-31}\n",
                          line: 3, column: 13, "waivers[0].check \"kernel.thp\" is not a check ID", "host., workload., node. or drift.")
        assertPolicyError("version: 1\nwaivers:\n  - {check: host.x, expires: 2026-12-31}\n",
                          line: 3, column: 5, "waivers[0] needs \"reason\"")
        let policy = PolicyText.loads("version: 1\nwaivers:\n  - {check: workload.batch.*, reason: r, expires: 2026-12-31}\n")
        XCTAssertEqual(policy?.waivers.first?.covers("workload.batch.memory.remote"), true)
        XCTAssertEqual(policy?.waivers.first?.covers("workload.batchy.memory"), false)
    }

    // MARK: match

    func testCommLongerThanTheKernelKeeps() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: abcdefghijklmnop}\n",
                          line: 4, column: 19, "workload a.match.comm \"abcdefghijklmnop\" is longer than the kernel's 15-byte comm")
        // 15 bytes is the limit, counted in UTF-8 bytes, not characters.
        XCTAssertNotNil(PolicyText.loads("version: 1\nworkloads:\n  - name: a\n    match: {comm: abcdefghijklmno}\n"))
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: ééééééééé}\n",
                          line: 4, column: 19, "is longer than the kernel's 15-byte comm")
    }

    func testInvalidCmdlineRegex() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {cmdline: \"foo([\"}\n",
                          line: 4, column: 27, "workload a.match.cmdline is not a valid regular expression: unclosed class")
    }

    // MARK: topology

    func testNodeBeyondTheDeclaredTopology() {
        assertPolicyError("version: 1\nhost:\n  topology: {nodes: 2}\nworkloads:\n  - name: a\n    match: {comm: a}\n    memory: {policy: bind, nodes: [3]}\n",
                          line: 7, column: 35, "workload a.memory.nodes uses node 3, but host.topology.nodes declares 2 nodes")
        assertPolicyError("version: 1\nhost:\n  topology: {nodes: 1}\nworkloads:\n  - name: a\n    match: {comm: a}\n    cpus: {nodes: \"0-1\"}\n",
                          line: 7, column: 19, "workload a.cpus.nodes uses node 1, but host.topology.nodes declares 1 node")
        assertPolicyError("version: 1\nhost:\n  topology: {nodes: 2}\nworkloads:\n  - name: a\n    match: {comm: a}\nreserve:\n  - {node: 2, for: [a]}\n",
                          line: 8, column: 12, "reserve[0].node uses node 2")
        assertPolicyError("version: 1\nhost:\n  topology: {nodes: 2}\n  headroom: [{node: 0, min_free: 1GiB}, {node: 4, min_free: 1GiB}]\n",
                          line: 4, column: 48, "host.headroom[1].node uses node 4")
    }

    // MARK: several mistakes at once

    func testSeveralErrorsInOneFileAreAllReportedInOrder() {
        let text = """
            version: 1
            host:
              kernel:
                numa_balance: off
                zone_reclaim_mode: 9
              forbid_processes: []
            workloads:
              - name: a
                match: {comm: a}
                memory: {policy: bind, nodes: [0], max_remote: 1}
            waivers:
              - {check: host.x, reason: r, expires: 2026-02-30}

            """
        let diagnostics = PolicyText.diagnostics(text)
        XCTAssertEqual(diagnostics.map { "\($0.line):\($0.column)" }, ["4:5", "5:24", "6:21", "10:52", "12:41"],
                       "\(PolicyErrors(diagnostics: diagnostics))")
        guard diagnostics.count == 5 else { return }
        assertDiagnostic(diagnostics[0], in: text, line: 4, column: 5, ["unknown key \"numa_balance\""], suggestion: "numa_balancing")
        assertDiagnostic(diagnostics[1], in: text, line: 5, column: 24, ["zone_reclaim_mode must be a whole number in 0...7, not \"9\""])
        assertDiagnostic(diagnostics[2], in: text, line: 6, column: 21, ["host.forbid_processes is an empty list"])
        assertDiagnostic(diagnostics[3], in: text, line: 10, column: 52, ["\"1\" is not a percentage"])
        assertDiagnostic(diagnostics[4], in: text, line: 12, column: 41, ["is not a day of that month"])
        let rendered = PolicyErrors(diagnostics: diagnostics).description
        XCTAssertEqual(rendered.components(separatedBy: "p.yaml:").count - 1, 5)
        XCTAssertTrue(rendered.hasPrefix("p.yaml:4:5: error: unknown key \"numa_balance\" in host.kernel\n      numa_balance: off\n      ^\n  did you mean \"numa_balancing\"?\np.yaml:5:24:"), rendered)
    }

    func testCmdlineBothRequiredAndForbidden() {
        assertPolicyError("version: 1\nhost:\n  kernel:\n    cmdline: {require: [numa=off], forbid: [numa=off]}\n",
                          line: 4, column: 14, "host.kernel.cmdline both requires and forbids \"numa=off\"")
    }

    func testWrongShapes() {
        assertPolicyError("version: 1\nhost: [kernel]\n", line: 2, column: 7, "host must be a mapping with keys kernel, topology")
        assertPolicyError("version: 1\nhost:\n", line: 2, column: 6, "host must be a mapping")
        assertPolicyError("version: 1\nworkloads: {name: a}\n", line: 2, column: 12, "workloads must be a list")
        assertPolicyError("version: 1\nhost:\n  forbid_processes: [[numad]]\n", line: 3, column: 22, "host.forbid_processes item must be a single value")
        assertPolicyError("version: 1\nhost:\n  hugepages: [{node: 0, size: 2MiB}]\n", line: 3, column: 15, "host.hugepages[0] needs \"count\"")
    }
}
