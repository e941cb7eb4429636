#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardCore
import NumaguardHost
import NumaguardLaunch
import NumaguardPolicy

/// `numaguard run`: main.swift hands its arguments here before ArgumentParser starts (its
/// reflection costs more than numactl's whole launch), so this is the whole command line
/// layer of the launcher. Every failure before exec is 125, as env(1) and timeout(1) do.
enum RunCommand {
    static func main(_ arguments: [String]) -> Int32 {
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
        if let path = request.policyPath {
            let loaded: LoadedPolicy
            do {
                loaded = try PolicyLoader.load(path: path)
            } catch {
                Terminal.printError(error.description)
                return fail(.refused("\(path) is not a valid policy; nothing was executed"))
            }
            digest = loaded.digest
            do {
                resolved = try PolicyPlacement.request(request, policy: loaded)
            } catch {
                return fail(error)
            }
        }
        let root = HostRoot(path: request.hostRoot ?? "/")
        guard HostOptions.isHostRoot(root) else {
            return fail(.usage("--host-root \(root.path): no proc/ or sys/ under it"))
        }
        let launch: PreparedLaunch
        do {
            launch = try Launcher.prepare(resolved, root: root, policyDigest: digest, path: getenv("PATH").map { String(cString: $0) })
        } catch {
            return fail(error)
        }
        if request.dryRun {
            FileHandleWriter.write(1, LaunchText.dryRun(launch, format: request.format))
            return ExitStatus.success.rawValue
        }
        for warning in launch.plan.warnings { Terminal.printError("numaguard run: warning: \(warning)") }
        let error = Launcher.execute(launch, on: LiveProcess(), identity: { LiveProcess.identity() },
                                     tool: "numaguard \(Numaguard.version)")
        return fail(error)
    }

    static func fail(_ error: LaunchError) -> Int32 {
        Terminal.printError("numaguard run: \(error)")
        if case .usage = error { Terminal.printError("see: numaguard run --help") }
        return error.exitStatus.rawValue
    }
}

/// `run` as ArgumentParser sees it: only so `numaguard --help` lists it and `numaguard help
/// run` answers. main.swift normally takes the arguments before ArgumentParser runs.
struct RunHelp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Launch a program with a checked CPU and memory placement (replaces numactl).",
        discussion: LaunchText.help
    )

    @Argument(parsing: .captureForPassthrough, help: "numactl-style options, then -- PROGRAM [ARGS...]")
    var arguments: [String] = []

    func run() throws {
        throw ExitCode(RunCommand.main(arguments))
    }
}
