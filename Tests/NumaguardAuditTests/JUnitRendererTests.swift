import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import NumaguardAudit
import TestSupport
import XCTest

/// A hand-built report that exercises every outcome, a waiver, an expired waiver, a repeated
/// check/subject pair, and text that needs escaping. Shared with the Prometheus tests.
enum SampleReport {
    static var report: AuditReport {
        var waived = Finding(check: .workload("batch", .cpus), severity: .warning, outcome: .waived,
                             subject: "PID 77 (batch)", pid: 77, expected: "CPUs 8-15", actual: "CPUs 0-15",
                             remediation: "numaguard run --workload batch -- <command>")
        waived.waiver = .init(reason: "OPS-12 <migration> & \"rebalance\" isn't done", expires: "2026-12-31", expired: false)
        var expired = Finding(check: .reservation(node: 1), severity: .warning, outcome: .fail,
                              subject: "node 1", expected: "no foreign memory on node 1",
                              actual: "PID 200 (cron)\u{1}: 12 MiB\nPID 201 (backup): 3 MiB\r",
                              remediation: "move foreign processes off node 1")
        expired.waiver = .init(reason: "legacy cron", expires: "2026-01-01", expired: true)
        return AuditReport(
            policyFile: "/etc/numaguard/policy.yaml",
            policyDigest: "sha256:9f2c4e",
            host: HostIdentity(hostname: "db-01", machineID: "0123456789abcdef", bootID: "b00t-1d",
                               kernelRelease: "6.1.0-18-amd64", kernelCommandLine: "ro quiet isolcpus=8-15"),
            findings: [
                Finding(check: .kernel(.numaBalancing), severity: .critical, outcome: .fail,
                        expected: "0", actual: "1", remediation: "numaguard apply (sets kernel.numa_balancing=0)"),
                .pass(.topologyNodes, .info, expected: "2 nodes", actual: "2 nodes"),
                Finding(check: .workload("engine", .memoryPolicy), severity: .critical, outcome: .fail,
                        subject: "PID 42 (engine)", pid: 42, expected: "bind 1", actual: "interleave 0-1",
                        remediation: "restart through numaguard run"),
                .pass(.workload("engine", .memoryPolicy), .critical, subject: "PID 43 (engine)", pid: 43,
                      expected: "bind 1", actual: "bind 1"),
                .pass(.workload("engine", .memoryPolicy), .critical, subject: "PID 43 (engine)", pid: 43,
                      expected: "bind 1", actual: "bind 1"),
                waived,
                Finding(check: .workload("engine", .read), severity: .critical, outcome: .incomplete,
                        subject: "PID 44 (engine)", pid: 44, expected: "readable",
                        actual: "PID 44: permission denied", remediation: "run numaguard as root or with CAP_SYS_PTRACE"),
                expired,
            ],
            gone: ["PID 99 (short): exited while being read"],
            unreadable: ["PID 100 (secret): permission denied; needs CAP_SYS_PTRACE"],
            failOn: .warning)
    }

    static var golden: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden") }

    /// Compares with Golden/<name>; NUMAGUARD_UPDATE_GOLDEN=1 rewrites the file instead.
    static func assertGolden(_ actual: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = golden.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["NUMAGUARD_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden, withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(actual, expected, "differs from \(url.path); rerun with NUMAGUARD_UPDATE_GOLDEN=1 to accept", file: file, line: line)
    }

    /// The first directory on PATH holding `name`, if any.
    static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `command` with `input` on its stdin (Command.run gives /dev/null).
    static func run(_ command: String, _ arguments: [String], input: String) throws -> CommandResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-stdin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("input")
        try input.write(to: file, atomically: false, encoding: .utf8)
        let quoted = ([command] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        return try Command.run("/bin/sh", ["-c", quoted.joined(separator: " ") + " < '\(file.path)'"])
    }
}

/// What a JUnit consumer reads: the elements and attributes, through a real XML parser.
private final class JUnitDocument: NSObject, XMLParserDelegate {
    struct Element { var name: String; var attributes: [String: String]; var text = "" }
    var elements: [Element] = []
    private var open: [Int] = []

