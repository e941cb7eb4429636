import Foundation
import TestSupport
import XCTest

/// `numaguard inspect` against live processes, with /proc and numastat -p as oracles.
final class InspectCommandTests: XCTestCase {
    func testInspectOfAChildAgreesWithProcAndNumastat() throws {
        let child = try Child("/bin/sleep", ["300"])
        let pid = Int(child.pid)
        let result = try Command.numaguard(["inspect", "\(pid)", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try Command.json(result.stdout)
        XCTAssertEqual(document["kind"] as? String, "inspect")
        let processes = try XCTUnwrap(document["processes"] as? [[String: Any]])
        XCTAssertEqual(processes.count, 1)
        let report = processes[0]
        let process = try XCTUnwrap(report["process"] as? [String: Any])
        XCTAssertEqual(process["pid"] as? Int, pid)
        XCTAssertEqual(process["comm"] as? String, "sleep")
        XCTAssertEqual(process["cmdline"] as? [String], ["/bin/sleep", "300"])

        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> String? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        XCTAssertEqual(report["cpus_allowed"] as? String, field("Cpus_allowed_list"))
        XCTAssertEqual(report["mems_allowed"] as? String, field("Mems_allowed_list"))
        let threads = try XCTUnwrap(report["threads"] as? [[String: Any]])
        XCTAssertEqual(threads.map { $0["tid"] as? Int }, [pid])

        let numastat = try Command.run("/usr/bin/numastat", ["-p", "\(pid)"])
        XCTAssertEqual(numastat.status, 0, numastat.stderr)
        let categories = try XCTUnwrap(report["numastat"] as? [String: [String: Int]])
        Oracle.assertNumastatAgrees(numastat.stdout, "PID \(pid)") { Oracle.jsonFigure(categories, $0, $1) }
        XCTAssertTrue((report["verdict"] as? String ?? "").contains("of anonymous memory"), "\(report["verdict"] ?? "")")
    }

    func testTextReportNamesPoliciesAndVerdict() throws {
        let child = try Child("/bin/sleep", ["300"])
        let result = try Command.numaguard(["inspect", "\(child.pid)"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("PID \(child.pid) (sleep)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("verdict: "), result.stdout)
        XCTAssertTrue(result.stdout.contains("memory policies in force:"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Private"), result.stdout)
    }

    func testNameSelectsMatchingProcessesOnly() throws {
        let child = try Child("/bin/sleep", ["301.25"])
        let result = try Command.numaguard(["inspect", "--name", "sleep 301\\.25", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let processes = try XCTUnwrap(try Command.json(result.stdout)["processes"] as? [[String: Any]])
        let pids = processes.compactMap { ($0["process"] as? [String: Any])?["pid"] as? Int }
        XCTAssertEqual(pids, [Int(child.pid)])
    }

    /// `inspect` with plain arguments skips ArgumentParser (FastPath); anything else goes
    /// through it. Both must print the same report.
    func testFastPathAndArgumentParserAgree() throws {
        let child = try Child("/bin/sleep", ["300"])
        let fast = try Command.numaguard(["inspect", "\(child.pid)", "--format", "json"])
        // `--` is not understood by the fast path, so this goes through ArgumentParser.
        let parsed = try Command.numaguard(["inspect", "--format", "json", "--", "\(child.pid)"])
        XCTAssertEqual(fast.status, 0, fast.stderr)
        XCTAssertEqual(parsed.status, 0, parsed.stderr)
        XCTAssertEqual(fast.stdout, parsed.stdout)
        let help = try Command.numaguard(["inspect", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--name <pattern>"), help.stdout)
    }

    func testNoSuchPIDExits66NamingThePID() throws {
        let pid = try unusedPID()
        let result = try Command.numaguard(["inspect", "\(pid)"])
        XCTAssertEqual(result.status, 66)
        XCTAssertTrue(result.stderr.contains("no process with PID \(pid)"), result.stderr)
    }

    func testMissingPIDDoesNotHideTheOthers() throws {
        let child = try Child("/bin/sleep", ["300"])
        let pid = try unusedPID()
        let result = try Command.numaguard(["inspect", "\(child.pid)", "\(pid)", "--format", "json"])
        XCTAssertEqual(result.status, 66)
        let document = try Command.json(result.stdout)
        XCTAssertEqual((document["processes"] as? [Any])?.count, 1)
        let failures = try XCTUnwrap(document["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.first?["pid"] as? Int, pid)
    }

    func testPatternMatchingNothingExits66() throws {
        let result = try Command.numaguard(["inspect", "--name", "no-such-process-\(UUID().uuidString)"])
        XCTAssertEqual(result.status, 66)
        XCTAssertTrue(result.stderr.contains("no process matches --name"), result.stderr)
    }

    func testUsageErrorsExit64() throws {
        for arguments in [["inspect"], ["inspect", "abc"], ["inspect", "0"], ["inspect", "-5"],
                          ["inspect", "1", "--name", "x"], ["inspect", "--name", "(unclosed"],
                          ["inspect", "1", "--format", "yaml"]] {
            let result = try Command.numaguard(arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertFalse(result.stderr.isEmpty, "\(arguments)")
        }
    }

    /// numa_maps needs ptrace read access: an unprivileged user reading PID 1 is refused, and
    /// the message says which process, which file and what privilege would fix it.
    func testPermissionDeniedSaysWhatAccessIsNeeded() throws {
        var arguments = ["inspect", "1"]
        var executable = Command.numaguard
        if getuid() == 0 {
            executable = "/usr/bin/setpriv"
            arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", Command.numaguard] + arguments
        }
        let result = try Command.run(executable, arguments)
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("PID 1"), result.stderr)
        XCTAssertTrue(result.stderr.contains("numa_maps"), result.stderr)
        XCTAssertTrue(result.stderr.contains("CAP_SYS_PTRACE"), result.stderr)
        XCTAssertTrue(result.stderr.contains("not held"), result.stderr)
    }

    /// Processes that exit while being read are reported as gone, never as a crash:
    /// hammer inspect against short-lived processes and require a documented outcome each time.
    func testShortLivedProcessesNeverCrashInspect() throws {
        var outcomes: [Int32: Int] = [:]
        for _ in 0..<30 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sleep")
            process.arguments = ["0.02"]
            try process.run()
            let result = try Command.numaguard(["inspect", "\(process.processIdentifier)", "--format", "json"])
            outcomes[result.status, default: 0] += 1
            XCTAssertTrue([0, 3, 66].contains(result.status), "status \(result.status): \(result.stderr)")
            XCTAssertNoThrow(try Command.json(result.stdout), result.stdout)
            if result.status == 3 { XCTAssertTrue(result.stderr.contains("exited"), result.stderr) }
            process.waitUntilExit()
        }
        XCTAssertEqual(outcomes.values.reduce(0, +), 30)
    }

    private func unusedPID() throws -> Int {
        let max = Int(try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 32768
        for candidate in stride(from: max - 1, to: max - 1000, by: -1)
        where !FileManager.default.fileExists(atPath: "/proc/\(candidate)") {
            return candidate
        }
        throw XCTSkip("no unused PID near pid_max")
    }
}
