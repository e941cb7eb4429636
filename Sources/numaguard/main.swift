#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost
import NumaguardLaunch

// The `numaguard` users type: a small binary with no Foundation, no YAML and no argument-parser
// reflection, because `numaguard run` wraps the most sensitive launches and is measured against
// numactl (DESIGN.md: within 1.15x). It runs `run` itself; everything else, and `run --policy`,
// it hands to numaguard-tool beside it with exec, so PIDs, exit codes and output are the tool's.
// argv is read as bytes: CommandLine.arguments would turn a program path or argument that is
// not UTF-8 into U+FFFD, and numactl passes them through unchanged.
let arguments = RawArgument.commandLine()
if arguments.count > 1, arguments[1] == "run",
   let status = LaunchCommand.main(Array(arguments.dropFirst(2)), policy: nil) {
    exit(status)
}
exit(ToolHandoff.exec())