    static func parse(_ xml: String) throws -> JUnitDocument {
        let document = JUnitDocument()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = document
        guard parser.parse() else {
            throw NSError(domain: "junit", code: 1, userInfo: [NSLocalizedDescriptionKey:
                "XML parse error at line \(parser.lineNumber): \(String(describing: parser.parserError))"])
        }
        return document
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        open.append(elements.count)
        elements.append(Element(name: name, attributes: attributes))
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let index = open.last { elements[index].text += string }
    }

    func all(_ name: String) -> [Element] { elements.filter { $0.name == name } }
}

final class JUnitRendererTests: XCTestCase {
    func testParsesWithCountsThatMatchTheFindings() throws {
        let report = SampleReport.report
        let document = try JUnitDocument.parse(JUnitRenderer.render(report))
        let suites = document.all("testsuite")
        XCTAssertEqual(suites.count, 1)
        let suite = try XCTUnwrap(suites.first)
        XCTAssertEqual(suite.attributes["name"], "numaguard audit of db-01")
        XCTAssertEqual(suite.attributes["tests"], "8")
        XCTAssertEqual(suite.attributes["failures"], "3")
        XCTAssertEqual(suite.attributes["skipped"], "1")
        XCTAssertEqual(suite.attributes["errors"], "1")
        XCTAssertEqual(document.all("testcase").count, report.findings.count)
        XCTAssertEqual(document.all("failure").count, 3)
        XCTAssertEqual(document.all("skipped").count, 1)
        XCTAssertEqual(document.all("error").count, 1)
        XCTAssertEqual(document.all("testsuites").first?.attributes["tests"], "8")
    }

    func testTestcaseNamesAreUniqueAndNameCheckAndSubject() throws {
        let document = try JUnitDocument.parse(JUnitRenderer.render(SampleReport.report))
        let cases = document.all("testcase")
        let names = cases.compactMap { $0.attributes["name"] }
        XCTAssertEqual(names.count, cases.count)
        XCTAssertEqual(Set(names).count, names.count, "duplicate testcase names: \(names)")
        XCTAssertEqual(names[0], "host.kernel.numa_balancing")
        XCTAssertEqual(names[2], "workload.engine.memory.policy [PID 42 (engine)]")
        XCTAssertEqual(names[3], "workload.engine.memory.policy [PID 43 (engine)]")
        XCTAssertEqual(names[4], "workload.engine.memory.policy [PID 43 (engine)] #2")
        XCTAssertEqual(cases.map { $0.attributes["classname"] }, SampleReport.report.findings.map { "db-01." + $0.check },
                       "qualified by host, so a fleet's reports merged in one job do not collide")
    }

    func testNamesStayUniqueWhenASuffixIsAlreadyTaken() {
        let findings = ["a", "a", "a #2", "a"].map { Finding.pass(.drift(fact: $0), .info, expected: "", actual: "") }
        XCTAssertEqual(JUnitRenderer.testNames(findings), ["drift.a", "drift.a #3", "drift.a #2", "drift.a #4"])
    }

