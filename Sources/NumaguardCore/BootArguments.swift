/// The kernel command line (/proc/cmdline) as the kernel itself splits it: words separated
/// by spaces, where a double-quoted stretch keeps its spaces (`dyndbg="file x.c +p"`), and
/// everything after a lone `--` belongs to init, not the kernel.
public enum BootArguments {
    /// One kernel parameter as written, e.g. `isolcpus=2-15` or `quiet`.
    public struct Word: Equatable, Sendable {
        public var text: String
        public var isForInit: Bool

        /// The parameter name: what precedes the first `=`, with `-` and `_` equal as the
        /// kernel treats them (`numa-balancing` is `numa_balancing`).
        public var key: String {
            let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return String(name.map { $0 == "-" ? "_" : $0 })
        }
    }

    public static func words(_ commandLine: String) -> [Word] {
        var words: [Word] = []
        var current = ""
        var quoted = false
        var forInit = false
        func finish() {
            defer { current = "" }
            guard !current.isEmpty else { return }
            if current == "--" && !forInit {
                forInit = true
                return
            }
            words.append(Word(text: current, isForInit: forInit))
        }
        for character in commandLine {
            if character == "\"" {
                quoted.toggle()
                current.append(character)
            } else if !quoted && character.isWhitespace {
                finish()
            } else {
                current.append(character)
            }
        }
        finish()
        return words
    }

    /// The kernel's own parameters only (not those after `--`), as plain strings.
    public static func kernelWords(_ commandLine: String) -> [String] {
        words(commandLine).filter { !$0.isForInit }.map(\.text)
    }
}
