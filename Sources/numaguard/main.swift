#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost
import NumaguardLaunch
import NumaguardLaunchPolicy
import NumaguardView

// The `numaguard` users type: a small binary with no Foundation and no argument-parser
// reflection, because `numaguard run` wraps the most sensitive launches and is measured against
// numactl (DESIGN.md: within 1.15x). It runs `run` itself (with --policy: the policy loader is
// libyaml's events and no Foundation), and `inspect`/`topology`/`policy check FILE` (measured
// against cat numa_maps and numactl --hardware); everything else it hands to numaguard-tool
// beside it with exec, so PIDs, exit codes and output are the tool's.
// argv is read as bytes: CommandLine.arguments would turn a program path or argument that is
// not UTF-8 into U+FFFD, and numactl passes them through unchanged.
RuntimeStart.restoreEnvironment()
let arguments = RawArgument.commandLine()
if arguments.count > 1, arguments[1] == "run",
   let status = LaunchCommand.main(Array(arguments.dropFirst(2)), policy: PolicyPlacement.resolve) {
    exit(status)
}
// `inspect`, `topology` and `policy check FILE`, served here (no second exec, no Foundation); anything not plainly
// well formed goes to numaguard-tool's ArgumentParser.
let texts = arguments.dropFirst().compactMap(\.utf8Text)
if texts.count == arguments.count - 1, let status = QuickCommand.parse(texts)?.execute() {
    exit(status)
}
exit(ToolHandoff.exec())

/// Tells CLinux's start-up code (BacktracerSetting.c) that this executable's first statement
/// is `RuntimeStart.restoreEnvironment()`, so it may answer the Swift runtime's backtracer set-up
/// through the environment; a program without this symbol is left alone.
@_cdecl("numaguard_front_answers_backtracer")
public func numaguardFrontAnswersBacktracer() {}
