#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// Finds numaguard-tool in the directory of this executable (as installed, or as built in
/// .build/<config>/) and execs it with the same arguments, this process's own argv strings
/// (not CommandLine.arguments, which repairs bytes that are not UTF-8).
enum ToolHandoff {
    static let toolName = "numaguard-tool"

    static func exec() -> Int32 {
        let tool: String
        do {
            let me = try HostRoot.live.readLink("proc/self/exe")
            let directory = PathText.cutAtLastSlash(me).map { String($0.before) } ?? ""
            tool = directory + "/" + toolName
        } catch {
            FileHandleWriter.write(2, "numaguard: cannot locate \(toolName): \(error)\n")
            return ExitStatus.unavailable.rawValue
        }
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(tool)]
        for index in 1..<max(1, Int(CommandLine.argc)) { argv.append(CommandLine.unsafeArgv[index]) }
        argv.append(nil)
        execv(tool, argv)
        let failure = Errno(errno)
        FileHandleWriter.write(2, "numaguard: cannot run \(tool): \(failure) (install numaguard-tool beside numaguard)\n")
        // A part of numaguard is missing (EX_UNAVAILABLE): reinstalling fixes it, not the host.
        return ExitStatus.unavailable.rawValue
    }
}
