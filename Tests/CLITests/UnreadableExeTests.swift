#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import XCTest

/// `match.exe` over another user's process, without CAP_SYS_PTRACE: the kernel refuses to
/// read /proc/PID/exe, and numaguard must say it cannot tell rather than treat the process
/// as unmatched. A protected engine matched by exe was silently left unwatched by a watch
/// running as the contrib unit's dynamic user without the capability, and `migrate` run that
/// way would have moved its pages. Real processes; numaguard run as `nobody` by setpriv.
final class UnreadableExeTests: XCTestCase {
    private var directory: URL!
    private var engine: Child!

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to start a process nobody cannot inspect") }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("exe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let program = directory.appendingPathComponent("ngexe\(getpid() % 10_000)")
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: program.path)
        engine = try Child(program.path, ["600"])
        try """
            version: 1
            workloads:
              - name: engine
                match: {exe: \(program.path)}
                protected: true
            """.write(to: policy, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: policy.path)
    }

    override func tearDown() {
        engine?.process.terminate()
        engine?.process.waitUntilExit()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private var policy: URL { directory.appendingPathComponent("policy.yaml") }

    private func asNobody(_ arguments: [String], caps: String = "-all") throws -> CommandResult {
        try Command.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=\(caps)", "--ambient-caps=\(caps)",
                                             Command.numaguard] + arguments)
    }

    func testAuditSaysTheExeRuleCannotBeJudged() throws {
        let result = try asNobody(["audit", "--policy", policy.path])
        XCTAssertEqual(result.status, 3, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("UNKNOWN workload.engine.read [PID \(engine.pid) (ngexe"), result.stdout)
        XCTAssertTrue(result.stdout.contains("/proc/\(engine.pid)/exe cannot be read, so whether it is \(directory.path)/ngexe"), result.stdout)
        XCTAssertTrue(result.stdout.contains("grant it CAP_SYS_PTRACE (currently not held, running as uid 65534)"), result.stdout)

        // As root the same rule claims it: the refusal above was the privilege, not the rule.
        let root = try Command.numaguard(["audit", "--policy", policy.path, "--format", "json"])
        let findings = try XCTUnwrap(try Command.json(root.stdout)["findings"] as? [[String: Any]])
        XCTAssertFalse(findings.contains { $0["pid"] as? Int == Int(engine.pid) && $0["outcome"] as? String == "incomplete" }, root.stdout)
        XCTAssertTrue(findings.isEmpty || findings.allSatisfy { $0["pid"] as? Int != Int(engine.pid) }, "no checks declared but the match")
    }

    func testWatchSaysItCannotWatchAProcessItCannotTell() throws {
        let result = try asNobody(["watch", "--policy", policy.path, "--count", "1", "--interval", "100ms"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("PID \(engine.pid) may belong to protected workload engine and is not watched: "
                                             + "/proc/\(engine.pid)/exe cannot be read"), result.stdout)
    }
}
