import NumaguardHost
import NumaguardReport

/// ArgumentParser discovers a command's options by reflection on every start, which costs
/// a few milliseconds: more than numaguard's whole budget against `cat numa_maps` (and, for
/// `run`, against numactl). Commands whose speed is measured take this path when their
/// arguments are plainly well formed; anything it does not fully understand (help, a
/// mistake, another command) goes to ArgumentParser, so usage and error messages live in
/// one place and both paths run the same `execute`.
enum FastPath {
    static func run(_ arguments: [String]) -> Int32? {
        guard arguments.first == "inspect" else { return nil }
        var pids: [Int] = []
        var pattern: String?
        var all = false
        var format = OutputFormat.text
        var hostRoot = "/"
        var index = 1
        func value(of option: String) -> String? {
            let argument = arguments[index]
            if argument.hasPrefix(option + "=") { return String(argument.dropFirst(option.count + 1)) }
            guard argument == option, index + 1 < arguments.count else { return nil }
            index += 1
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--all" {
                guard !all else { return nil }
                all = true
            } else if argument.hasPrefix("--name") {
                guard pattern == nil, let text = value(of: "--name"), !text.hasPrefix("-") else { return nil }
                pattern = text
            } else if argument.hasPrefix("--format") {
                guard let text = value(of: "--format"), let parsed = OutputFormat(rawValue: text) else { return nil }
                format = parsed
            } else if argument.hasPrefix("--host-root") {
                guard let text = value(of: "--host-root"), !text.hasPrefix("-") else { return nil }
                hostRoot = text
            } else {
                guard !argument.isEmpty, argument.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let pid = Int(argument), pid > 0 else { return nil }
                pids.append(pid)
            }
            index += 1
        }
        let root = HostRoot(path: hostRoot)
        guard [!pids.isEmpty, pattern != nil, all].filter({ $0 }).count == 1, root.holdsHost else { return nil }
        let selection: InspectSelection = all ? .all : pattern.map { .pattern($0) } ?? .pids(pids)
        return InspectCommand.execute(root: root, format: format, selection: selection)
    }
}
