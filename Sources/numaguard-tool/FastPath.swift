import ArgumentParser
import NumaguardCore
import NumaguardReport

/// `inspect`, `topology` and `policy check FILE` with plainly well-formed arguments skip
/// ArgumentParser's reflection, which costs milliseconds on every start (QuickCommand,
/// shared with the front, which serves inspect and topology itself). Both paths run the same code.
enum FastPath {
    static func run(_ arguments: [String]) -> Int32? {
        if arguments.count == 3, arguments[0] == "policy", arguments[1] == "check", !arguments[2].hasPrefix("-") {
            do { try PolicyCommand.Check.execute(arguments[2]) } catch { return error.rawValue }
            return ExitStatus.success.rawValue
        }
        return QuickCommand.parse(arguments)?.execute()
    }
}
