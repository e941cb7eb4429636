import Foundation
@testable import NumaguardAudit
import TestSupport
import XCTest

final class PrometheusRendererTests: XCTestCase {
    private let timestamp = 1_795_000_000.0

    /// Sample lines as (metric name, labels, value).
    private func samples(_ text: String) -> [(name: String, labels: String, value: String)] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let space = line.lastIndex(of: " ")!
            let series = line[..<space]
            let value = String(line[line.index(after: space)...])
            if let brace = series.firstIndex(of: "{") {
                return (String(series[..<brace]), String(series[brace...]), value)
            }
            return (String(series), "", value)
        }
    }

    func testMetricsForTheSampleReport() {
        let text = PrometheusRenderer.render(SampleReport.report, timestamp: timestamp)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            #"numaguard_audit_check_failed{check="host.kernel.numa_balancing",severity="critical"} 1"#,
            #"numaguard_audit_check_failed{check="host.topology.nodes",severity="info"} 0"#,
            #"numaguard_audit_check_failed{check="workload.batch.cpus",severity="warning"} 0"#,
            #"numaguard_audit_check_failures{check="workload.engine.memory.policy",severity="critical"} 1"#,
            #"numaguard_audit_check_failures{check="node.1.reserve",severity="warning"} 1"#,
            #"numaguard_audit_check_failures{check="workload.engine.read",severity="critical"} 0"#,
            #"numaguard_audit_checks{outcome="pass"} 3"#,
            #"numaguard_audit_checks{outcome="fail"} 3"#,
            #"numaguard_audit_checks{outcome="waived"} 1"#,
            #"numaguard_audit_checks{outcome="incomplete"} 1"#,
            "numaguard_audit_compliant 0",
            "numaguard_audit_unreadable_processes 1",
            "numaguard_audit_last_run_timestamp_seconds 1795000000",
            #"numaguard_audit_info{kernel_release="6.1.0-18-amd64",policy_digest="sha256:9f2c4e"} 1"#,
        ] {
            XCTAssertTrue(lines.contains(expected), "missing \(expected) in\n\(text)")
        }
        XCTAssertTrue(text.hasSuffix("\n"))
    }

    func testEveryMetricHasHelpAndTypeAndNoUnboundedLabels() {
        let text = PrometheusRenderer.render(SampleReport.report, timestamp: timestamp)
        let names = Set(samples(text).map(\.name))
        for name in names {
            XCTAssertTrue(name.hasPrefix("numaguard_audit_"), name)
            XCTAssertFalse(name.hasSuffix("_total"), "gauges take no _total: \(name)")
            XCTAssertTrue(text.contains("# HELP \(name) "), "no HELP for \(name)")
            XCTAssertTrue(text.contains("# TYPE \(name) gauge\n"), "no TYPE for \(name)")
        }
        for sample in samples(text) {
            XCTAssertFalse(sample.labels.contains("pid="), sample.labels)
            XCTAssertFalse(sample.labels.contains("PID "), "a subject leaked into a label: \(sample.labels)")
        }
        // One series per (metric, labels): the repeated subjects fold into a count.
        let series = samples(text).map { $0.name + $0.labels }
        XCTAssertEqual(Set(series).count, series.count)
    }

    func testCompliantWhenOnlyPassesAndFailuresBelowFailOn() {
        var report = SampleReport.report
        report.unreadable = []
        report.findings = [
            .pass(.topologyNodes, .info, expected: "2", actual: "2"),
            Finding(check: .kernel(.transparentHugepage), severity: .info, outcome: .fail, expected: "never", actual: "always", remediation: "x"),
        ]
        let text = PrometheusRenderer.render(report, timestamp: timestamp)
        XCTAssertTrue(text.contains("\nnumaguard_audit_compliant 1\n"), text)
        XCTAssertTrue(text.contains(#"numaguard_audit_check_failed{check="host.kernel.transparent_hugepage",severity="info"} 1"#))
    }

    func testLabelValuesAndTimestampsAreEscapedAndFormatted() {
        var report = SampleReport.report
        report.findings = [.pass(.bootRequires("\"quoted\"\\check\nx"), .info, expected: "", actual: "")]
        report.host.kernelRelease = "6.1\"rc\""
        let text = PrometheusRenderer.render(report, timestamp: timestamp)
        XCTAssertTrue(text.contains(#"numaguard_audit_check_failed{check="host.kernel.cmdline.require.\"quoted\"\\check\nx",severity="info"} 0"#), text)
        XCTAssertTrue(text.contains(#"kernel_release="6.1\"rc\"""#), text)
        try? Promtool.checkMetrics(text)
    }

    func testEmptyReport() throws {
        var report = SampleReport.report
        report.findings = []
        report.unreadable = []
        let text = PrometheusRenderer.render(report, timestamp: timestamp)
        XCTAssertTrue(text.contains("\nnumaguard_audit_compliant 1\n"))
        XCTAssertFalse(text.contains("numaguard_audit_check_failed{"))
        try Promtool.checkMetrics(text)
    }

    func testPromtoolAcceptsTheOutput() throws {
        try Promtool.checkMetrics(PrometheusRenderer.render(SampleReport.report, timestamp: timestamp))
    }

    func testGolden() throws {
        let text = PrometheusRenderer.render(SampleReport.report, timestamp: timestamp)
        XCTAssertEqual(text, PrometheusRenderer.render(SampleReport.report, timestamp: timestamp))
        try SampleReport.assertGolden(text, "audit.prom")
    }
}
