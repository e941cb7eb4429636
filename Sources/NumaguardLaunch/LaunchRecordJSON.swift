import NumaguardCore
import NumaguardOutput

extension LaunchRecord {
    /// The record file's text, written by hand with the output module's JSON writer: the
    /// launch path carries no JSON encoder. Keys in the order of LaunchRecord's CodingKeys,
    /// which Foundation's decoder reads back in the audit (LaunchRecords).
    public var json: String {
        let string = JSONText.optional
        return JSONText.object([
            ("format_version", "\(formatVersion)"), ("tool", string(tool)), ("pid", "\(pid)"), ("start_time", "\(startTime)"),
            ("boot_id", string(bootID)), ("launched_at", string(launchedAt)), ("program", string(program)),
            ("arguments", JSONText.array(arguments)), ("user", string(user)),
            ("cpus", string(cpus?.listString)), ("memory_policy", string(memoryPolicy)), ("source", string(source)),
            ("policy_path", string(policyPath)), ("policy_digest", string(policyDigest)), ("workload", string(workload)),
        ])
    }
}
