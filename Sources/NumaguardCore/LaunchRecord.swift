/// What `numaguard run --record DIR` leaves behind for each launch: enough for an audit to
/// tell "this process was started by numaguard with placement X under policy digest D" from
/// a process that merely matches a workload. pid + start time + boot id identify the process
/// (exec keeps the pid and the start time, so the record names the program, not the wrapper).
public struct LaunchRecord: Codable, Equatable, Sendable {
    public static let formatVersion = 1

    public var formatVersion: Int
    public var tool: String
    public var pid: Int
    /// /proc/PID/stat field 22, clock ticks since boot.
    public var startTime: UInt64
    public var bootID: String
    /// UTC, RFC 3339.
    public var launchedAt: String
    public var program: String
    public var arguments: [String]
    public var user: String?
    /// The affinity set before exec; nil when it was inherited unchanged.
    public var cpus: IDSet?
    /// The memory policy set before exec, in numa_maps spelling (`bind:0`).
    public var memoryPolicy: String
    /// `--membind 0 --cpunodebind 0`, or `policy FILE workload NAME`.
    public var source: String
    public var policyPath: String?
    public var policyDigest: String?
    public var workload: String?

    public init(tool: String, pid: Int, startTime: UInt64, bootID: String, launchedAt: String, program: String,
                arguments: [String], user: String?, cpus: IDSet?, memoryPolicy: String, source: String,
                policyPath: String?, policyDigest: String?, workload: String?) {
        self.formatVersion = Self.formatVersion
        self.tool = tool
        self.pid = pid
        self.startTime = startTime
        self.bootID = bootID
        self.launchedAt = launchedAt
        self.program = program
        self.arguments = arguments
        self.user = user
        self.cpus = cpus
        self.memoryPolicy = memoryPolicy
        self.source = source
        self.policyPath = policyPath
        self.policyDigest = policyDigest
        self.workload = workload
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", tool, pid, startTime = "start_time", bootID = "boot_id"
        case launchedAt = "launched_at", program, arguments, user, cpus, memoryPolicy = "memory_policy", source
        case policyPath = "policy_path", policyDigest = "policy_digest", workload
    }

    /// The record file's name: one per process, so a restart never overwrites its predecessor.
    public var fileName: String { "\(pid)-\(startTime).json" }

    /// JSON written by hand: the launch path carries no JSON encoder.
    public var json: String {
        let string = JSONText.optional
        let fields: [(CodingKeys, String)] = [
            (.formatVersion, "\(formatVersion)"), (.tool, string(tool)), (.pid, "\(pid)"), (.startTime, "\(startTime)"),
            (.bootID, string(bootID)), (.launchedAt, string(launchedAt)), (.program, string(program)),
            (.arguments, JSONText.array(arguments)), (.user, string(user)),
            (.cpus, string(cpus?.listString)), (.memoryPolicy, string(memoryPolicy)), (.source, string(source)),
            (.policyPath, string(policyPath)), (.policyDigest, string(policyDigest)), (.workload, string(workload)),
        ]
        return JSONText.object(fields.map { ($0.0.rawValue, $0.1) })
    }
}

public enum JSONText {
    /// A JSON object from keys and already-encoded values, one member a line.
    public static func object(_ members: [(String, String)]) -> String {
        "{\n" + members.map { "  \(quoted($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// A string literal, or null.
    public static func optional(_ text: String?) -> String { text.map(quoted) ?? "null" }

    /// An array of strings.
    public static func array(_ strings: [String]) -> String { "[" + strings.map(quoted).joined(separator: ", ") + "]" }

    /// A JSON string literal (RFC 8259 escapes).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
