import NumaguardCore
@testable import NumaguardLaunch
import XCTest

/// `numaguard run`'s command line: every numactl spelling means what it means to numactl,
/// the program starts where numactl's would, and every combination that cannot mean
/// anything is a usage error (125) before the host is read.
final class LaunchArgumentsTests: XCTestCase {
    private func parse(_ arguments: String...) throws(LaunchError) -> LaunchRequest {
        try LaunchArguments.parse(arguments)
    }

    private func nodes(_ text: String) throws -> NumactlSet { try NumactlSet.parse(text, kind: .node, option: "-m") }

    // MARK: numactl's spellings

    func testEveryMembindSpellingMeansBindToTheNodes() throws {
        for (arguments, spelled) in [(["-m0"], "-m"), (["-m", "0"], "-m"), (["-m=0"], "-m"), (["--membind=0"], "--membind"),
                                     (["--membind", "0"], "--membind")] {
            let request = try LaunchArguments.parse(arguments + ["--", "prog"])
            let memory = try XCTUnwrap(request.memory, "\(arguments)")
            XCTAssertEqual(memory.mode, .bind, "\(arguments)")
            XCTAssertEqual(memory.nodes?.ids, IDSet([0]), "\(arguments)")
            XCTAssertEqual(memory.nodes?.kind, .node)
            XCTAssertEqual(memory.source, spelled, "messages name the option as the user spelled it")
            XCTAssertEqual(request.command, ["prog"])
        }
    }

    func testEveryMemoryMode() throws {
        let cases: [([String], MemoryPolicy.Mode, String?)] = [
            (["-p", "1"], .preferred, "1"), (["--preferred=1"], .preferred, "1"),
            (["-P", "0,1"], .preferredMany, "0,1"), (["--preferred-many", "0-1"], .preferredMany, "0-1"),
            (["-i", "all"], .interleave, "all"), (["--interleave=0-1"], .interleave, "0-1"),
            (["-w", "0-1"], .weightedInterleave, "0-1"), (["--weighted-interleave", "all"], .weightedInterleave, "all"),
            (["-l"], .local, nil), (["--localalloc"], .local, nil),
        ]
        for (arguments, mode, nodes) in cases {
            let memory = try XCTUnwrap(try LaunchArguments.parse(arguments + ["prog"]).memory, "\(arguments)")
            XCTAssertEqual(memory.mode, mode, "\(arguments)")
            XCTAssertEqual(memory.nodes?.text, nodes, "\(arguments)")
        }
    }

    func testCPUOptions() throws {
        for arguments in [["-N", "1"], ["-N1"], ["--cpunodebind=1"], ["--cpunodebind", "1"], ["--cpubind", "1"], ["--cpubind=1"]] {
            let request = try LaunchArguments.parse(arguments + ["prog"])
            XCTAssertEqual(request.cpuNodes, try nodes("1"), "\(arguments)")
            XCTAssertNil(request.physicalCPUs)
            XCTAssertNil(request.memory, "-N alone sets no memory option (the plan still resets the policy)")
        }
        for arguments in [["-C", "0-1,3"], ["-C0-1,3"], ["--physcpubind=0-1,3"], ["--physcpubind", "0-1,3"]] {
            let request = try LaunchArguments.parse(arguments + ["prog"])
            let cpus = try XCTUnwrap(request.physicalCPUs, "\(arguments)")
            XCTAssertEqual(cpus.kind, .cpu)
            XCTAssertEqual(cpus.ids, IDSet(Array(0...1) + [3]))
        }
        let both = try parse("-N", "!0", "-C", "+1", "prog")
        XCTAssertEqual(both.cpuNodes?.inverted, true)
        XCTAssertEqual(both.physicalCPUs?.relative, true)
    }

    func testProcessAndCheckOptions() throws {
        let request = try parse("--membind", "0", "--static-nodes", "--allow-interleave", "--require-balancing-off", "--user", "trader",
                                "--keep-caps", "--record", "/var/lib/numaguard/launches", "prog")
        XCTAssertTrue(request.staticNodes)
        XCTAssertTrue(request.allowInterleave)
        XCTAssertTrue(request.requireBalancingOff)
        XCTAssertEqual(request.user, "trader")
        XCTAssertTrue(request.keepCapabilities)
        XCTAssertEqual(request.recordDirectory, "/var/lib/numaguard/launches")
        XCTAssertFalse(request.dryRun)

        let plain = try parse("prog")
        XCTAssertFalse(plain.staticNodes || plain.allowInterleave || plain.requireBalancingOff || plain.keepCapabilities)
        XCTAssertNil(plain.memory)
        XCTAssertNil(plain.user)
        XCTAssertEqual(plain.format, .text)
    }

