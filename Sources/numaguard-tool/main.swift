#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

// numaguard-tool: every command, with ArgumentParser and Foundation. Usually reached
// through the `numaguard` front (which execs it with the same arguments), and usable directly.
// `run` reads argv as bytes, so a program path or argument that is not UTF-8 reaches execve unchanged.
RuntimeStart.restoreEnvironment()
let arguments = CommandLine.arguments
if arguments.count > 1, arguments[1] == "run" {
    exit(RunCommand.main(RawArgument.commandLine(from: 2)))
}
if arguments.count > 2, arguments[1] == "fleet", arguments[2] == "report" {
    FleetReportCommand.main(splitting: Array(arguments.dropFirst(3)))
}
// FastPath first: it takes only plainly well-formed known commands, and the preflight's list of
// command names instantiates every subcommand's configuration.
if let status = FastPath.run(Array(CommandLine.arguments.dropFirst())) {
    exit(status)
}
if let status = CommandRouting.preflight(arguments) {
    exit(status)
}
Numaguard.main()

/// Tells CLinux's start-up code (BacktracerSetting.c) that this executable's first statement
/// is `RuntimeStart.restoreEnvironment()`, so it may answer the Swift runtime's backtracer set-up
/// through the environment; a program without this symbol is left alone.
@_cdecl("numaguard_tool_answers_backtracer")
public func numaguardToolAnswersBacktracer() {}
