import ArgumentParser
import NumaguardCore
import NumaguardLaunch
import NumaguardLaunchPolicy

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
        throw ExitCode(RunCommand.main(arguments.map { RawArgument($0) }))
    }
}

/// The tool's `run`: the library's launch command with the policy form enabled, as the front's
/// (for `numaguard-tool run` typed directly).
enum RunCommand {
    static func main(_ arguments: [RawArgument]) -> Int32 {
        LaunchCommand.main(arguments, policy: PolicyPlacement.resolve) ?? ExitStatus.launchFailed.rawValue
    }
}