    // MARK: Where the program starts

    func testProgramStartsAtTheFirstNonOption() throws {
        XCTAssertEqual(try parse("-m", "0", "ls", "-l").command, ["ls", "-l"])
        XCTAssertEqual(try parse("-m0", "ls", "-m", "1").command, ["ls", "-m", "1"], "options after the program are the program's")
        XCTAssertEqual(try parse("-m", "0", "--", "ls", "-l").command, ["ls", "-l"])
        XCTAssertEqual(try parse("--", "-m", "0").command, ["-m", "0"], "after -- everything is the program")
        XCTAssertEqual(try parse("-m", "0", "--", "ls", "--", "x").command, ["ls", "--", "x"])
        XCTAssertEqual(try parse("-", "x").command, ["-", "x"], "a lone dash is not an option")
        XCTAssertEqual(try parse("-l", "/bin/echo", "").command, ["/bin/echo", ""])
        XCTAssertEqual(try parse("-l", "prog").memory?.mode, .local, "-l takes no value: prog is the program")
    }

    /// The program and its arguments are bytes, as execve takes them: a path or argument
    /// that is not UTF-8 comes out unchanged (a String would have turned it into U+FFFD).
    func testTheProgramAndArgumentsAreKeptByteForByte() throws {
        let program = RawArgument(bytes: [0x2F, 0x74, 0xFF, 0x2F, 0x70])   // "/t\xff/p"
        let latin1 = RawArgument(bytes: [0x63, 0x61, 0x66, 0xE9])          // "caf\xe9"
        let truncated = RawArgument(bytes: [0xE2, 0x82])                   // half of "€"
        for arguments in [["-m", "0", program, latin1, truncated], ["--", program, latin1, truncated], [program, latin1, truncated]] as [[RawArgument]] {
            XCTAssertEqual(try LaunchArguments.parse(arguments).command.map(\.bytes), [program.bytes, latin1.bytes, truncated.bytes])
        }
        XCTAssertEqual(program.text, "/t\u{FFFD}/p", "the text form is for messages only")
    }

    /// Option values are text: one that is not UTF-8 is refused, not silently repaired.
    func testOptionValuesThatAreNotUTF8AreRefused() {
        let bad = RawArgument(bytes: [0x75, 0xFF])
        for arguments in [["--user", bad, "prog"], ["--record", bad, "prog"], ["-m", bad, "prog"]] as [[RawArgument]] {
            assertLaunchError(.usage, "\(arguments[0]) \"u\u{FFFD}\": the value is not valid UTF-8") { try LaunchArguments.parse(arguments) }
        }
        assertLaunchError(.usage, "--user \"u\u{FFFD}\": the value is not valid UTF-8") {
            try LaunchArguments.parse([RawArgument(bytes: Array("--user=".utf8) + [0x75, 0xFF]), "prog"])
        }
    }

    func testNoProgramIsAUsageErrorUnlessDryRun() throws {
        assertLaunchError(.usage, "no program given: numaguard run [options] -- PROGRAM [ARGS...]") { try parse("-m", "0") }
        assertLaunchError(.usage, "no program given") { try parse() }
        assertLaunchError(.usage, "no program given") { try parse("-m", "0", "--") }
        let dry = try parse("--dry-run", "-m", "0")
        XCTAssertTrue(dry.dryRun)
        XCTAssertEqual(dry.command, [])
    }

    // MARK: Refusals of the command line

    func testConflictingMemoryPoliciesAreRefused() {
        assertLaunchError(.usage, "-i conflicts with -m: give one memory policy") { try parse("-m", "0", "-i", "1", "prog") }
        assertLaunchError(.usage, "--membind conflicts with -l") { try parse("-l", "--membind=0", "prog") }
        assertLaunchError(.usage, "-p conflicts with --preferred") { try parse("--preferred", "0", "-p", "1", "prog") }
        assertLaunchError(.usage, "-m conflicts with -m") { try parse("-m", "0", "-m", "1", "prog") }
    }

    func testCPUOptionsGivenTwiceAreRefused() {
        assertLaunchError(.usage, "-N given twice") { try parse("-N", "0", "-N", "1", "prog") }
        assertLaunchError(.usage, "--cpunodebind given twice") { try parse("-N", "0", "--cpunodebind", "0", "prog") }
        assertLaunchError(.usage, "-C given twice") { try parse("-C", "0", "-C", "1", "prog") }
        assertLaunchError(.usage, "--min-free given twice") { try parse("--min-free", "1GiB", "--min-free", "2GiB", "prog") }
        assertLaunchError(.usage, "--user given twice") { try parse("--user", "a", "--user", "a", "prog") }
    }

