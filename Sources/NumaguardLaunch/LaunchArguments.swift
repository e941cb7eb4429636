import NumaguardCore

/// The command line of `numaguard run`, parsed by hand: it is the launch path, measured
/// against numactl, and it must accept numactl's own spellings (`-m0`, `-m 0`,
/// `--membind=0`, `--membind 0`, the program starting at the first non-option or after
/// `--`), so a numactl line ports by changing the program name.
public enum LaunchArguments {
    /// numactl options that numaguard run deliberately does not take, with the reason. A
    /// switch, not a dictionary: the launch path instantiates no hashed collection, whose
    /// first use makes the runtime scan every protocol conformance in the binary.
    static func unsupported(_ option: String) -> String? {
        switch option {
        case "--all", "-a": "numaguard run always honours the cpuset (numactl -a ignores it)"
        case "--balancing", "-b": "MPOL_F_NUMA_BALANCING lets NUMA balancing move pinned memory; numaguard run does not set it"
        case "--hardware", "-H": "use `numaguard topology`"
        case "--shm", "--file", "--touch", "--length", "--offset", "--strict", "--shmmode", "--shmid", "--huge", "-S", "-f", "-L", "-M", "-I":
            "shared-memory policies are not supported; use numactl for those"
        default: nil
        }
    }

    private enum Option: CaseIterable {
        case membind, cpunodebind, physcpubind, preferred, preferredMany, localalloc, interleave, weightedInterleave
        case staticNodes, allowInterleave, requireBalancingOff, minFree, user, keepCaps, record
        case policy, workload, hostRoot, show, dryRun, format, help

        var long: [String] {
            switch self {
            case .membind: ["--membind"]
            case .cpunodebind: ["--cpunodebind", "--cpubind"]
            case .physcpubind: ["--physcpubind"]
            case .preferred: ["--preferred"]
            case .preferredMany: ["--preferred-many"]
            case .localalloc: ["--localalloc"]
            case .interleave: ["--interleave"]
            case .weightedInterleave: ["--weighted-interleave"]
            case .staticNodes: ["--static-nodes"]
            case .allowInterleave: ["--allow-interleave"]
            case .requireBalancingOff: ["--require-balancing-off"]
            case .minFree: ["--min-free"]
            case .user: ["--user"]
            case .keepCaps: ["--keep-caps"]
            case .record: ["--record"]
            case .policy: ["--policy"]
            case .workload: ["--workload"]
            case .hostRoot: ["--host-root"]
            case .show: ["--show"]
            case .dryRun: ["--dry-run"]
            case .format: ["--format"]
            case .help: ["--help"]
            }
        }

        var short: Character? {
            switch self {
            case .membind: "m"
            case .cpunodebind: "N"
            case .physcpubind: "C"
            case .preferred: "p"
            case .preferredMany: "P"
            case .localalloc: "l"
            case .interleave: "i"
            case .weightedInterleave: "w"
            case .show: "s"
            case .help: "h"
            default: nil
            }
        }

        var takesValue: Bool {
            switch self {
            case .localalloc, .staticNodes, .allowInterleave, .requireBalancingOff, .keepCaps, .show, .dryRun, .help: false
            default: true
            }
        }
    }

    /// The command line as text (tests, `numaguard-tool help run`): valid UTF-8 by construction.
    public static func parse(_ arguments: [String]) throws(LaunchError) -> LaunchRequest {
        try parse(arguments.map { RawArgument($0) })
    }

    /// The program and its arguments are kept as bytes, as execve takes them; options and
    /// their values are text, and a value that is not UTF-8 is refused rather than repaired.
    public static func parse(_ arguments: [RawArgument]) throws(LaunchError) -> LaunchRequest {
        var request = LaunchRequest()
        var index = 0
        while index < arguments.count {
            let bytes = arguments[index].bytes
            if bytes == [0x2D, 0x2D] {   // --
                request.command = Array(arguments[(index + 1)...])
                break
            }
            guard bytes.count > 1, bytes[0] == 0x2D else {
                request.command = Array(arguments[index...])
                break
            }
            let (option, inline, spelled) = try identify(arguments[index].text)
            var value: String?
            if option.takesValue {
                if let inline {
                    value = inline
                } else {
                    index += 1
                    guard index < arguments.count else { throw .usage("\(spelled) needs a value") }
                    value = try text(of: arguments[index], spelled: spelled)
                }
            } else if inline != nil {
                throw .usage("\(spelled) takes no value")
            }
            if let inline, arguments[index].utf8Text == nil { throw notUTF8(spelled, inline) }
            try apply(option, value ?? "", spelled: spelled, to: &request)
            index += 1
        }
        try validate(request)
        return request
    }

    private static func text(of argument: RawArgument, spelled: String) throws(LaunchError) -> String {
        guard let text = argument.utf8Text else { throw notUTF8(spelled, argument.text) }
        return text
    }

    private static func notUTF8(_ spelled: String, _ shown: String) -> LaunchError {
        .usage("\(spelled) \"\(shown)\": the value is not valid UTF-8 (only the program and its arguments are passed on as bytes)")
    }

