@testable import NumaguardCore
import NumaguardHost
@testable import NumaguardPolicy
import XCTest

/// Issue 12: what a policy may hold is bounded, and loading one costs work near-linear in it.
/// Work is asserted by count (the loader's comparison counter, the number of diagnostics
/// kept), never by time.
final class PolicyBoundsTests: XCTestCase {
    /// `count` workloads sharing one match; every other one with a different placement when
    /// `conflicting`, otherwise each with its own match.
    private func workloads(_ count: Int, conflicting: Bool) -> String {
        var text = "version: 1\nworkloads:\n"
        for index in 0..<count {
            let match = conflicting ? "{comm: engine}" : "{comm: e\(index)}"
            text += "  - {name: w\(index), match: \(match), memory: {policy: bind, nodes: [\(index % 2)]}}\n"
        }
        return text
    }

    private func load(_ text: String) -> (policy: Policy?, diagnostics: [PolicyDiagnostic], work: Int) {
        let sink = DiagnosticSink(file: "p.yaml", text: text)
        do {
            return (try PolicyLoader.parse(text, file: "p.yaml", sink: sink), [], sink.work)
        } catch {
            return (nil, error.diagnostics, sink.work)
        }
    }

    func testTwoThousandWorkloadsLoadWithLinearWork() throws {
        let result = load(workloads(2000, conflicting: false))
        XCTAssertEqual(result.policy?.workloads.count, 2000, "\(result.diagnostics.prefix(3))")
        XCTAssertLessThanOrEqual(result.work, 2 * 2000)
    }

    /// Before: every pair of the 1,000 conflicting workloads was a diagnostic (499,500 of them,
    /// 249 MB, 4 s of watch's sampling on SIGHUP); 2,000 took 1.85 GB.
    func testTwoThousandConflictingWorkloadsAreRefusedWithBoundedWorkAndDiagnostics() throws {
        let text = workloads(2000, conflicting: true)
        let result = load(text)
        XCTAssertNil(result.policy)
        XCTAssertLessThanOrEqual(result.work, 2 * 2000, "two comparisons per workload at most")
        XCTAssertEqual(result.diagnostics.count, PolicyLimits.maximumDiagnostics + 1)
        let first = try XCTUnwrap(result.diagnostics.first)
        // w1 is the first workload whose placement differs from w0's: line 4.
        assertDiagnostic(first, in: text, line: 4, column: 5, ["workloads \"w0\" and \"w1\" match the same processes with different placements"])
        let last = try XCTUnwrap(result.diagnostics.last)
        XCTAssertTrue(last.message.contains("1899 more errors not shown"), last.message)
        XCTAssertTrue(PolicyErrors(diagnostics: result.diagnostics).description.hasPrefix("p.yaml:4:5: error:"))
    }

    func testConflictNamesTheEarliestWorkloadWithAnotherPlacement() {
        // c has a's placement: its conflict is with b, the first one that differs.
        let text = """
            version: 1
            workloads:
              - {name: a, match: {comm: x}, memory: {policy: bind, nodes: [0]}}
              - {name: b, match: {comm: x}, memory: {policy: bind, nodes: [1]}}
              - {name: c, match: {comm: x}, memory: {policy: bind, nodes: [0]}}
              - {name: d, match: {comm: y}, memory: {policy: bind, nodes: [1]}}

            """
        let diagnostics = PolicyText.diagnostics(text)
        XCTAssertEqual(diagnostics.map { "\($0.line): \($0.message)" }, [
            "4: workloads \"a\" and \"b\" match the same processes with different placements",
            "5: workloads \"b\" and \"c\" match the same processes with different placements",
        ])
    }

    func testAListBeyondTheLimitIsRefusedAtItsFirstExtraItem() {
        let count = PolicyLimits.maximumListItems + 1
        let text = workloads(count, conflicting: false)
        // Line 1 version, line 2 "workloads:", item i on line i + 3.
        assertPolicyError(text, line: PolicyLimits.maximumListItems + 3, column: 5,
                          "workloads has \(count) items, more than the \(PolicyLimits.maximumListItems) a list may hold")
    }