    func testUnsupportedNumactlOptionsAreRefusedWithTheirReason() {
        assertLaunchError(.usage, "-a is not supported: numaguard run always honours the cpuset") { try parse("-a", "prog") }
        assertLaunchError(.usage, "--all is not supported: numaguard run always honours the cpuset") { try parse("--all", "prog") }
        assertLaunchError(.usage, "-b is not supported: MPOL_F_NUMA_BALANCING lets NUMA balancing move pinned memory") {
            try parse("-b", "-m0", "prog")
        }
        assertLaunchError(.usage, "--balancing is not supported") { try parse("--balancing", "prog") }
        assertLaunchError(.usage, "-H is not supported: use `numaguard topology`") { try parse("-H") }
        assertLaunchError(.usage, "--hardware is not supported: use `numaguard topology`") { try parse("--hardware") }
        for option in ["--shm", "--file", "--touch", "--length", "--offset", "--strict", "--shmmode", "--shmid", "--huge"] {
            assertLaunchError(.usage, "\(option) is not supported: shared-memory policies are not supported; use numactl for those") {
                try parse(option, "x", "prog")
            }
        }
        assertLaunchError(.usage, "--shm is not supported") { try parse("--shm=/dev/shm/x", "prog") }
        for option in ["-S", "-f", "-L", "-M", "-I"] {
            assertLaunchError(.usage, "\(option) is not supported: shared-memory policies") { try parse(option, "x", "prog") }
        }
    }

    func testUnknownOptionsSuggestTheNearestKnownOne() {
        assertLaunchError(.usage, "unknown option --membin (did you mean --membind?)") { try parse("--membin", "0", "prog") }
        assertLaunchError(.usage, "unknown option --dry (did you mean --dry-run?)") { try parse("--dry") }
        assertLaunchError(.usage, "unknown option --interleave-all (did you mean --interleave?)") { try parse("--interleave-all", "prog") }
        assertLaunchError(.usage, "unknown option --memebind (did you mean --membind?)") { try parse("--memebind", "0", "prog") }
        assertLaunchError(.usage, "unknown option --phycpubind (did you mean --physcpubind?)") { try parse("--phycpubind", "0", "prog") }
        let message = assertLaunchError(.usage, "unknown option --frobnicate") { try parse("--frobnicate", "prog") }
        XCTAssertEqual(message, "unknown option --frobnicate", "no suggestion when nothing is near")
        assertLaunchError(.usage, "unknown option -x") { try parse("-x", "prog") }
    }

    func testValuesAndFlags() {
        assertLaunchError(.usage, "-m needs a value") { try parse("-m") }
        assertLaunchError(.usage, "--membind needs a value") { try parse("--membind") }
        assertLaunchError(.usage, "--localalloc takes no value") { try parse("--localalloc=0", "prog") }
        assertLaunchError(.usage, "-l takes no value") { try parse("-l0", "prog") }
        assertLaunchError(.usage, "--dry-run takes no value") { try parse("--dry-run=yes") }
        assertLaunchError(.usage, "--membind \"\": no nodes given") { try parse("--membind=", "prog") }
        assertLaunchError(.usage, "-N \"x\"", "found \"x\"") { try parse("-N", "x", "prog") }
        assertLaunchError(.usage, "--physcpubind \"3-1\": range 3-1 is descending") { try parse("--physcpubind", "3-1", "prog") }
    }

    func testStaticNodesNeedsAMemoryPolicyWithNodes() throws {
        XCTAssertTrue(try parse("-m", "0", "--static-nodes", "prog").staticNodes)
        assertLaunchError(.usage, "--static-nodes applies to a memory policy with nodes") { try parse("--static-nodes", "prog") }
        assertLaunchError(.usage, "--static-nodes applies to a memory policy with nodes") { try parse("-l", "--static-nodes", "prog") }
        assertLaunchError(.usage, "--static-nodes applies") { try parse("-N", "0", "--static-nodes", "prog") }
    }

    // MARK: --show

    func testShowStandsAlone() throws {
        XCTAssertTrue(try parse("--show").show)
        XCTAssertTrue(try parse("-s").show)
        let expected = "--show prints this process's placement and takes no other option or program"
        assertLaunchError(.usage, expected) { try parse("--show", "-m", "0") }
        assertLaunchError(.usage, expected) { try parse("--show", "-N", "0") }
        assertLaunchError(.usage, expected) { try parse("-s", "prog") }
        assertLaunchError(.usage, expected) { try parse("--show", "--policy", "p.yaml", "--workload", "w") }
        assertLaunchError(.usage, expected) { try parse("--show", "--workload", "w") }
        assertLaunchError(.usage, expected) { try parse("--show", "--dry-run", "--host-root", "/captures/h1") }
        assertLaunchError(.usage, expected) { try parse("--show", "--dry-run") }
        assertLaunchError(.usage, expected) { try parse("--show", "--user", "trader") }
        assertLaunchError(.usage, expected) { try parse("--show", "--keep-caps") }
        assertLaunchError(.usage, expected) { try parse("--show", "--format", "json") }
    }

