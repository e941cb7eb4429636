import Foundation
import TestSupport
import XCTest

/// `numaguard run` end to end: the built binary on this host, on recorded guests through
/// `--dry-run --host-root`, and with the shipped policies. A launch wrapper's contract is its
/// exit status (the program's own; 125, 126, 127 before exec), its stderr, and what the
/// program finds when it starts: same PID, placement applied, no capability, default signals.
final class RunCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func run(_ arguments: String...) throws -> CommandResult {
        try Command.numaguard(["run"] + arguments)
    }

    private func shipped(_ name: String) -> String {
        Command.repositoryRoot.appendingPathComponent("policies/\(name)").path
    }

    private func statusField(_ output: String, _ key: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix(key + ":") }
            .map { $0.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    /// This test process's own status field (the child inherits it unless numaguard changes it).
    private func ownStatus(_ key: String) throws -> String? {
        statusField(try String(contentsOfFile: "/proc/self/status", encoding: .utf8), key)
    }

    private var numactl: String? {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/numactl") ? "/usr/bin/numactl" : nil
    }

    /// Asserts the wrapper stopped before exec with 125 and a one-line reason.
    private func assertRefused(_ result: CommandResult, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 125, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stdout, "", "nothing on stdout", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("numaguard run: refused: "), result.stderr, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.stderr.contains(fragment), "\(result.stderr) lacks \(fragment)", file: file, line: line)
        }
    }

    private func assertUsage(_ result: CommandResult, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 125, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stdout, "", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("numaguard run: usage: \(fragment)"), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.hasSuffix("\nsee: numaguard run --help\n"), result.stderr, file: file, line: line)
    }

    // MARK: Exit status

    func testProgramStatusPassesThrough() throws {
        XCTAssertEqual(try run("--", "sh", "-c", "exit 7").status, 7)
        XCTAssertEqual(try run("sh", "-c", "exit 0").status, 0)
        let output = try run("--", "sh", "-c", "echo out; echo err >&2; exit 3")
        XCTAssertEqual(output.status, 3)
        XCTAssertEqual(output.stdout, "out\n")
        XCTAssertEqual(output.stderr, "err\n", "numaguard adds nothing to a clean launch's stderr")
    }

    func testProgramKilledBySignalIsReportedAsSuch() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.numaguard)
        process.arguments = ["run", "--", "sh", "-c", "kill -KILL $$"]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the program is the process: its death is the caller's to see")
        XCTAssertEqual(process.terminationStatus, SIGKILL)
    }

    func testNotFoundIs127() throws {
        let missing = try run("--", "no-such-program-numaguard")
        XCTAssertEqual(missing.status, 127)
        XCTAssertEqual(missing.stdout, "")
        XCTAssertTrue(missing.stderr.hasPrefix("numaguard run: no-such-program-numaguard: not found in PATH ("), missing.stderr)
        let absolute = try run("--", scratch.path + "/missing")
        XCTAssertEqual(absolute.status, 127)
        XCTAssertEqual(absolute.stderr, "numaguard run: \(scratch.path)/missing: no such file or directory\n")
    }

    func testNotExecutableIs126() throws {
        let plain = scratch.appendingPathComponent("plain.sh")
        try "#!/bin/sh\ntouch \(scratch.path)/ran\n".write(to: plain, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: plain.path)
        let result = try run("--", plain.path)
        XCTAssertEqual(result.status, 126)
        XCTAssertEqual(result.stderr, "numaguard run: \(plain.path): permission denied (not executable)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path + "/ran"))

        let directory = try run("--", scratch.path)
        XCTAssertEqual(directory.status, 126)
        XCTAssertEqual(directory.stderr, "numaguard run: \(scratch.path): is a directory\n")
    }

    // MARK: Refusals and usage errors

    func testRefusalExecutesNothing() throws {
        let marker = scratch.appendingPathComponent("touched").path
        let online = try String(contentsOfFile: "/sys/devices/system/node/online", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try run("-m", "99", "--", "touch", marker)
        assertRefused(result, "-m 99: node 99 does not exist or is offline (online nodes: \(online))")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a refused launch runs nothing")

        assertRefused(try run("-N", "99", "--", "touch", marker), "-N 99: node 99 does not exist")
        assertRefused(try run("--physcpubind", "65000", "--", "touch", marker), "--physcpubind 65000: CPU 65000 does not exist or is offline")
        assertRefused(try run("-i", "all", "--", "touch", marker), "--allow-interleave")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testUsageErrors() throws {
        assertUsage(try run(), "no program given")
        assertUsage(try run("-m", "0"), "no program given")
        assertUsage(try run("--membin", "0", "--", "true"), "unknown option --membin (did you mean --membind?)")
        assertUsage(try run("-a", "true"), "-a is not supported: numaguard run always honours the cpuset")
        assertUsage(try run("-m", "0", "-p", "0", "true"), "-p conflicts with -m")
        assertUsage(try run("--min-free", "1GB", "true"), "--min-free \"1GB\" is ambiguous")
        assertUsage(try run("--show", "-m", "0"), "--show prints this process's placement")
        assertUsage(try run("--host-root", Fixtures.path("linux-6.1-2node"), "--", "true"), "--host-root describes another host")
        assertUsage(try run("--dry-run", "--host-root", "/nonexistent/capture", "--", "true"),
                    "--host-root /nonexistent/capture: no proc/ or sys/ under it")
        assertUsage(try run("--workload", "w", "--", "true"), "--policy and --workload go together")
        // libnuma reads 010 as octal 8; numaguard refuses rather than read it as 10.
        assertUsage(try run("-m", "010", "--", "true"), "-m \"010\": \"010\" has a leading zero: numbers are decimal only")
        assertUsage(try run("--physcpubind=0,07", "--", "true"), "--physcpubind \"0,07\": \"07\" has a leading zero")
    }

    func testHelp() throws {
        for flag in ["--help", "-h"] {
            let help = try run(flag)
            XCTAssertEqual(help.status, 0)
            XCTAssertTrue(help.stdout.hasPrefix("USAGE: numaguard run [options] [--] PROGRAM [ARGS...]\n"), help.stdout)
            XCTAssertTrue(help.stdout.contains("EXIT STATUS: the program's own; 125 numaguard refused or failed before exec;"))
            XCTAssertEqual(help.stderr, "")
        }
        let listed = try Command.numaguard(["--help"])
        XCTAssertEqual(listed.status, 0)
        XCTAssertTrue(listed.stdout.contains("  run "), "the tool's help lists run: \(listed.stdout)")
    }

    // MARK: --show

    func testShowHasNumactlsSevenLines() throws {
        let shown = try run("--show")
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let lines = shown.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.map { $0.split(separator: ":").first.map(String.init) ?? "" },
                       ["policy", "preferred node", "physcpubind", "cpubind", "nodebind", "membind", "preferred"])
        XCTAssertEqual(lines.first, "policy: default")
        let allowed = try XCTUnwrap(try ownStatus("Cpus_allowed_list"))
        XCTAssertEqual(lines[2], "physcpubind: " + (try IDs.expand(allowed)).map { "\($0) " }.joined())
    }

    /// numactl is the oracle: under each of its policies, numaguard run --show prints what
    /// numactl --show prints, byte for byte, except local (documented).
    func testShowMatchesNumactlShowUnderEachPolicy() throws {
        let numactl = try XCTUnwrap(numactl, "numactl is installed by scripts/test")
        // The next interleave node depends on what each process has allocated so far, so under
        // interleave those two lines are compared for shape only.
        func comparable(_ text: String, _ options: [String]) -> String {
            guard options.contains("-i") else { return text }
            return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                if line.hasPrefix("preferred node: "), line.hasSuffix(" (interleave next)") { return "preferred node: N (interleave next)" }
                if line.hasPrefix("interleavenode: ") { return "interleavenode: N" }
                return String(line)
            }.joined(separator: "\n")
        }
        for options in [[], ["-m", "0"], ["-p", "0"], ["-i", "all"], ["-N", "0"], ["-m", "0", "-N", "0"]] {
            let theirs = try Command.run(numactl, options + [numactl, "--show"])
            let ours = try Command.run(numactl, options + [Command.numaguard, "run", "--show"])
            XCTAssertEqual(theirs.status, 0, theirs.stderr)
            XCTAssertEqual(ours.status, 0, ours.stderr)
            XCTAssertEqual(comparable(ours.stdout, options), comparable(theirs.stdout, options), "numactl \(options)")
        }
        let theirs = try Command.run(numactl, ["-l", numactl, "--show"]).stdout
        let ours = try Command.run(numactl, ["-l", Command.numaguard, "run", "--show"]).stdout
        XCTAssertTrue(theirs.hasPrefix("policy: local\npreferred node: physcpubind: "), "numactl 2.0.16 glues the lines: \(theirs)")
        XCTAssertEqual(ours, theirs.replacingOccurrences(of: "preferred node: ", with: "preferred node: current\n"))
    }

    // MARK: What the program finds

    func testMembindIsAppliedAndVisibleToTheProgram() throws {
        let result = try run("-m", "0", "--", "sh", "-c", "grep Mems_allowed_list /proc/self/status; grep -m1 heap /proc/self/numa_maps")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(statusField(result.stdout, "Mems_allowed_list"), try ownStatus("Mems_allowed_list"))
        let heap = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.contains(" heap ") })
        XCTAssertEqual(heap.split(separator: " ")[1], "bind:0", String(heap))
    }

    func testInheritedInterleaveNeverReachesTheProgram() throws {
        let numactl = try XCTUnwrap(numactl, "numactl is installed by scripts/test")
        let control = try Command.run(numactl, ["--interleave=all", "grep", "-m1", "heap", "/proc/self/numa_maps"])
        XCTAssertTrue(control.stdout.contains(" interleave:"), "numactl's interleave is inherited without numaguard: \(control.stdout)")
        let result = try Command.run(numactl, ["--interleave=all", Command.numaguard, "run", "--", "grep", "-m1", "heap", "/proc/self/numa_maps"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.split(separator: " ").dropFirst().first, "default", result.stdout)
    }

    func testCPUsAreApplied() throws {
        let allowed = try IDs.expand(try XCTUnwrap(try ownStatus("Cpus_allowed_list")))
        let last = try XCTUnwrap(allowed.last)
        let result = try run("-C", "\(last)", "--", "grep", "Cpus_allowed_list", "/proc/self/status")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(statusField(result.stdout, "Cpus_allowed_list"), "\(last)")
        let nodes = try run("-N", "0", "--", "grep", "Cpus_allowed_list", "/proc/self/status")
        XCTAssertEqual(nodes.status, 0, nodes.stderr)
        let node0 = try IDs.expand(try String(contentsOfFile: "/sys/devices/system/node/node0/cpulist", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(try IDs.expand(try XCTUnwrap(statusField(nodes.stdout, "Cpus_allowed_list"))), node0.filter(allowed.contains),
                       "node 0's CPUs that this process may use")
    }

    func testTheProgramKeepsNumaguardsPID() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.numaguard)
        process.arguments = ["run", "-m", "0", "--", "sh", "-c", "echo $$"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "\(process.processIdentifier)\n", "exec in place: no fork")
    }

    func testEnvironmentAndArgumentsAreHandedOnUnchanged() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["NUMAGUARD_TEST_VALUE"] = "a b\tc"
        let result = try Command.run(Command.numaguard, ["run", "--", "sh", "-c", "printf '[%s]' \"$NUMAGUARD_TEST_VALUE\" \"$@\"", "sh",
                                                         "", "-m", "--", "x y"], environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "[a b\tc][][-m][--][x y]")
    }

    func testIgnoredSignalsAreResetBeforeExec() throws {
        func ignored(_ output: String) throws -> UInt64 {
            try XCTUnwrap(UInt64(try XCTUnwrap(statusField(output, "SigIgn"), output), radix: 16))
        }
        let term: UInt64 = 1 << (SIGTERM - 1), hup: UInt64 = 1 << (SIGHUP - 1)
        let control = try Command.run("/bin/sh", ["-c", "trap '' TERM HUP; exec grep SigIgn /proc/self/status"])
        XCTAssertEqual(try ignored(control.stdout) & (term | hup), term | hup, "without numaguard they survive exec: \(control.stdout)")

        let result = try Command.run("/bin/sh", ["-c", "trap '' TERM HUP; exec \"$0\" run -- grep -E '^Sig(Ign|Blk)' /proc/self/status",
                                                 Command.numaguard])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try ignored(result.stdout), 0, result.stdout)
        XCTAssertEqual(statusField(result.stdout, "SigBlk"), "0000000000000000")

        // Signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): its sigaction refuses them,
        // so a caller that ignored them with the raw system call (python's ctypes here) would
        // pass the ignore on; numaguard resets them with the raw call too.
        let rtSigaction: Int
        #if arch(x86_64)
        rtSigaction = 13
        #elseif arch(arm64)
        rtSigaction = 134
        #else
        throw XCTSkip("no rt_sigaction number for this architecture in the test")
        #endif
        let ignoreAndExec = """
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            ignore = (ctypes.c_ulong * 4)(1, 0, 0, 0)
            for signal in (32, 33):
                if libc.syscall(\(rtSigaction), signal, ignore, None, 8) != 0:
                    sys.exit("rt_sigaction %d: errno %d" % (signal, ctypes.get_errno()))
            os.execv(sys.argv[1], sys.argv[1:])
            """
        let reserved: UInt64 = 1 << 31 | 1 << 32
        let raw = try Command.run("/usr/bin/python3", ["-c", ignoreAndExec, "/bin/grep", "SigIgn", "/proc/self/status"])
        XCTAssertEqual(try ignored(raw.stdout) & reserved, reserved, "the control: both ignored through exec \(raw.stdout)\(raw.stderr)")
        let reset = try Command.run("/usr/bin/python3", ["-c", ignoreAndExec, Command.numaguard, "run", "--", "grep", "SigIgn", "/proc/self/status"])
        XCTAssertEqual(reset.status, 0, reset.stderr)
        XCTAssertEqual(try ignored(reset.stdout), 0, reset.stdout)
    }

    func testKeepCapsWithAUserSwitchWarnsThatNothingIsKept() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root: the warning is about a switch from root") }
        let result = try run("--dry-run", "--keep-caps", "--user", "nobody", "--", "true")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("  warning: --keep-caps with --user nobody: switching from root to uid "), result.stdout)
    }

    func testCapabilitiesAreClearedUnlessKept() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root: a non-root launch has no capability to clear") }
        XCTAssertNotEqual(try ownStatus("CapEff"), "0000000000000000", "the test runs with capabilities")
        let fields = "^(CapInh|CapPrm|CapEff|CapAmb|NoNewPrivs):"
        // The program is root and exec'd: without no_new_privs, exec would refill its permitted
        // set from the bounding set. A second exec (sh, then grep) must not regain anything either.
        for command in [["grep", "-E", fields, "/proc/self/status"], ["sh", "-c", "exec grep -E '\(fields)' /proc/self/status"]] {
            let cleared = try Command.numaguard(["run", "--"] + command)
            XCTAssertEqual(cleared.status, 0, cleared.stderr)
            for key in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
                XCTAssertEqual(statusField(cleared.stdout, key), "0000000000000000", "\(key) after \(command): \(cleared.stdout)")
            }
            XCTAssertEqual(statusField(cleared.stdout, "NoNewPrivs"), "1")
        }

        let kept = try run("--keep-caps", "--", "grep", "-E", fields, "/proc/self/status")
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssertNotEqual(statusField(kept.stdout, "CapEff"), "0000000000000000", kept.stdout)
        XCTAssertEqual(statusField(kept.stdout, "CapEff"), try ownStatus("CapEff"))
        XCTAssertEqual(statusField(kept.stdout, "NoNewPrivs"), try ownStatus("NoNewPrivs"))
    }

    /// The front links no libcap: libcap's constructor probed PR_CAPBSET_READ for every
    /// capability at every start of the launcher (six prctl calls before anything of
    /// `numaguard run`); capabilities are cleared through CLinux's capset instead.
    func testTheFrontLinksNoLibcap() throws {
        let binary = try Data(contentsOf: URL(fileURLWithPath: Command.numaguard))
        for marker in ["libcap.so", "_libcap_initialize", "cap_set_proc"] {
            XCTAssertNil(binary.range(of: Data(marker.utf8)), "\(Command.numaguard) holds \(marker)")
        }
    }

    func testRecordNamesTheProgramsPID() throws {
        let records = scratch.appendingPathComponent("records")
        try FileManager.default.createDirectory(at: records, withIntermediateDirectories: true)
        let result = try run("--record", records.path, "-m", "0", "--", "sh", "-c", "echo $$")
        XCTAssertEqual(result.status, 0, result.stderr)
        let pid = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let files = try FileManager.default.contentsOfDirectory(atPath: records.path)
        XCTAssertEqual(files.count, 1, "\(files)")
        let name = try XCTUnwrap(files.first)
        XCTAssertTrue(name.hasPrefix("\(pid)-") && name.hasSuffix(".json"), name)
        let record = try Command.json(try String(contentsOf: records.appendingPathComponent(name), encoding: .utf8))
        XCTAssertEqual(record["pid"] as? Int, Int(pid))
        XCTAssertEqual(record["arguments"] as? [String], ["sh", "-c", "echo $$"])
        XCTAssertEqual(record["memory_policy"] as? String, "bind:0")
        XCTAssertTrue(record["cpus"] is NSNull)
        XCTAssertEqual(record["boot_id"] as? String,
                       try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertTrue((record["program"] as? String)?.hasSuffix("/sh") == true)

        let unwritable = try run("--record", scratch.path + "/no/such/dir", "--", "touch", scratch.path + "/ran")
        XCTAssertEqual(unwritable.status, 125)
        XCTAssertTrue(unwritable.stderr.hasPrefix("numaguard run: failed: --record \(scratch.path)/no/such/dir: "), unwritable.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path + "/ran"), "no record, no launch")
    }

    // MARK: Dry runs against recorded guests

    func testDryRunAgainstARecordedGuest() throws {
        let result = try run("--dry-run", "--host-root", Fixtures.path("linux-6.1-2node"), "-m", "1", "-N", "1", "--", "x", "--flag")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        XCTAssertEqual(result.stdout, """
            numaguard run --dry-run: nothing was changed or executed
              placement from: -N 1 -m 1
              program:        x --flag
              cpus:           2-3 (node 1)
              memory policy:  bind:1 (set explicitly: nothing inherited survives exec)
              user:           unchanged
              capabilities:   cleared (ambient, effective, permitted, inheritable); no_new_privs set, so no exec regains any
              signals:        mask emptied, every disposition default
              launch record:  none
              warning: kernel.numa_balancing is 1: the kernel takes NUMA hinting faults on this process and may migrate its default-policy pages; set it to 0 for pinned latency work

            """)
    }

    func testDryRunJSON() throws {
        let result = try run("--dry-run", "--format", "json", "--host-root", Fixtures.path("linux-6.1-4node-asym"), "-m", "2-3", "-N", "+2",
                             "--keep-caps", "--record", "/var/lib/numaguard", "--", "engine", "a \"b\"")
        XCTAssertEqual(result.status, 0, result.stderr)
        let plan = try Command.json(result.stdout)
        XCTAssertEqual(plan["format_version"] as? Int, 1)
        XCTAssertEqual(plan["kind"] as? String, "run-plan")
        XCTAssertEqual(plan["program"] as? String, "engine")
        XCTAssertEqual(plan["arguments"] as? [String], ["engine", "a \"b\""])
        XCTAssertEqual(plan["cpus"] as? String, "2")
        XCTAssertEqual(plan["cpu_nodes"] as? String, "2")
        XCTAssertEqual(plan["memory_policy"] as? String, "bind:2-3")
        XCTAssertEqual(plan["keep_capabilities"] as? Bool, true)
        XCTAssertEqual(plan["record_directory"] as? String, "/var/lib/numaguard")
        XCTAssertEqual(plan["source"] as? String, "-N +2 -m 2-3")
        XCTAssertEqual((plan["warnings"] as? [String])?.count, 1, "numa_balancing is 1 in the guest")

        let rt = try Command.json(try run("--dry-run", "--format", "json", "--host-root", Fixtures.path("linux-rt-2node"), "-l").stdout)
        XCTAssertTrue(rt["program"] is NSNull, "a dry run needs no program")
        XCTAssertTrue(rt["cpus"] is NSNull)
        XCTAssertEqual(rt["memory_policy"] as? String, "local")
        XCTAssertEqual(rt["warnings"] as? [String], [], "the RT kernel has no NUMA balancing")
    }

    func testRefusalsUnderHostRoot() throws {
        assertRefused(try run("--dry-run", "--host-root", Fixtures.path("linux-6.1-2node"), "-m", "5", "--", "x"),
                      "-m 5: node 5 does not exist or is offline (online nodes: 0-1)")
        assertRefused(try run("--dry-run", "--host-root", Fixtures.path("linux-6.1-cpuless"), "-N", "2", "--", "x"),
                      "-N 2: node 2 has no CPUs (a memory-only node); nodes with CPUs: 0-1")
        assertRefused(try run("--dry-run", "--host-root", Fixtures.path("linux-6.1-2node"), "-w", "0-1", "--allow-interleave", "--", "x"),
                      "weighted-interleave needs Linux 6.9 or later; this kernel is 6.1.0-56-amd64")
        assertRefused(try run("--dry-run", "--host-root", Fixtures.path("linux-6.1-2node"), "-m", "1", "--min-free", "1GiB", "--", "x"),
                      "node 1 has 322.5 MiB free of 503.2 MiB; --min-free 1 GiB requires 1 GiB")
        assertRefused(try run("--dry-run", "--host-root", Fixtures.path("linux-6.12-2node"), "-m", "1", "--require-balancing-off", "--", "x"),
                      "kernel.numa_balancing is 1")
        let accepted = try run("--dry-run", "--host-root", Fixtures.path("linux-6.12-2node"), "-w", "0-1", "--allow-interleave", "--", "x")
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        XCTAssertTrue(accepted.stdout.contains("  memory policy:  weighted interleave:0-1 "), accepted.stdout)
        let memoryOnly = try run("--dry-run", "--host-root", Fixtures.path("linux-6.1-cpuless"), "-m", "2", "-N", "0", "--", "x")
        XCTAssertEqual(memoryOnly.status, 0, memoryOnly.stderr)
        XCTAssertTrue(memoryOnly.stdout.contains("  cpus:           0-1 (node 0)\n  memory policy:  bind:2 "), memoryOnly.stdout)
    }

    func testDeviceSpecifiersRefuseWith125NamingTheSpecifierAndTheFile() throws {
        let marker = scratch.appendingPathComponent("touched").path
        assertRefused(try run("-N", "netdev:nope0", "--", "touch", marker), "-N netdev:nope0: no /sys/class/net/nope0")
        // ip:127.0.0.1 routes through lo (a real netlink lookup), which has no bus device.
        assertRefused(try run("-m", "ip:127.0.0.1", "--", "touch", marker), "-m ip:127.0.0.1: lo has no bus device")
        assertRefused(try run("-m", "ip:localhost", "--", "touch", marker), "resolves no host names")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a refused launch runs nothing")
        assertUsage(try run("-C", "netdev:lo", "--", "true"), "-C \"netdev:lo\": a device names a node, not CPUs")
        assertUsage(try run("-N", "+netdev:lo", "--", "true"), "-N \"+netdev:lo\": \"+\" is meaningless with a device")
        assertUsage(try run("-N", "block:/dev/vda", "--", "true"), "-N \"block:/dev/vda\": block:/dev/vda: block: takes a kernel name")
        // A captured host has neither the live stat nor the routing table.
        let captured = Fixtures.path("linux-6.1-2node")
        assertRefused(try run("--dry-run", "--host-root", captured, "-N", "file:/etc/hostname", "--", "x"),
                      "-N file:/etc/hostname: file: needs a stat on the live host; --host-root describes another host")
        assertRefused(try run("--dry-run", "--host-root", captured, "-N", "ip:127.0.0.1", "--", "x"), "ip: needs the live routing table")
        assertRefused(try run("--dry-run", "--host-root", captured, "-N", "netdev:eth0", "--", "x"),
                      "-N netdev:eth0: no \(captured)/sys/class/net/eth0")
    }

    // MARK: Policy form

    func testPolicyDryRunWithTheShippedPolicies() throws {
        let trading = shipped("trading-host.yaml")
        let engine = try run("--dry-run", "--host-root", Fixtures.path("linux-rt-2node"), "--policy", trading, "--workload", "trading-engine",
                             "--", "trading_engine")
        XCTAssertEqual(engine.status, 0, engine.stderr)
        XCTAssertTrue(engine.stdout.contains("  placement from: workload \"trading-engine\" of \(trading)\n"), engine.stdout)
        XCTAssertTrue(engine.stdout.contains("  cpus:           0-1 (node 0)\n  memory policy:  bind:0 "), engine.stdout)

        let json = try Command.json(try run("--dry-run", "--format", "json", "--host-root", Fixtures.path("linux-rt-2node"), "--policy", trading,
                                            "--workload", "analytics", "--", "run").stdout)
        XCTAssertEqual(json["cpus"] as? String, "2-3")
        XCTAssertEqual(json["memory_policy"] as? String, "bind:1")

        // The policy says numa_balancing: off, and the 6.1 guest has it on.
        assertRefused(try run("--dry-run", "--host-root", Fixtures.path("linux-6.1-2node"), "--policy", trading, "--workload", "trading-engine",
                              "--", "trading_engine"), "kernel.numa_balancing is 1")

        let batch = try run("--dry-run", "--host-root", Fixtures.path("linux-rt-2node"), "--policy", shipped("batch-isolation.yaml"),
                            "--workload", "batch", "--", "batch-runner")
        XCTAssertEqual(batch.status, 0, batch.stderr)
        XCTAssertTrue(batch.stdout.contains("  cpus:           2-3 (node 1)\n  memory policy:  bind:1 "), batch.stdout)

        let unknown = try run("--dry-run", "--policy", trading, "--workload", "trading", "--", "x")
        assertUsage(unknown, "--workload trading: \(trading) declares no such workload (it declares: trading-engine, analytics)")
    }

    func testPolicyFormRunsTheProgram() throws {
        let policy = scratch.appendingPathComponent("local.yaml")
        try """
            version: 1
            workloads:
              - name: probe
                match: {comm: sh}
                cpus: {nodes: [0]}
                memory: {policy: bind, nodes: [0]}
            """.write(to: policy, atomically: true, encoding: .utf8)
        let result = try run("--policy", policy.path, "--workload", "probe", "--", "sh", "-c", "grep -m1 heap /proc/self/numa_maps; exit 5")
        XCTAssertEqual(result.status, 5, result.stderr)
        XCTAssertEqual(result.stdout.split(separator: " ").dropFirst().first, "bind:0", result.stdout)
    }

    func testInvalidPolicyExits125WithItsLocation() throws {
        let policy = scratch.appendingPathComponent("bad.yaml")
        try "version: 1\nworkloads:\n  - name: engine\n    matc: {comm: engine}\n".write(to: policy, atomically: true, encoding: .utf8)
        let marker = scratch.appendingPathComponent("ran").path
        let result = try run("--policy", policy.path, "--workload", "engine", "--", "touch", marker)
        XCTAssertEqual(result.status, 125, result.stderr)
        XCTAssertEqual(result.stdout, "")
        XCTAssertTrue(result.stderr.contains("\(policy.path):4:5: error: unknown key \"matc\""), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean \"match\"?"), result.stderr)
        XCTAssertTrue(result.stderr.hasSuffix("numaguard run: refused: \(policy.path) is not a valid policy; nothing was executed\n"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))

        let missing = try run("--policy", scratch.path + "/none.yaml", "--workload", "engine", "--", "touch", marker)
        XCTAssertEqual(missing.status, 125, "run's own contract: refused before exec")
        XCTAssertEqual(missing.stderr, "numaguard run: refused: cannot read the policy \(scratch.path)/none.yaml: "
                       + "No such file or directory; nothing was executed\n")
    }
}

/// Expands a kernel list (`0-3,8`) without the library under test.
enum IDs {
    struct Malformed: Error {}

    static func expand(_ list: String) throws -> [Int] {
        var members: [Int] = []
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0) }
            guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, bounds.count <= 2 else { throw Malformed() }
            members += Array(low...high)
        }
        return members
    }
}
