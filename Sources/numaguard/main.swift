#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

let arguments = CommandLine.arguments
if arguments.count > 1, arguments[1] == "run" {
    exit(RunCommand.main(Array(arguments.dropFirst(2))))
}
if let status = FastPath.run(Array(CommandLine.arguments.dropFirst())) {
    exit(status)
}
Numaguard.main()
