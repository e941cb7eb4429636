import NumaguardCore
import NumaguardHost
import NumaguardOutput

/// `inspect`, `topology` and `policy check FILE` without ArgumentParser or Foundation, shared
/// by the front (which serves them itself, so they cost one exec of a small binary) and by
/// numaguard-tool.
///
/// ArgumentParser discovers a command's options by reflection on every start, and each
/// reflective cast scans the whole static binary's protocol conformances: milliseconds,
/// more than numaguard's budget against `cat numa_maps` and `numactl --hardware` (issue 17).
/// Anything this parser does not fully understand (help, a mistake, `--`, another command)
/// returns nil and goes to ArgumentParser, so usage and error messages live in one place.
public enum QuickCommand: Sendable {
    public enum Format: String, Sendable { case text, json }

    case inspect(root: HostRoot, format: Format, selection: InspectSelection)
    case topology(root: HostRoot, format: Format)
    case policyCheck(file: String)

    /// `arguments` without the program name: `inspect 42 --format json`, `topology`.
    public static func parse(_ arguments: [String]) -> QuickCommand? {
        switch arguments.first {
        case "inspect": return inspect(arguments)
        case "topology": return topology(arguments)
        case "policy":
            // Only the plain form; `policy check --help`, `policy check -- -file` go to ArgumentParser.
            guard arguments.count == 3, arguments[1] == "check", !arguments[2].hasPrefix("-") else { return nil }
            return .policyCheck(file: arguments[2])
        default: return nil
        }
    }

    private static func inspect(_ arguments: [String]) -> QuickCommand? {
        var pids: [Int] = []
        var pattern: String?
        var all = false
        var options = Options()
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--all" {
                guard !all else { return nil }
                all = true
            } else if argument.hasPrefix("--name") {
                guard pattern == nil, let text = value(of: "--name", arguments, &index), !text.hasPrefix("-") else { return nil }
                pattern = text
            } else if let understood = options.take(arguments, &index) {
                guard understood else { return nil }
            } else {
                guard !argument.isEmpty, argument.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let pid = Int(argument), pid > 0 else { return nil }
                pids.append(pid)
            }
            index += 1
        }
        guard [!pids.isEmpty, pattern != nil, all].filter({ $0 }).count == 1, let root = options.root else { return nil }
        let selection: InspectSelection = all ? .all : pattern.map { .pattern($0) } ?? .pids(pids)
        return .inspect(root: root, format: options.format, selection: selection)
    }

    private static func topology(_ arguments: [String]) -> QuickCommand? {
        var options = Options()
        var index = 1
        while index < arguments.count {
            guard options.take(arguments, &index) == true else { return nil }
            index += 1
        }
        guard let root = options.root else { return nil }
        return .topology(root: root, format: options.format)
    }

    /// `--format` and `--host-root`, which both commands take.
    private struct Options {
        var format = Format.text
        var hostRoot = "/"
        /// Options already given (two at most: an array, not a Set, whose generic metadata the
        /// static front would build at run time for this one use).
        var seen: [String] = []

        /// nil: not one of these options; false: one of them, malformed or repeated.
        mutating func take(_ arguments: [String], _ index: inout Int) -> Bool? {
            for option in ["--format", "--host-root"] where arguments[index].hasPrefix(option) {
                guard !seen.contains(option), let text = value(of: option, arguments, &index), !text.hasPrefix("-") else {
                    return false
                }
                seen.append(option)
                if option == "--format" {
                    guard let parsed = Format(rawValue: text) else { return false }
                    format = parsed
                } else {
                    hostRoot = text
                }
                return true
            }
            return nil
        }

        /// The root, or nil when it holds no host (ArgumentParser then says why).
        var root: HostRoot? {
            let root = HostRoot(path: hostRoot)
            return root.holdsHost ? root : nil
        }
    }

    /// `--option=value` or `--option value`; nil for `--optionX` or a missing value.
    private static func value(of option: String, _ arguments: [String], _ index: inout Int) -> String? {
        let argument = arguments[index]
        if argument.hasPrefix(option + "=") { return String(argument.dropFirst(option.count + 1)) }
        guard argument == option, index + 1 < arguments.count else { return nil }
        index += 1
        return arguments[index]
    }
}

extension QuickCommand {
    /// Runs the command and returns its exit status.
    public func execute() -> Int32 {
        switch self {
        case let .inspect(root, format, selection):
            let outcome: InspectOutcome
            do {
                outcome = try Inspection.run(root: root, selection: selection)
            } catch {
                return Self.fail(error.description, error.exitStatus)
            }
            switch format {
            case .text:
                FileHandleWriter.write(1, outcome.reports.map(InspectText.render).joinedText(separator: "\n"))
            case .json:
                // Written by hand (InspectJSON.swift): the Encodable path cost the static front
                // more than the rest of a small inspect. The document is the same.
                FileHandleWriter.write(1, InspectDocument(processes: outcome.reports, failures: outcome.failures).jsonDocument)
            }
            for failure in outcome.failures { FileHandleWriter.write(2, "numaguard: \(failure.error)\n") }
            return outcome.status.rawValue
        case let .topology(root, format):
            let facts: HostFacts
            do { facts = try HostFacts.read(root) } catch { return Self.fail(error.description, .hostUnreadable) }
            switch format {
            case .text:
                FileHandleWriter.write(1, TopologyText.render(facts.topology))
            case .json:
                do {
                    FileHandleWriter.write(1, try JSONDocument.render(kind: .topology, TopologyDocument(topology: facts.topology, kernel: facts.kernel)))
                } catch {
                    return Self.fail("cannot encode the topology: \(error)", .hostUnreadable)
                }
            }
            return ExitStatus.success.rawValue
        case let .policyCheck(file):
            return PolicyCheck.run(file)
        }
    }

    /// The CLI's one error form: `numaguard: MESSAGE` on stderr, and the status.
    static func fail(_ message: String, _ status: ExitStatus) -> Int32 {
        FileHandleWriter.write(2, "numaguard: \(message)\n")
        return status.rawValue
    }
}

extension Inspection.Failure {
    /// A bad --name pattern is the command line's fault (64); the rest is the host (71).
    public var exitStatus: ExitStatus {
        switch self {
        case .badPattern: .usage
        case .host: .hostUnreadable
        }
    }
}
