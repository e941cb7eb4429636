#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
@testable import NumaguardHost
@testable import NumaguardLaunch
import TestSupport
import XCTest

/// A stand-in for the process itself that records every side effect in order. The VM tests
/// prove each call for real; this proves the sequence: placement, read-back, record, user,
/// capabilities, signals, exec, and that any failure before exec stops there.
final class RecordingProcess: SelfPlacing {
    var events: [String] = []
    var policy = MemoryPolicy.default
    var cpus = IDSet(0...3)
    /// What the kernel "narrows" the affinity to, as it does to a cpuset that changed.
    var narrowedCPUs: IDSet?
    var narrowedPolicy: MemoryPolicy?
    var records: [(LaunchRecord, String)] = []
    var failing: String?
    var execErrno = Errno.noEntry

    private func failure(_ call: String) -> SystemCallError? {
        failing == call ? SystemCallError(call: call, subject: "test", errno: .notPermitted) : nil
    }

    func setMemoryPolicy(_ policy: MemoryPolicy) throws(SystemCallError) {
        events.append("set_mempolicy \(policy.kernelSpelling)")
        if let error = failure("set_mempolicy") { throw error }
        self.policy = narrowedPolicy ?? policy
    }

    func setAffinity(_ cpus: IDSet) throws(SystemCallError) {
        events.append("sched_setaffinity \(cpus)")
        if let error = failure("sched_setaffinity") { throw error }
        self.cpus = narrowedCPUs ?? cpus
    }

    func memoryPolicy() throws(LaunchError) -> MemoryPolicy {
        events.append("get_mempolicy")
        return policy
    }

    func affinity() throws(SystemCallError) -> IDSet {
        events.append("sched_getaffinity")
        return cpus
    }

    func writeRecord(_ record: LaunchRecord, directory: String) throws(OutputError) {
        events.append("record \(directory)")
        if let error = failure("record") { throw OutputError(directory, error.description, errno: error.errno) }
        records.append((record, directory))
    }

    func become(_ credentials: Credentials) throws(Credentials.Failure) {
        events.append("become \(credentials.name)")
        if let error = failure("setuid") { throw .call(error) }
    }

    func clearCapabilities() throws(SystemCallError) {
        events.append("clear capabilities")
        if let error = failure("capset") { throw error }
    }

    func resetSignals(_ state: SignalState) throws(SystemCallError) {
        events.append("reset signals blocked \(String(state.blocked, radix: 16)) ignored \(String(state.ignored, radix: 16))")
        if let error = failure("sigprocmask") { throw error }
    }

    func exec(_ path: RawArgument, _ arguments: [RawArgument]) -> Errno {
        events.append("exec \(path) argv \(arguments.map(\.text).joined(separator: " "))")
        return execErrno
    }
}

final class LauncherTests: XCTestCase {
    private let identity = LaunchIdentity(pid: 4242, startTime: 987_654, bootID: "c0ffee00-0000-4000-8000-000000000001",
                                          time: "2026-11-21T08:00:00Z")
    private let trader = Credentials(name: "trader", uid: 1001, gid: 1001, groups: [1001, 27])

    private func launch(cpus: IDSet? = IDSet([2, 3]), memory: MemoryPolicy = MemoryPolicy(mode: .bind, nodes: IDSet([1])),
                        user: Credentials? = nil, keepCapabilities: Bool = false, record: String? = nil) -> PreparedLaunch {
        PreparedLaunch(
            plan: LaunchPlan(cpus: cpus, memory: memory, source: "--cpunodebind 1 --membind 1", warnings: [],
                             cpuNodes: cpus.map { _ in IDSet([1]) }),
            program: "/opt/engine/bin/engine", arguments: ["engine", "--venue", "XLON"], credentials: user,
            keepCapabilities: keepCapabilities, recordDirectory: record, policyPath: "/etc/numaguard/p.yaml",
            policyDigest: "abc123", workload: "trading-engine", signals: SignalState(blocked: 0x1000, ignored: 0x1001)
        )
    }

