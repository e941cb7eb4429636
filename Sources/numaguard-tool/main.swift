#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// numaguard-tool: every command, with ArgumentParser, Yams and Foundation. Usually reached
// through the `numaguard` front (which execs it with the same arguments), and usable directly.
let arguments = CommandLine.arguments
if arguments.count > 1, arguments[1] == "run" {
    exit(RunCommand.main(Array(arguments.dropFirst(2))))
}
if let status = CommandRouting.preflight(arguments) {
    exit(status)
}
if let status = FastPath.run(Array(CommandLine.arguments.dropFirst())) {
    exit(status)
}
Numaguard.main()