    func testAFileBeyondOneMiBIsRefusedWhereItCrossesTheLimit() throws {
        let line = "# " + String(repeating: "x", count: 97) + "\n"  // 100 bytes
        let text = "version: 1\n" + String(repeating: line, count: 10_486)  // 1,048,611 bytes
        XCTAssertGreaterThan(text.utf8.count, PolicyLimits.maximumFileBytes)
        // Byte 1,048,576 is the 65th byte of line 10,487 (11 bytes of "version: 1\n" first).
        assertPolicyError(text, line: 10_487, column: 66, "larger than 1048576 bytes")
        // load(file:reading: InputFile.read) reads no more than the limit and one byte, and says the same.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(UUID().uuidString).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertThrowsError(try PolicyLoader.load(file: file.path, reading: InputFile.read)) { error in
            let diagnostics = (error as? PolicyErrors)?.diagnostics ?? []
            XCTAssertEqual(diagnostics.map { "\($0.line):\($0.column)" }, ["10487:66"], "\(error)")
        }
    }

    func testAValueBeyondTheLimitIsRefused() {
        let pattern = String(repeating: "a", count: PolicyLimits.maximumValueBytes + 1)
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {cmdline: \(pattern)}\n", line: 4, column: 22,
                          "workload a.match.cmdline is 4097 bytes long, more than the 4096 a value may hold")
    }

    /// Aliases can make a 40 KB file name 16 million values; reading stops at the budget.
    func testAliasesCannotMultiplyTheWork() {
        let row = "[" + Array(repeating: "10", count: 4096).joined(separator: ", ") + "]"
        var text = "version: 1\nhost:\n  topology:\n    distances:\n      0: &row \(row)\n"
        for node in 1..<1000 { text += "      \(node): *row\n" }
        let diagnostics = PolicyText.diagnostics(text)
        XCTAssertEqual(diagnostics.count, 1, "\(diagnostics.prefix(3))")
        XCTAssertTrue(diagnostics.first?.message.contains("more than 1000000 values once its aliases are expanded") ?? false, "\(diagnostics)")
    }

    // MARK: values that were accepted and should not be

    func testDurationsHaveFloorsAndCeilings() {
        assertPolicyError("version: 1\nwatch: {interval: 5ms}\n", line: 2, column: 19,
                          "watch.interval: \"5ms\" is below the minimum of 10ms")
        assertPolicyError("version: 1\nwatch: {interval: 0.0000000000000001ms}\n", line: 2, column: 19, "is below the minimum of 10ms")
        assertPolicyError("version: 1\nwatch: {interval: 1e-16ms}\n", line: 2, column: 19, "is not a duration")
        assertPolicyError("version: 1\nwatch: {interval: 0s}\n", line: 2, column: 19, "is not a duration")
        assertPolicyError("version: 1\nwatch: {interval: 1e300s}\n", line: 2, column: 19, "is not a duration")
        assertPolicyError("version: 1\nwatch: {interval: \(String(repeating: "9", count: 300))s}\n", line: 2, column: 19,
                          "is above the maximum of 1h")
        assertPolicyError("version: 1\nwatch: {interval: 61m}\n", line: 2, column: 19, "is above the maximum of 1h")
        assertPolicyError("version: 1\nwatch: {numa_maps_period: 500ms}\n", line: 2, column: 27, "below the minimum of 1s")
        assertPolicyError("version: 1\nwatch: {numa_maps_period: 25h}\n", line: 2, column: 27, "above the maximum of 24h")
        assertPolicyError("version: 1\nwatch: {regimes: {dwell: 1ms}}\n", line: 2, column: 26, "watch.regimes.dwell: \"1ms\" is below the minimum of 10ms")
        let limits = PolicyText.loads("version: 1\nwatch: {interval: 10ms, numa_maps_period: 24h, regimes: {dwell: 24h}}\n")?.watch
        XCTAssertEqual(limits?.intervalSeconds, DurationLimits.watchInterval.minimum)
        XCTAssertEqual(limits?.numaMapsPeriodSeconds, DurationLimits.numaMapsPeriod.maximum)
        XCTAssertEqual(PolicyText.loads("version: 1\nwatch: {interval: 1h}\n")?.watch?.intervalSeconds, 3600)
    }

    /// Reading numa_maps stalls the process it reads: with the opt-in, the period's floor is a
    /// minute; without it, existing policies with shorter periods keep loading.
    func testNumaMapsOptInRaisesThePeriodFloor() {
        assertPolicyError("version: 1\nwatch: {numa_maps: true, numa_maps_period: 30s}\n", line: 2, column: 44,
                          "watch.numa_maps_period \"30s\" is below 1m, the least allowed with watch.numa_maps: true")
        assertPolicyError("version: 1\nwatch: {numa_maps_period: 59s, numa_maps: true}\n", line: 2, column: 27, "is below 1m")
        assertPolicyError("version: 1\nwatch: {numa_maps: 1}\n", line: 2, column: 20, "watch.numa_maps must be true or false")
        XCTAssertEqual(PolicyText.loads("version: 1\nwatch: {numa_maps: true}\n")?.watch?.numaMaps, true)
        XCTAssertEqual(PolicyText.loads("version: 1\nwatch: {numa_maps: true, numa_maps_period: 1m}\n")?.watch?.numaMapsPeriodSeconds, 60)
        let existing = PolicyText.loads("version: 1\nwatch: {numa_maps_period: 5s}\n")?.watch
        XCTAssertEqual(existing?.numaMapsPeriodSeconds, 5)
        XCTAssertEqual(existing?.numaMaps, false, "off unless asked for")
    }

    func testTwoSpellingsOfOneNodeAreRefusedAtTheSecond() {
        assertPolicyError("version: 1\nhost:\n  topology:\n    cpus: {0: \"0-1\", 00: \"5\"}\n", line: 4, column: 22,
                          "host.topology.cpus names node 0 twice: \"0\" and \"00\" (first at line 4, column 12)")
        assertPolicyError("version: 1\nhost:\n  topology:\n    min_memory:\n      1: 1GiB\n      +1: 2GiB\n", line: 6, column: 7,
                          "host.topology.min_memory names node 1 twice")
    }

    func testUnknownYAMLTagsAreRefused() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {comm: !!python/object:os.system a}\n", line: 4, column: 19,
                          "unknown YAML tag \"!!python/object:os.system\"")
        assertPolicyError("version: 1\nhost: !foo {kernel: {zone_reclaim_mode: 1}}\n", line: 2, column: 7, "unknown YAML tag \"!foo\"")
        assertPolicyError("version: 1\nhost: {forbid_processes: [a, !<tag:example.com,2000:x> b]}\n", line: 2, column: 30,
                          "unknown YAML tag \"tag:example.com,2000:x\"")
        // YAML's own core tags only say what the text already says.
        XCTAssertEqual(PolicyText.loads("version: !!int 1\nhost: {forbid_processes: [!!str a]}\n")?.host.forbidProcesses, ["a"])
    }

    /// The loader resolves no implicit tags (issue 17: Yams' default resolver compiles its
    /// regular expressions through ICU on every start): a merge key is an unknown key, refused
    /// where it stands, and YAML 1.1's guesses (`off`, `0755`, `~`) stay the text they are.
    func testMergeKeysAreRefusedAndScalarsAreTheirText() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: &m {comm: a}\n  - name: b\n    match:\n      comm: b\n      <<: *m\n",
                          line: 8, column: 7, "unknown key \"<<\" in workload b.match")
        XCTAssertEqual(PolicyText.loads("version: 1\nhost: {forbid_processes: [off, 0755, ~, null, 1e3, yes]}\n")?.host.forbidProcesses,
                       ["off", "0755", "~", "null", "1e3", "yes"])
    }

    func testRegexRefusalsPointAtTheConstruct() {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {cmdline: \"^x(?=y)\"}\n", line: 4, column: 25,
                          "workload a.match.cmdline is not a valid regular expression: lookahead is not supported: numaguard matches in linear time")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {cmdline: '(a)\\1'}\n", line: 4, column: 26,
                          "backreferences are not supported: numaguard matches in linear time")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match:\n      cmdline: ^(a+)+$x{1001}\n", line: 5, column: 24,
                          "a repetition count above 1000 is refused")
    }

    /// The review's pattern hung every policy load (audit, watch's SIGHUP): a repetition of a
    /// repetition is RE2's "bad repetition operator", at its column; grouped, it loads at once.
    func testRepeatedEmptyBodiesAreRefusedAtTheColumnOrLoad() throws {
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {cmdline: \"(?:){1000}{1000}{1000}{1000}\"}\n", line: 4, column: 33,
                          "workload a.match.cmdline is not a valid regular expression: bad repetition operator {1000}{1000}")
        assertPolicyError("version: 1\nworkloads:\n  - name: a\n    match: {cmdline: 'a{,2}x{2}{3}'}\n", line: 4, column: 32,
                          "bad repetition operator {2}{3}: a repetition cannot be repeated again; put it in a group")
        let grouped = "version: 1\nworkloads:\n  - name: a\n    match: {cmdline: \"^engine(?:(?:(?:(?:){1000}){1000}){1000}){1000}$\"}\n"
            + "    memory: {policy: default}\n"
        let pattern = try XCTUnwrap(PolicyText.loads(grouped)?.workloads.first?.match.cmdline)
        XCTAssertEqual(try LinearRegex(pattern).programSize, 9)  // ^ e n g i n e $ match
    }

    // MARK: policy check reports every mistake the document lets it read

    func testMistakesAfterADuplicateKeyAreStillReported() {
        let text = """
            version: 1
            host:
              kernel:
                zone_reclaim_mode: 1
                zone_reclaim_mode: 2
                numa_balance: off
            workloads:
              - {name: a, match: {comm: a}, memory: {policy: bind}}
              - {name: b, name: c, match: {comm: b}}

            """
        let diagnostics = PolicyText.diagnostics(text)
        XCTAssertEqual(diagnostics.map { "\($0.line):\($0.column)" }, ["5:5", "9:15", "6:5", "8:41"],
                       "\(PolicyErrors(diagnostics: diagnostics))")
        guard diagnostics.count == 4 else { return }
        assertDiagnostic(diagnostics[0], in: text, line: 5, column: 5, ["duplicate key \"zone_reclaim_mode\" (first at line 4, column 5)"])
        assertDiagnostic(diagnostics[1], in: text, line: 9, column: 15, ["duplicate key \"name\""])
        assertDiagnostic(diagnostics[2], in: text, line: 6, column: 5, ["unknown key \"numa_balance\""], suggestion: "numa_balancing")
        assertDiagnostic(diagnostics[3], in: text, line: 8, column: 41, ["with policy bind needs nodes"])
    }

    func testEveryFieldOfABadItemIsChecked() {
        let text = """
            version: 1
            host:
              hugepages: [{node: x, size: 1GB, count: -1}]
            workloads:
              - name: a.b
                match: {comm: abcdefghijklmnopq, cmdline: "(?=x)"}
                memory: {policy: interleave, nodes: [0, z, y]}
            reserve:
              - {node: q, for: [a], max_foreign_memory: 1GB}
            waivers:
              - {check: kernel.x, reason: r, expires: 2026-02-30}

            """
        let diagnostics = PolicyText.diagnostics(text)
        XCTAssertEqual(diagnostics.map { "\($0.line):\($0.column)" },
                       ["3:22", "3:31", "3:43", "5:11", "6:19", "6:48", "7:45", "7:48", "7:22", "9:12", "9:45", "11:43", "11:13"],
                       "\(PolicyErrors(diagnostics: diagnostics))")
    }
}
