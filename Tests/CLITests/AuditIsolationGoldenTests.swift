import Foundation
import TestSupport
import XCTest

/// An isolation-failing audit end to end: a recorded guest with isolcpus=managed_irq,3, an
/// irqbalance banning CPU 2 only, a probe pinned to a reserved CPU, IRQs requested there and
/// the workqueue mask over every CPU, audited in text, JSON and JUnit, byte for byte.
/// Regenerate with NUMAGUARD_UPDATE_GOLDEN=1 after an intended change.
final class AuditIsolationGoldenTests: XCTestCase {
    static let policy = """
        version: 1
        host:
          isolation: {isolated: "2-3", nohz_full: "2-3", managed_irq: true, workqueue: housekeeping}
          irqbalance: {running: true}
        workloads:
          - {name: engine, match: {comm: engine}}
        reserve:
          - {cpus: "2-3", for: [engine]}

        """

    private func host() throws -> SyntheticHost {
        let host = try SyntheticHost.make()
        try host.write("proc/cmdline", "console=ttyS0 panic=-1 quiet isolcpus=managed_irq,3 nohz_full=3\n")
        try host.write("sys/devices/system/cpu/isolated", "\n")
        try host.write("sys/devices/system/cpu/nohz_full", "3\n")
        try host.write("sys/devices/virtual/workqueue/cpumask", "f\n")
        for (pid, comm) in [(9001, "numad"), (9002, "tuned")] {
            try host.write("proc/\(pid)/task/\(pid)/status", "Name:\t\(comm)\nUid:\t0\t0\t0\t0\nCpus_allowed_list:\t0-3\n")
        }
        try host.process(9003, comm: "irqbalance")
        try host.write("proc/9003/task/9003/status", "Name:\tirqbalance\nUid:\t0\t0\t0\t0\nCpus_allowed_list:\t0-1\n")
        try host.write("proc/9003/cmdline", "/usr/sbin/irqbalance\0--foreground\0--banirq=120\0")
        try host.write("proc/9003/environ", "IRQBALANCE_BANNED_CPULIST=2\0")
        try host.process(9004, comm: "pinned")
        try host.write("proc/9004/task/9004/status", "Name:\tpinned\nUid:\t1000\t1000\t1000\t1000\nCpus_allowed_list:\t3\n")
        try host.write("proc/irq/121/effective_affinity_list", "3\n")
        try host.write("sys/kernel/irq/121/actions", "ens1f0-TxRx-1\n")
        return host
    }

    func testGoldenIsolationAudit() throws {
        let host = try host()
        defer { host.remove() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("iso-golden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("isolation.yaml")
        try Self.policy.write(to: policy, atomically: true, encoding: .utf8)
        for (format, file) in [("text", "audit-isolation.txt"), ("json", "audit-isolation.json"), ("junit", "audit-isolation.junit.xml")] {
            let result = try Command.numaguard(["audit", "--policy", policy.path, "--host-root", host.path, "--format", format, "--today", "2026-12-02"])
            XCTAssertEqual(result.status, 1, result.stderr)
            var output = result.stdout.replacingOccurrences(of: policy.path, with: "<policy>").replacingOccurrences(of: host.path, with: "<host>")
            output = output.replacingOccurrences(of: #"timestamp="[^"]*""#, with: #"timestamp="<now>""#, options: .regularExpression)
            let golden = Command.repositoryRoot.appendingPathComponent("Tests/CLITests/Golden/\(file)")
            if ProcessInfo.processInfo.environment["NUMAGUARD_UPDATE_GOLDEN"] == "1" {
                try output.write(to: golden, atomically: true, encoding: .utf8)
            }
            XCTAssertEqual(output, try String(contentsOf: golden, encoding: .utf8), "\(file) differs (NUMAGUARD_UPDATE_GOLDEN=1 to accept)")
        }
    }
}