    private func execute(_ launch: PreparedLaunch, on process: RecordingProcess, identity: LaunchIdentity? = nil) -> LaunchError {
        let known = identity ?? self.identity
        return Launcher.execute(launch, on: process, identity: { known }, tool: "numaguard test")
    }

    // MARK: Order

    func testSideEffectsHappenInOrder() {
        let process = RecordingProcess()
        let error = execute(launch(user: trader, record: "/var/lib/numaguard"), on: process)
        XCTAssertEqual(process.events, [
            "set_mempolicy bind:1",
            "sched_setaffinity 2-3",
            "get_mempolicy",
            "sched_getaffinity",
            "record /var/lib/numaguard",
            "become trader",
            "clear capabilities",
            "reset signals blocked 1000 ignored 1001",
            "exec /opt/engine/bin/engine argv engine --venue XLON",
        ])
        XCTAssertEqual(error, .notFound("/opt/engine/bin/engine: \(Errno.noEntry)"), "exec returned: the wrapper reports it")
    }

    func testArgvZeroIsTheNameAsGivenAndThePathIsResolved() {
        let process = RecordingProcess()
        _ = execute(launch(), on: process)
        XCTAssertEqual(process.events.last, "exec /opt/engine/bin/engine argv engine --venue XLON")
        XCTAssertEqual(process.events, [
            "set_mempolicy bind:1", "sched_setaffinity 2-3", "get_mempolicy", "sched_getaffinity",
            "clear capabilities", "reset signals blocked 1000 ignored 1001", "exec /opt/engine/bin/engine argv engine --venue XLON",
        ], "no record, no user: neither is touched")
    }

    func testKeepCapabilitiesSkipsOnlyTheClearing() {
        let process = RecordingProcess()
        _ = execute(launch(user: trader, keepCapabilities: true), on: process)
        XCTAssertFalse(process.events.contains("clear capabilities"))
        XCTAssertEqual(Array(process.events.suffix(3)), ["become trader", "reset signals blocked 1000 ignored 1001", "exec /opt/engine/bin/engine argv engine --venue XLON"])
    }

    func testWithoutCPUsTheAffinityIsLeftAlone() {
        let process = RecordingProcess()
        _ = execute(launch(cpus: nil, memory: .default), on: process)
        XCTAssertEqual(Array(process.events.prefix(2)), ["set_mempolicy default", "get_mempolicy"],
                       "the default policy is still set explicitly; the affinity is neither set nor read")
        XCTAssertFalse(process.events.contains { $0.hasPrefix("sched_") })
        XCTAssertEqual(process.events.last, "exec /opt/engine/bin/engine argv engine --venue XLON")
    }

    // MARK: Read-back

    func testKernelNarrowingTheCPUsFailsBeforeAnythingElse() {
        let process = RecordingProcess()
        process.narrowedCPUs = IDSet([2])
        let error = execute(launch(user: trader, record: "/records"), on: process)
        XCTAssertEqual(error, .failed("the kernel holds CPUs 2 after numaguard set 2-3"))
        XCTAssertEqual(error.exitStatus, .launchFailed)
        XCTAssertEqual(error.exitStatus.rawValue, 125)
        XCTAssertEqual(process.events, ["set_mempolicy bind:1", "sched_setaffinity 2-3", "get_mempolicy", "sched_getaffinity"])
        XCTAssertTrue(process.records.isEmpty)
    }

    func testKernelHoldingAnotherPolicyFailsBeforeExec() {
        let process = RecordingProcess()
        process.narrowedPolicy = MemoryPolicy(mode: .bind, nodes: IDSet([0]))
        let error = execute(launch(), on: process)
        XCTAssertEqual(error, .failed("the kernel holds memory policy bind:0 after numaguard set bind:1"))
        XCTAssertFalse(process.events.contains { $0.hasPrefix("exec") })
        XCTAssertFalse(process.events.contains("sched_getaffinity"), "the policy is checked first")
    }

