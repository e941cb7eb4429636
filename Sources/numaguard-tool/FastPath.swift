import ArgumentParser
import NumaguardCore
import NumaguardReport

/// `inspect`, `topology` and `policy check FILE` with plainly well-formed arguments skip
/// ArgumentParser's reflection, which costs milliseconds on every start (QuickCommand,
/// shared with the front, which serves them itself). Both paths run the same code.
enum FastPath {
    static func run(_ arguments: [String]) -> Int32? {
        QuickCommand.parse(arguments)?.execute()
    }
}