    func testOutcomesCarryTheirDetails() throws {
        let document = try JUnitDocument.parse(JUnitRenderer.render(SampleReport.report))
        let failure = try XCTUnwrap(document.all("failure").first)
        XCTAssertEqual(failure.attributes["type"], "critical")
        XCTAssertEqual(failure.attributes["message"], "critical: expected 0, actual 1")
        XCTAssertTrue(failure.text.contains("remediation: numaguard apply (sets kernel.numa_balancing=0)"), failure.text)
        let skipped = try XCTUnwrap(document.all("skipped").first)
        XCTAssertEqual(skipped.attributes["message"], "waived: OPS-12 <migration> & \"rebalance\" isn't done (until 2026-12-31)")
        let error = try XCTUnwrap(document.all("error").first)
        XCTAssertEqual(error.attributes["type"], "incomplete")
        XCTAssertTrue(error.text.contains("remediation: run numaguard as root or with CAP_SYS_PTRACE"))
        // The expired waiver still fails, and says so.
        let expired = try XCTUnwrap(document.all("failure").last)
        XCTAssertEqual(expired.attributes["type"], "warning")
        XCTAssertTrue(expired.attributes["message"]?.hasSuffix("(waiver expired 2026-01-01)") ?? false)
        // Newlines and carriage returns survive in attributes; the control character is shown, not dropped.
        XCTAssertTrue(expired.attributes["message"]?.contains("(cron)\\u{1}: 12 MiB\nPID 201 (backup): 3 MiB\r") ?? false,
                      expired.attributes["message"] ?? "")
        let properties = Dictionary(uniqueKeysWithValues: document.all("property").map { ($0.attributes["name"]!, $0.attributes["value"]!) })
        XCTAssertEqual(properties["numaguard.policy_file"], "/etc/numaguard/policy.yaml")
        XCTAssertEqual(properties["numaguard.policy_digest"], "sha256:9f2c4e")
        XCTAssertEqual(properties["numaguard.hostname"], "db-01")
        XCTAssertEqual(properties["numaguard.kernel_release"], "6.1.0-18-amd64")
        XCTAssertEqual(properties["numaguard.boot_id"], "b00t-1d")
        XCTAssertEqual(properties["numaguard.exit_status"], "1")
        XCTAssertTrue(document.all("system-err").contains { $0.text.contains("PID 100 (secret)") })
    }

    func testEscapesEverythingXMLCannotCarryRaw() throws {
        // A forbidden process's name is the policy's, and reaches the check ID verbatim.
        var finding = Finding(check: .forbiddenProcess("\"odd\"&<check>'"), severity: .critical, outcome: .fail,
                              subject: "]]> \u{0}\u{8}\u{B}\u{C}\u{1F}\u{FFFE}\u{FFFF} é 日本",
                              expected: "a&b", actual: "<x y='1'>", remediation: "\t\n\r")
        finding.pid = 1
        var report = SampleReport.report
        report.findings = [finding]
        report.host.hostname = "h\"&<>"
        let xml = JUnitRenderer.render(report)
        let document = try JUnitDocument.parse(xml)
        let testcase = try XCTUnwrap(document.all("testcase").first)
        XCTAssertEqual(testcase.attributes["classname"], "h\"&<>.host.forbid_processes.\"odd\"&<check>'")
        XCTAssertEqual(testcase.attributes["name"], "host.forbid_processes.\"odd\"&<check>' []]> \\u{0}\\u{8}\\u{B}\\u{C}\\u{1F}\\u{FFFE}\\u{FFFF} é 日本]")
        XCTAssertEqual(document.all("testsuite").first?.attributes["hostname"], "h\"&<>")
        XCTAssertTrue(try XCTUnwrap(document.all("failure").first).text.contains("actual: <x y='1'>"))
        try assertPythonParses(xml)
    }

    func testEmptyReportIsAValidEmptySuite() throws {
        var report = SampleReport.report
        report.findings = []
        report.gone = []
        report.unreadable = []
        report.host.hostname = nil
        let document = try JUnitDocument.parse(JUnitRenderer.render(report))
        XCTAssertEqual(document.all("testsuite").first?.attributes["tests"], "0")
        XCTAssertEqual(document.all("testcase").count, 0)
        XCTAssertNil(document.all("testsuite").first?.attributes["hostname"])
    }