    func testStaticFlagMustSurviveTheReadBack() {
        let process = RecordingProcess()
        process.narrowedPolicy = MemoryPolicy(mode: .bind, nodes: IDSet([1]))
        let error = execute(launch(memory: MemoryPolicy(mode: .bind, nodes: IDSet([1]), staticNodes: true)), on: process)
        XCTAssertEqual(error, .failed("the kernel holds memory policy bind:1 after numaguard set bind=static:1"))
    }

    // MARK: Failures stop before exec

    func testFailingSystemCallsStopBeforeExec() {
        let cases: [(String, String, [String])] = [
            ("set_mempolicy", "set_mempolicy(test): \(Errno.notPermitted) (memory policy bind:1)", ["set_mempolicy bind:1"]),
            ("sched_setaffinity", "sched_setaffinity(test): \(Errno.notPermitted) (CPUs 2-3)", ["set_mempolicy bind:1", "sched_setaffinity 2-3"]),
            ("record", "--record /records: record(test): \(Errno.notPermitted)",
             ["set_mempolicy bind:1", "sched_setaffinity 2-3", "get_mempolicy", "sched_getaffinity", "record /records"]),
            ("setuid", "--user trader: setuid(test): \(Errno.notPermitted): switching user needs CAP_SETUID and CAP_SETGID (run numaguard as root)",
             ["set_mempolicy bind:1", "sched_setaffinity 2-3", "get_mempolicy", "sched_getaffinity", "record /records", "become trader"]),
            ("capset", "capset(test): \(Errno.notPermitted)",
             ["set_mempolicy bind:1", "sched_setaffinity 2-3", "get_mempolicy", "sched_getaffinity", "record /records", "become trader",
              "clear capabilities"]),
            ("sigprocmask", "sigprocmask(test): \(Errno.notPermitted)",
             ["set_mempolicy bind:1", "sched_setaffinity 2-3", "get_mempolicy", "sched_getaffinity", "record /records", "become trader",
              "clear capabilities", "reset signals blocked 1000 ignored 1001"]),
        ]
        for (call, message, events) in cases {
            let process = RecordingProcess()
            process.failing = call
            let error = execute(launch(user: trader, record: "/records"), on: process)
            XCTAssertEqual(error, .failed(message), call)
            XCTAssertEqual(process.events, events, call)
        }
    }

    func testRecordWithoutAnIdentityStopsBeforeExec() {
        let process = RecordingProcess()
        let error = Launcher.execute(launch(record: "/records"), on: process, identity: { nil }, tool: "numaguard test")
        XCTAssertEqual(error, .failed("--record: cannot read this process's pid and start time"))
        XCTAssertFalse(process.events.contains { $0.hasPrefix("exec") || $0.hasPrefix("record") })
    }

    func testDryRunLaunchWithoutAProgramNeverTouchesTheProcess() {
        var prepared = launch()
        prepared.program = nil
        let process = RecordingProcess()
        XCTAssertEqual(execute(prepared, on: process).kind, .usage)
        XCTAssertEqual(process.events, [])
    }

    // MARK: Exec's errno

    func testExecErrnoGives127Or126() {
        let missing = RecordingProcess()
        missing.execErrno = .noEntry
        let notFound = execute(launch(), on: missing)
        XCTAssertEqual(notFound.kind, .notFound)
        XCTAssertEqual(notFound.exitStatus.rawValue, 127)

        for errno in [Errno.accessDenied, Errno(ENOEXEC), Errno(ETXTBSY)] {
            let process = RecordingProcess()
            process.execErrno = errno
            let error = execute(launch(), on: process)
            XCTAssertEqual(error, .notExecutable("/opt/engine/bin/engine: \(errno)"))
            XCTAssertEqual(error.exitStatus.rawValue, 126, "\(errno)")
        }
    }

    // MARK: The record

