#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardCore
import NumaguardHost
import NumaguardLaunch

/// What happens before ArgumentParser sees the arguments: `help run` answers with `run`'s own
/// help text (ArgumentParser would reflow its table into a mangled copy), and a mistyped
/// command gets a "did you mean" and exit 64 instead of "Unexpected argument".
enum CommandRouting {
    static func preflight(_ arguments: [String]) -> Int32? {
        guard arguments.count > 1 else { return nil }
        let command = arguments[1]
        if command == "help", arguments.count > 2, arguments[2] == "run" { return RunCommand.main(["--help"]) }
        guard !command.hasPrefix("-") else { return nil }
        let names = Numaguard.configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        guard !names.contains(command) else { return nil }
        var message = "numaguard: unknown command '\(command)'"
        if let near = Suggestion.nearest(to: command, in: names) { message += "; did you mean '\(near)'?" }
        FileHandleWriter.write(2, message + "\nsee: numaguard --help\n")
        return ExitStatus.usage.rawValue
    }
}

extension Terminal {
    /// Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org).
    static func wantsColor(_ descriptor: Int32) -> Bool {
        guard isatty(descriptor) == 1 else { return false }
        guard let value = getenv("NO_COLOR") else { return true }
        return value.pointee == 0
    }
}