    func testHelpWinsOverEverythingElse() throws {
        XCTAssertTrue(try parse("--help").help)
        XCTAssertTrue(try parse("-h").help)
        XCTAssertTrue(try parse("-m", "0", "--help").help, "help is answered even without a program")
    }

    // MARK: Policy form

    func testPolicyAndWorkloadGoTogether() throws {
        let request = try parse("--policy", "p.yaml", "--workload", "engine", "--", "engine")
        XCTAssertEqual(request.policyPath, "p.yaml")
        XCTAssertEqual(request.workload, "engine")
        XCTAssertFalse(request.hasPlacementFlags)
        let together = "--policy and --workload go together: the workload names the placement in the policy"
        assertLaunchError(.usage, together) { try parse("--policy", "p.yaml", "engine") }
        assertLaunchError(.usage, together) { try parse("--workload", "engine", "engine") }
    }

    func testPlacementFlagsWithAPolicyAreRefused() throws {
        let message = "the placement comes from the policy's workload; drop the numactl-style placement options or --policy"
        for flags in [["-m", "0"], ["-N", "0"], ["-C", "1"], ["-l"], ["-i", "all", "--allow-interleave"], ["-m", "0", "--static-nodes"]] {
            assertLaunchError(.usage, message) { try LaunchArguments.parse(["--policy", "p.yaml", "--workload", "w"] + flags + ["prog"]) }
        }
        // Checks and process options combine with a policy.
        let request = try parse("--policy", "p.yaml", "--workload", "w", "--min-free", "1GiB", "--user", "u", "--keep-caps", "prog")
        XCTAssertEqual(request.minFree, .bytes(1 << 30))
    }

    // MARK: --host-root, --dry-run, --format

    func testHostRootOnlyWithDryRun() throws {
        assertLaunchError(.usage, "--host-root describes another host: it is only meaningful with --dry-run") {
            try parse("--host-root", "/captures/h1", "-m", "0", "prog")
        }
        let request = try parse("--dry-run", "--host-root", "/captures/h1", "-m", "0", "prog")
        XCTAssertEqual(request.hostRoot, "/captures/h1")
        XCTAssertTrue(request.dryRun)
    }

    func testFormat() throws {
        XCTAssertEqual(try parse("--dry-run", "--format", "json").format, .json)
        XCTAssertEqual(try parse("--dry-run", "--format=text").format, .text)
        assertLaunchError(.usage, "--format \"xml\": expected text or json") { try parse("--dry-run", "--format", "xml") }
        assertLaunchError(.usage, "--format \"junit\": expected text or json") { try parse("--dry-run", "--format=junit") }
    }

    // MARK: --min-free

    func testMinFreeSizesAndPercents() throws {
        let cases: [(String, LaunchRequest.FreeMemory)] = [
            ("2GiB", .bytes(2 << 30)), ("512MiB", .bytes(512 << 20)), ("1.5GiB", .bytes(3 << 29)), ("64KiB", .bytes(65536)),
            ("4096", .bytes(4096)), ("1TiB", .bytes(1 << 40)), ("10%", .percent(10)), ("0.5%", .percent(0.5)), ("100%", .percent(100)),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try parse("--min-free", text, "prog").minFree, expected, text)
            XCTAssertEqual(try parse("--min-free=\(text)", "prog").minFree, expected, text)
        }
    }

    func testMinFreeBadSpellingsAreRefused() {
        for text in ["1GB", "1G", "512mb", "2k"] {
            assertLaunchError(.usage, "--min-free \"\(text)\" is ambiguous: write sizes in 1024-based units (KiB, MiB, GiB, TiB)") {
                try parse("--min-free", text, "prog")
            }
        }
        assertLaunchError(.usage, "--min-free \"lots\" is not a size") { try parse("--min-free", "lots", "prog") }
        assertLaunchError(.usage, "--min-free \"-1GiB\" is not a size") { try parse("--min-free", "-1GiB", "prog") }
        assertLaunchError(.usage, "--min-free \"150%\" is outside 0%...100%") { try parse("--min-free", "150%", "prog") }
        assertLaunchError(.usage, "--min-free \"x%\" is not a percentage") { try parse("--min-free", "x%", "prog") }
    }
}