    /// The option an argument names, its inline value (`--x=v`, `-mv`) and the spelling used.
    private static func identify(_ argument: String) throws(LaunchError) -> (Option, String?, String) {
        // Byte-wise: options are ASCII, and Character-wise slicing runs grapheme breaking.
        let bytes = argument.utf8
        if argument.hasPrefix("--") {
            let equals = bytes.firstIndex(of: 0x3D)
            let name = equals.map { String(argument[..<$0]) } ?? argument
            if let reason = unsupported(name) { throw .usage("\(name) is not supported: \(reason)") }
            guard let option = Option.allCases.first(where: { $0.long.contains(name) }) else {
                throw .usage("unknown option \(name)\(suggestion(for: name))")
            }
            return (option, equals.map { String(argument[bytes.index(after: $0)...]) }, name)
        }
        let second = bytes.index(after: bytes.startIndex)
        let letter = Character(Unicode.Scalar(bytes[second]))
        let spelled = "-\(letter)"
        if let reason = unsupported(spelled) { throw .usage("\(spelled) is not supported: \(reason)") }
        guard let option = Option.allCases.first(where: { $0.short == letter }) else {
            throw .usage("unknown option \(spelled)")
        }
        var rest = bytes.index(after: second)
        if rest < bytes.endIndex, bytes[rest] == 0x3D { rest = bytes.index(after: rest) }
        return (option, rest < bytes.endIndex ? String(argument[rest...]) : nil, spelled)
    }

    private static func suggestion(for name: String) -> String {
        let known = Option.allCases.flatMap(\.long)
        // An abbreviation or an option with extra text first, then a typo (`--memebind`).
        guard let near = known.first(where: { $0.hasPrefix(name) || name.hasPrefix($0) }) ?? Suggestion.nearest(to: name, in: known) else {
            return ""
        }
        return " (did you mean \(near)?)"
    }

    private static func apply(_ option: Option, _ value: String, spelled: String, to request: inout LaunchRequest) throws(LaunchError) {
        func memory(_ mode: MemoryPolicy.Mode, nodes: Bool = true) throws(LaunchError) {
            if let earlier = request.memory {
                throw .usage("\(spelled) conflicts with \(earlier.source): give one memory policy")
            }
            let set = nodes ? try NumactlSet.parse(value, kind: .node, option: spelled) : nil
            request.memory = MemoryRequest(mode: mode, nodes: set, source: spelled)
        }
        func once<T>(_ current: T?, _ assign: () throws(LaunchError) -> Void) throws(LaunchError) {
            guard current == nil else { throw .usage("\(spelled) given twice") }
            try assign()
        }
        switch option {
        case .membind: try memory(.bind)
        case .preferred: try memory(.preferred)
        case .preferredMany: try memory(.preferredMany)
        case .interleave: try memory(.interleave)
        case .weightedInterleave: try memory(.weightedInterleave)
        case .localalloc: try memory(.local, nodes: false)
        case .cpunodebind:
            try once(request.cpuNodes) { () throws(LaunchError) in
                request.cpuNodes = try NumactlSet.parse(value, kind: .node, option: spelled)
                request.cpuNodesOption = spelled
            }
        case .physcpubind:
            try once(request.physicalCPUs) { () throws(LaunchError) in
                request.physicalCPUs = try NumactlSet.parse(value, kind: .cpu, option: spelled)
                request.physicalCPUsOption = spelled
            }
        case .staticNodes: request.staticNodes = true
        case .allowInterleave: request.allowInterleave = true
        case .requireBalancingOff: request.requireBalancingOff = true
        case .keepCaps: request.keepCapabilities = true
        case .show: request.show = true
        case .dryRun: request.dryRun = true
        case .help: request.help = true
        case .minFree:
            try once(request.minFree) { () throws(LaunchError) in request.minFree = try freeMemory(value, spelled: spelled) }
        case .user: try once(request.user) { request.user = value }
        case .record: try once(request.recordDirectory) { request.recordDirectory = value }
        case .policy: try once(request.policyPath) { request.policyPath = value }
        case .workload: try once(request.workload) { request.workload = value }
        case .hostRoot: try once(request.hostRoot) { request.hostRoot = value }
        case .format:
            guard let format = LaunchRequest.Format(rawValue: value) else {
                throw .usage("\(spelled) \"\(value)\": expected text or json")
            }
            request.format = format
        }
    }

    private static func freeMemory(_ value: String, spelled: String) throws(LaunchError) -> LaunchRequest.FreeMemory {
        if value.hasSuffix("%") {
            switch Quantity.percent(value) {
            case let .success(percent): return .percent(percent)
            case let .failure(invalid): throw .usage("\(spelled) \(invalid.message)")
            }
        }
        switch Quantity.size(value) {
        case let .success(bytes): return .bytes(bytes)
        case let .failure(invalid): throw .usage("\(spelled) \(invalid.message)")
        }
    }

    /// Combinations that cannot mean anything, refused before the host is read.
    private static func validate(_ request: LaunchRequest) throws(LaunchError) {
        if request.help { return }
        if request.show {
            var alone = LaunchRequest()
            alone.show = true
            guard request == alone else {
                throw .usage("--show prints this process's placement and takes no other option or program")
            }
            return
        }
        if request.policyPath != nil || request.workload != nil {
            guard request.policyPath != nil, request.workload != nil else {
                throw .usage("--policy and --workload go together: the workload names the placement in the policy")
            }
            guard !request.hasPlacementFlags else {
                throw .usage("the placement comes from the policy's workload; drop the numactl-style placement options or --policy")
            }
        }
        if request.staticNodes, request.memory == nil || request.memory?.mode == .local {
            throw .usage("--static-nodes applies to a memory policy with nodes (--membind, --preferred, --interleave, ...)")
        }
        if request.format != .text, !request.dryRun {
            throw .usage("--format chooses the output of --dry-run; a launch prints nothing of its own")
        }
        if request.hostRoot != nil, !request.dryRun {
            throw .usage("--host-root describes another host: it is only meaningful with --dry-run")
        }
        if request.command.isEmpty, !request.dryRun {
            throw .usage("no program given: numaguard run [options] -- PROGRAM [ARGS...]")
        }
    }
}