    /// Jenkins' xunit plugin validates against its junit-10 schema, where `skipped` is allowed
    /// on `<testsuite>` but not on `<testsuites>`, and `tests`, `failures`, `errors` are required
    /// on every suite. Tests/Fixtures/junit/junit-10-rules.xsd states those rules; xmllint judges.
    func testValidatesAgainstTheJenkinsJUnitSchema() throws {
        var withoutHost = SampleReport.report
        withoutHost.host.hostname = nil
        for (report, timestamp) in [(SampleReport.report, "2026-12-02T06:00:00Z"), (withoutHost, nil)] {
            try XMLSchema.validate(JUnitRenderer.render(report, timestamp: timestamp), against: "junit/junit-10-rules.xsd")
        }
        let document = try JUnitDocument.parse(JUnitRenderer.render(SampleReport.report, timestamp: "2026-12-02T06:00:00Z"))
        XCTAssertEqual(document.all("testsuite").first?.attributes["timestamp"], "2026-12-02T06:00:00Z")
        XCTAssertNil(document.all("testsuites").first?.attributes["skipped"])
        XCTAssertEqual(try JUnitDocument.parse(JUnitRenderer.render(withoutHost)).all("testcase").first?.attributes["classname"],
                       "machine-0123456789abcdef.host.kernel.numa_balancing")
    }

    /// GitLab's unit test report parser, as documented: every `<testcase>` under
    /// `<testsuites>`/`<testsuite>` is one test keyed by classname and name, failed when it holds
    /// `<failure>` or `<error>`, skipped with `<skipped>`, else successful; the `status`
    /// attribute is ignored. The reports of two hosts, uploaded by one job, must not collide.
    func testGitLabReadsTwoHostsReportsWithoutCollisions() throws {
        guard let python = SampleReport.executable("python3") else {
            if !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty { XCTFail("python3 is needed in CI") }
            throw XCTSkip("python3 not installed")
        }
        var other = SampleReport.report
        other.host.hostname = "db-02"
        let script = """
            import sys, xml.etree.ElementTree as ET
            keys, counts = set(), {"failed": 0, "error": 0, "skipped": 0, "success": 0}
            for document in sys.stdin.read().split("\\0"):
                root = ET.fromstring(document.encode())
                suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
                for suite in suites:
                    assert suite.get("name"), "a suite without a name"
                    for case in suite.findall("testcase"):
                        key = (case.get("classname"), case.get("name"))
                        assert all(key), key
                        assert key not in keys, ("collision", key)
                        keys.add(key)
                        if case.find("failure") is not None: counts["failed"] += 1
                        elif case.find("error") is not None: counts["error"] += 1
                        elif case.find("skipped") is not None: counts["skipped"] += 1
                        else: counts["success"] += 1
            print(len(keys), counts["failed"], counts["error"], counts["skipped"], counts["success"])
            """
        let input = JUnitRenderer.render(SampleReport.report) + "\0" + JUnitRenderer.render(other)
        let result = try SampleReport.run(python, ["-c", script], input: input)
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = SampleReport.report.summary
        XCTAssertEqual(result.stdout, "\(2 * summary.checks) \(2 * summary.failed) \(2 * summary.incomplete) \(2 * summary.waived) \(2 * summary.passed)\n")
    }

    func testOutputIsDeterministic() {
        XCTAssertEqual(JUnitRenderer.render(SampleReport.report), JUnitRenderer.render(SampleReport.report))
    }

    func testGolden() throws {
        let xml = JUnitRenderer.render(SampleReport.report)
        try SampleReport.assertGolden(xml, "audit.junit.xml")
        try assertPythonParses(xml)
    }

    /// A second, independent parser (expat, through Python's ElementTree), when Python is there.
    private func assertPythonParses(_ xml: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let python = SampleReport.executable("python3") else { return }
        let script = """
            import sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.stdin.buffer).getroot()
            names = [c.get('name') for c in root.iter('testcase')]
            assert len(names) == len(set(names)), names
            suite = root.find('testsuite')
            assert int(suite.get('tests')) == len(names)
            assert int(suite.get('failures')) == len(root.findall('.//failure'))
            assert int(suite.get('skipped')) == len(root.findall('.//skipped'))
            assert int(suite.get('errors')) == len(root.findall('.//error'))
            print('ok')
            """
        let result = try SampleReport.run(python, ["-c", script], input: xml)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stdout, "ok\n", file: file, line: line)
    }
}