    func testRecordDescribesThePlacementApplied() throws {
        let process = RecordingProcess()
        _ = execute(launch(user: trader, record: "/records"), on: process)
        let (record, directory) = try XCTUnwrap(process.records.first)
        XCTAssertEqual(directory, "/records")
        XCTAssertEqual(record, LaunchRecord(
            tool: "numaguard test", pid: 4242, startTime: 987_654, bootID: "c0ffee00-0000-4000-8000-000000000001",
            launchedAt: "2026-11-21T08:00:00Z", program: "/opt/engine/bin/engine", arguments: ["engine", "--venue", "XLON"],
            user: "trader", cpus: IDSet([2, 3]), memoryPolicy: "bind:1", source: "--cpunodebind 1 --membind 1",
            policyPath: "/etc/numaguard/p.yaml", policyDigest: "abc123", workload: "trading-engine"
        ))
        XCTAssertEqual(record.fileName, "4242-987654.json")
    }

    // MARK: prepare

    func testPrepareChecksEverythingBeforeTouchingAnything() throws {
        let root = HostRoot(path: Fixtures.path("linux-rt-2node"))
        let request = try LaunchArguments.parse(["--dry-run", "-m", "1", "-N", "1", "--user", "root", "--", "sh", "-c", "true"])
        let prepared = try Launcher.prepare(request, root: root, policyDigest: nil, path: "/usr/bin:/bin")
        XCTAssertEqual(prepared.plan.cpus, IDSet([2, 3]))
        XCTAssertEqual(prepared.plan.memory.kernelSpelling, "bind:1")
        XCTAssertEqual(prepared.plan.source, "-N 1 -m 1")
        XCTAssertEqual(prepared.arguments, ["sh", "-c", "true"])
        XCTAssertEqual(prepared.credentials?.uid, 0)

        assertLaunchError(.refused, "--user no-such-user-ng: no such user \"no-such-user-ng\": not in /etc/passwd") {
            try Launcher.prepare(LaunchArguments.parse(["--dry-run", "--user", "no-such-user-ng", "--", "sh"]), root: .live,
                                 policyDigest: nil, path: "/usr/bin:/bin")
        }
        assertLaunchError(.failed, "cannot read the host") {
            try Launcher.prepare(LaunchArguments.parse(["--dry-run", "--", "sh"]), root: HostRoot(path: "/nonexistent/capture"),
                                 policyDigest: nil, path: "/usr/bin:/bin")
        }
    }

    func testPrepareResolvesTheProgramOnThisHostOnly() throws {
        let live = try Launcher.prepare(LaunchArguments.parse(["--", "sh", "-c", "true"]), root: .live, policyDigest: nil,
                                        path: "/nonexistent:/bin")
        XCTAssertEqual(live.program, "/bin/sh")
        assertLaunchError(.notFound, "no-such-program-ng: not found in PATH (/bin)") {
            try Launcher.prepare(LaunchArguments.parse(["--", "no-such-program-ng"]), root: .live, policyDigest: nil, path: "/bin")
        }
        // A captured host's programs are not on this one: the name is printed as given.
        let captured = try Launcher.prepare(LaunchArguments.parse(["--dry-run", "--host-root", "x", "-m", "1", "--", "engine", "-v"]),
                                            root: HostRoot(path: Fixtures.path("linux-6.1-2node")), policyDigest: nil, path: "/bin")
        XCTAssertEqual(captured.program, "engine")
        XCTAssertEqual(captured.arguments, ["engine", "-v"])
    }

    func testKeepCapsAcrossASwitchFromRootIsSaidToKeepNothing() {
        let warning = Launcher.keepCapabilitiesWarning(user: trader, wrapperUIDs: [0, 0])
        XCTAssertEqual(warning, "--keep-caps with --user trader: switching from root to uid 1001 clears every capability "
                       + "(the kernel does when no uid is left at 0), so the program starts with none")
        XCTAssertNotNil(Launcher.keepCapabilitiesWarning(user: trader, wrapperUIDs: [1000, 0]), "a setuid-root wrapper too")
        XCTAssertNil(Launcher.keepCapabilitiesWarning(user: trader, wrapperUIDs: [1000, 1000]),
                     "no uid at 0: the kernel keeps a non-root wrapper's capabilities across setuid")
        let root = Credentials(name: "root", uid: 0, gid: 0, groups: [0])
        XCTAssertNil(Launcher.keepCapabilitiesWarning(user: root, wrapperUIDs: [0, 0]))
    }
}
