#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

if let status = FastPath.run(Array(CommandLine.arguments.dropFirst())) {
    exit(status)
}
Numaguard.main()
