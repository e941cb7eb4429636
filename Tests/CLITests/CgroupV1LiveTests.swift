#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NumaguardCore
import NumaguardHost
import TestSupport
import XCTest

/// A real cgroup v1 cpuset on this machine (RHEL 8 hosts and the development machine are
/// v1 or hybrid): a cgroup confined to one CPU holding a sleeping process, read by the
/// cgroup reader, audited, and run from. Skipped where numaguard is not root or there is
/// no v1 cpuset hierarchy; the cgroup is removed whatever happens.
final class CgroupV1LiveTests: XCTestCase {
    static let hierarchy = "/sys/fs/cgroup/cpuset"

    func testAV1CpusetOnThisMachine() throws {
        guard getuid() == 0 else { throw XCTSkip("creating a cgroup needs root") }
        let mounts = (try? MountInfoParser.cgroupMounts(String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8))) ?? []
        guard mounts.contains(where: { $0.version == .v1 && $0.controllers.contains("cpuset") && $0.mountPoint == Self.hierarchy && $0.root == "/" }),
              !mounts.contains(where: { $0.mountPoint == Self.hierarchy && $0.noprefix }) else {
            throw XCTSkip("no v1 cpuset hierarchy at \(Self.hierarchy)")
        }
        let rootCPUs = try IDListParser.parse(String(contentsOfFile: "\(Self.hierarchy)/cpuset.effective_cpus", encoding: .utf8))
        let rootMems = try IDListParser.parse(String(contentsOfFile: "\(Self.hierarchy)/cpuset.effective_mems", encoding: .utf8))
        guard let inside = rootCPUs.members.first, let outside = rootCPUs.members.dropFirst().first, let node = rootMems.members.first else {
            throw XCTSkip("the root cpuset has fewer than two CPUs (\(rootCPUs.listString))")
        }

        let tag = "ngv1\(getpid() % 100_000)"
        let cgroup = "\(Self.hierarchy)/\(tag)"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-v1-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        XCTAssertEqual(mkdir(cgroup, 0o755), 0, "mkdir \(cgroup): \(String(cString: strerror(errno)))")
        let sleeper = Process()
        defer {
            if sleeper.isRunning { sleeper.terminate() }
            if sleeper.processIdentifier != 0 { sleeper.waitUntilExit() }
            XCTAssertEqual(rmdir(cgroup), 0, "rmdir \(cgroup): \(String(cString: strerror(errno)))")
            try? FileManager.default.removeItem(at: work)
        }
        try "\(inside)\n".write(toFile: "\(cgroup)/cpuset.cpus", atomically: false, encoding: .utf8)
        try "\(node)\n".write(toFile: "\(cgroup)/cpuset.mems", atomically: false, encoding: .utf8)

        // A sleep under a name of its own, so the policy matches it and nothing else.
        let program = work.appendingPathComponent(tag)
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: program.path)
        sleeper.executableURL = program
        sleeper.arguments = ["600"]
        try sleeper.run()
        let pid = Int(sleeper.processIdentifier)
        try "\(pid)\n".write(toFile: "\(cgroup)/cgroup.procs", atomically: false, encoding: .utf8)

        // The reader.
        let hierarchy = CgroupHierarchy.read(HostRoot(path: "/"))
        let cgroups = try hierarchy.cgroups(of: pid)
        let cpuset = try XCTUnwrap(hierarchy.cpuset(for: cgroups, settings: true))
        XCTAssertEqual(cpuset.path, "/\(tag)")
        XCTAssertEqual(cpuset.version, .v1)
        XCTAssertEqual(cpuset.cpus, IDSet([inside]))
        XCTAssertEqual(cpuset.mems, IDSet([node]))
        XCTAssertEqual(cpuset.cpusFile, "cpuset.effective_cpus")
        XCTAssertEqual(cpuset.settings?.cpus, IDSet([inside]))
        XCTAssertEqual(CgroupCpuset.read(HostRoot(path: "/"), cgroups: cgroups), CgroupCpuset(
            path: "/\(tag)", cpus: IDSet([inside]), mems: IDSet([node]), version: .v1,
            cpusFile: "cpuset.effective_cpus", memsFile: "cpuset.effective_mems"), "the launch path's reader agrees")
        let membership = try XCTUnwrap(try hierarchy.membership(for: cgroups, controller: "cpuset"))
        XCTAssertEqual(membership.pids, [pid])

        // audit: the workload declares a CPU its cgroup does not allow.
        let policy = work.appendingPathComponent("policy.yaml")
        try """
            version: 1
            workloads:
              - name: live
                match: {comm: \(tag)}
                cpus: {cpulist: "\(outside)"}
            """.write(to: policy, atomically: false, encoding: .utf8)
        let audit = try Command.numaguard(["audit", "--policy", policy.path, "--format", "json"])
        let findings = try XCTUnwrap(try Command.json(audit.stdout)["findings"] as? [[String: Any]], audit.stderr)
        let check = try XCTUnwrap(findings.first { $0["check"] as? String == "workload.live.cgroup.cpuset.cpus" },
                                  "no cgroup cpuset finding on v1: \(findings.compactMap { $0["check"] })")
        XCTAssertEqual(check["outcome"] as? String, "fail")
        XCTAssertEqual(check["expected"] as? String, "cgroup cpuset.effective_cpus includes \(outside)")
        XCTAssertEqual(check["actual"] as? String, "\(inside)")
        XCTAssertEqual(check["remediation"] as? String, "widen the cgroup's cpuset (/\(tag)) to include CPUs \(outside)")

        // run from inside the cgroup: the refusal names the v1 file.
        let run = try Command.run("/bin/sh", ["-c", "echo $$ > \(cgroup)/cgroup.procs && exec \"$0\" run -C \(outside) -- true", Command.numaguard])
        XCTAssertEqual(run.status, 125, run.stderr)
        XCTAssertTrue(run.stderr.contains("CPU \(outside) is not allowed: this process's cgroup /\(tag) allows CPUs \(inside) (cpuset.effective_cpus)"),
                      run.stderr)
        let ok = try Command.run("/bin/sh", ["-c", "echo $$ > \(cgroup)/cgroup.procs && exec \"$0\" run -C \(inside) -- true", Command.numaguard])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }
}
