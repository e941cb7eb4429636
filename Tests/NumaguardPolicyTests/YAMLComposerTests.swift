import NumaguardCore
@testable import NumaguardPolicy
import XCTest

/// The policy loader's own YAML composer over libyaml's events (it replaced Yams): the node
/// tree it builds, and every way hostile bytes are refused with a located diagnostic.
final class YAMLComposerTests: XCTestCase {
    private func compose(_ text: String) -> (root: YAMLNode?, diagnostics: [PolicyDiagnostic]) {
        compose(Array(text.utf8))
    }

    private func compose(_ bytes: [UInt8]) -> (root: YAMLNode?, diagnostics: [PolicyDiagnostic]) {
        let sink = DiagnosticSink(file: "p.yaml", text: String(decoding: bytes, as: UTF8.self))
        let root = YAMLComposer.compose(bytes, sink)
        return (root, sink.diagnostics)
    }

    private func located(_ diagnostics: [PolicyDiagnostic]) -> [String] {
        diagnostics.map { "\($0.line):\($0.column): \($0.message)" }
    }

    // MARK: the tree

    func testScalarsCollectionsMarksTagsAndStyles() throws {
        let text = "a: [1, \"two\", !!str 3, ! four, !local five]\nb:\n  c: 'x'\n  d: |\n    block\n"
        let (root, diagnostics) = compose(text)
        XCTAssertEqual(located(diagnostics), [])
        let mapping = try XCTUnwrap(root?.mapping)
        XCTAssertEqual(mapping.map { $0.key.text }, ["a", "b"])
        XCTAssertEqual(root?.mark, YAMLMark(line: 1, column: 1))
        let items = try XCTUnwrap(root?["a"]?.sequence)
        XCTAssertEqual(items.map(\.text), ["1", "two", "3", "four", "five"])
        XCTAssertEqual(items.map(\.tag), ["", "", "tag:yaml.org,2002:str", "!", "!local"])
        XCTAssertEqual(items.map(\.mark.column), [5, 8, 15, 24, 32])
        XCTAssertEqual(items.map { if case let .scalar(_, style) = $0.content { style == .plain } else { false } },
                       [true, false, true, true, true])
        let b = try XCTUnwrap(root?["b"])
        XCTAssertEqual(b.mark, YAMLMark(line: 3, column: 3), "a block mapping starts at its first key")
        XCTAssertEqual(b["c"]?.text, "x")
        XCTAssertEqual(b["d"]?.text, "block\n")
        XCTAssertNil(b["e"])
    }

    /// Columns are code points, as libyaml counts them: the caret lands under the character.
    func testColumnsCountCodePointsNotBytes() throws {
        let (root, _) = compose("é: [ü, x]\n")
        XCTAssertEqual(root?["é"]?.sequence?.map(\.mark.column), [5, 8])
    }

    // MARK: anchors and aliases

    func testAnAliasIsTheAnchoredNodeItself() throws {
        let (root, diagnostics) = compose("a: &x [1, 2]\nb: *x\nc: [*x, *x]\n")
        XCTAssertEqual(located(diagnostics), [])
        let a = try XCTUnwrap(root?["a"])
        XCTAssertTrue(root?["b"] === a)
        XCTAssertTrue(root?["c"]?.sequence?.allSatisfy { $0 === a } ?? false)
    }

    func testAliasesLoadInAPolicy() {
        let text = """
            version: 1
            workloads:
              - {name: a, match: {comm: a}, memory: {policy: bind, nodes: &nodes [0, 1]}}
              - {name: b, match: {comm: b}, memory: {policy: bind, nodes: *nodes}}

            """
        XCTAssertEqual(PolicyText.loads(text)?.workloads.last?.memory?.nodes, IDSet([0, 1]))
    }

    func testAnUndefinedAliasIsLocated() {
        // An anchor is defined once its node is complete: a collection cannot hold itself.
        XCTAssertEqual(located(compose("a: &x [1, *x]\n").diagnostics), ["1:11: invalid YAML: found undefined alias"])
        XCTAssertEqual(located(compose("a: *later\nb: &later 1\n").diagnostics), ["1:4: invalid YAML: found undefined alias"])
        assertPolicyError("version: 1\nhost:\n  forbid_processes: [a, *nothing]\n", line: 3, column: 25, "invalid YAML: found undefined alias")
    }

