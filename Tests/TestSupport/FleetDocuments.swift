/// Reading `fleet report` and `fleet diff` JSON back in tests, in one place for the playbook's
/// test and the guests' (the same questions of the same documents).
public enum FleetDocuments {
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// `fleet report --format json`: each host's name and verdict.
    public static func verdicts(_ report: [String: Any]) throws -> [String: String] {
        guard let hosts = report["hosts"] as? [[String: Any]] else { throw Malformed(description: "no hosts array in the report") }
        return Dictionary(uniqueKeysWithValues: hosts.map { ($0["name"] as? String ?? "?", $0["verdict"] as? String ?? "?") })
    }

    /// `fleet report --format json`: each check that failed somewhere, and the hosts it failed on.
    public static func failingChecks(_ report: [String: Any]) throws -> [String: [String]] {
        guard let checks = report["by_check"] as? [[String: Any]] else { throw Malformed(description: "no by_check array in the report") }
        return Dictionary(uniqueKeysWithValues: checks.filter { $0["outcome"] as? String == "fail" }.map {
            ($0["check"] as? String ?? "?", $0["hosts"] as? [String] ?? [])
        })
    }

    /// `fleet diff --format json`: each outlier host and the IDs of the facts it differs on.
    public static func outliers(_ diff: [String: Any]) throws -> [String: Set<String>] {
        guard let differences = diff["differences"] as? [[String: Any]] else { throw Malformed(description: "no differences array in the diff") }
        var outliers: [String: Set<String>] = [:]
        for difference in differences {
            guard let id = difference["id"] as? String else { throw Malformed(description: "a difference without an id") }
            for group in difference["outliers"] as? [[String: Any]] ?? [] {
                for host in group["hosts"] as? [String] ?? [] { outliers[host, default: []].insert(id) }
            }
        }
        return outliers
    }
}
