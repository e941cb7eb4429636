#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// `numaguard run` from argv to exec: the whole command layer of the launcher, shared by the
/// small front binary and the full tool, both passing NumaguardLaunchPolicy's resolver (tests
/// may pass none). Every failure before exec is 125, as env(1) and timeout(1) do.
public enum LaunchCommand {
    /// Turns `--policy FILE --workload NAME` into the workload's placement; returns the
    /// request and the policy file's digest. Printing the policy's own diagnostics is its job.
    public typealias PolicyResolver = (LaunchRequest) throws(LaunchError) -> (request: LaunchRequest, digest: String)

    /// The exit status on failure (success execs and never returns), or nil when the
    /// request needs a policy and no resolver was given: the caller hands it on.
    /// `arguments` as the kernel passed them (RawArgument.commandLine): the program and its
    /// arguments reach execve byte for byte.
    public static func main(_ arguments: [RawArgument], policy resolver: PolicyResolver?) -> Int32? {
        let request: LaunchRequest
        do {
            request = try LaunchArguments.parse(arguments)
        } catch {
            return fail(error)
        }
        if request.help {
            FileHandleWriter.write(1, LaunchText.help)
            return ExitStatus.success.rawValue
        }
        if request.show {
            do {
                FileHandleWriter.write(1, PlacementShow.render(try PlacementShow.current()))
                return ExitStatus.success.rawValue
            } catch {
                return fail(error)
            }
        }
        var resolved = request
        var digest: String?
        if request.policyPath != nil {
            guard let resolver else { return nil }
            do {
                (resolved, digest) = try resolver(request)
            } catch {
                return fail(error)
            }
        }
        let root = HostRoot(path: request.hostRoot ?? "/")
        guard root.holdsHost else {
            return fail(.usage("--host-root \(root.path): no proc/ or sys/ under it"))
        }
        let launch: PreparedLaunch
        do {
            launch = try Launcher.prepare(resolved, root: root, policyDigest: digest, path: getenv("PATH").map { RawArgument(cString: $0) })
        } catch {
            return fail(error)
        }
        if request.dryRun {
            FileHandleWriter.write(1, LaunchText.dryRun(launch, format: request.format))
            return ExitStatus.success.rawValue
        }
        for warning in launch.plan.warnings { FileHandleWriter.write(2, "numaguard run: warning: \(warning)\n") }
        let error = Launcher.execute(launch, on: LiveProcess(), identity: { LiveProcess.identity() },
                                     tool: "numaguard \(NumaguardVersion.string)")
        return fail(error)
    }

    static func fail(_ error: LaunchError) -> Int32 {
        FileHandleWriter.write(2, "numaguard run: \(error)\n")
        if case .usage = error { FileHandleWriter.write(2, "see: numaguard run --help\n") }
        return error.exitStatus.rawValue
    }
}