    /// Ten levels of ten aliases name 10^10 values; composing stays one node per written
    /// one (the aliases are shared, never copied), and reading is refused where it starts.
    func testBillionLaughsIsNotExpanded() throws {
        var text = "version: 1\nhost:\n  forbid_processes:\n    - &l0 lol\n"
        for level in 1...10 {
            text += "    - &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let (root, diagnostics) = compose(text)
        XCTAssertEqual(located(diagnostics), [])
        let items = try XCTUnwrap(root?["host"]?["forbid_processes"]?.sequence)
        XCTAssertEqual(items.count, 11)
        for level in 1...10 {
            let children = try XCTUnwrap(items[level].sequence)
            XCTAssertTrue(children.allSatisfy { $0 === items[level - 1] }, "level \(level) shares level \(level - 1)")
        }
        let refused = PolicyText.diagnostics(text)
        XCTAssertEqual(refused.map { "\($0.line):\($0.column)" }, (5...14).map { "\($0):7" })
        XCTAssertTrue(refused.allSatisfy { $0.message == "host.forbid_processes item must be a single value" }, "\(refused)")
    }

    // MARK: bounds

    func testDeepNestingIsRefusedAtTheFirstLevelTooDeep() {
        let deep = String(repeating: "[", count: 100_000)
        XCTAssertEqual(located(compose("a: " + deep).diagnostics),
                       // The document's mapping is the first level, the `[` in column 4 the second.
                       ["1:\(3 + PolicyLimits.maximumNesting): the policy nests lists and mappings more than 64 deep"])
        let mixed = String(repeating: "{a: [", count: 50_000)
        XCTAssertEqual(compose(mixed).diagnostics.map(\.message), ["the policy nests lists and mappings more than 64 deep"])
        // The limit itself composes.
        let limit = String(repeating: "[", count: PolicyLimits.maximumNesting) + String(repeating: "]", count: PolicyLimits.maximumNesting)
        let (root, diagnostics) = compose(limit)
        XCTAssertNotNil(root)
        XCTAssertEqual(located(diagnostics), [])
    }

    /// The loader refuses files over 1 MiB first; the composer bounds its own nodes too.
    func testTheComposerBoundsItsNodes() {
        let items = PolicyLimits.maximumValues
        let text = "[" + String(repeating: "a,", count: items) + "b]"
        XCTAssertEqual(located(compose(text).diagnostics),
                       ["1:\(2 * items + 2): the policy holds more than \(PolicyLimits.maximumValues) values"])
    }

    // MARK: duplicate keys

    func testDuplicateKeysAreFoundByTextAndTag() {
        assertPolicyError("version: 1\n!!str version: 1\n", line: 2, column: 1, "duplicate key \"version\" (first at line 1, column 1)")
        assertPolicyError("version: 1\nhost: {forbid_processes: [a], 'forbid_processes': [b]}\n", line: 2, column: 31,
                          "duplicate key \"forbid_processes\" (first at line 2, column 8)")
        // A key written through an alias is where the alias stands.
        XCTAssertEqual(located(compose("a: &k x\nm: {x: 1, *k : 2}\n").diagnostics),
                       ["2:11: duplicate key \"x\" (first at line 2, column 5)"])
        // Different tags are different keys.
        XCTAssertEqual(located(compose("{1: a, !!int 1: b}\n").diagnostics), [])
    }

    /// A duplicate inside an anchored mapping is reported once, however often it is aliased,
    /// and every duplicate of a mapping is reported, in the order written.
    func testDuplicatesAreReportedOnceInDocumentOrder() {
        let text = "a: &m {x: 1, x: 2}\nb: *m\nc: *m\nd: {y: 1, z: 1, y: 2, z: 2, y: 3}\n"
        XCTAssertEqual(located(compose(text).diagnostics), [
            "1:14: duplicate key \"x\" (first at line 1, column 8)",
            "4:17: duplicate key \"y\" (first at line 4, column 5)",
            "4:23: duplicate key \"z\" (first at line 4, column 11)",
            "4:29: duplicate key \"y\" (first at line 4, column 5)",
        ])
    }

    // MARK: bytes libyaml refuses

    func testBytesThatAreNotUTF8AreRefusedWhereTheyStand() throws {
        let head = Array("version: 1\nhost:\n  forbid_processes: [é".utf8)
        assertRefused(head + [0xFF] + Array("]\n".utf8), "3:23: invalid YAML: invalid leading UTF-8 octet")
        assertRefused(head + [0xC3], "3:23: invalid YAML: incomplete UTF-8 octet sequence")
        // libyaml points at the byte that cannot continue the character; the caret goes under the character.
        assertRefused(head + [0xE2, 0x28, 0xA1] + Array("]\n".utf8), "3:23: invalid YAML: invalid trailing UTF-8 octet")
        assertRefused(head + [0xF0, 0x9F, 0x98] + Array("]\n".utf8), "3:23: invalid YAML: invalid trailing UTF-8 octet")
        assertRefused(Array("version: 1\u{1}\n".utf8), "1:11: invalid YAML: control characters are not allowed")
        // A byte-order mark before the document is allowed; the digest is of the file's bytes.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("version: 1\n".utf8)
        XCTAssertEqual(try PolicyLoader.load(bom, file: "p.yaml").digest, "1a7d036ae2bb4cd3db0ecf2457a0a4eb8875422288334295b3ace8e6119372ae")
    }

    func testScannerAndParserErrorsAreLocated() {
        assertPolicyError("version: 1\nhost: {kernel: @x}\n", line: 2, column: 16, "invalid YAML: found character that cannot start any token")
        assertPolicyError("version: 1\nhost:\n  - a\n  b: 1\n", line: 4, column: 3, "invalid YAML: did not find expected '-' indicator")
    }

    private func assertRefused(_ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let loaded = try PolicyLoader.load(bytes, file: "p.yaml")
            XCTFail("loaded: \(loaded)", file: file, line: line)
        } catch {
            XCTAssertEqual(located(error.diagnostics), [expected], file: file, line: line)
        }
    }
}
