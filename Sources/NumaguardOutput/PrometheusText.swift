import NumaguardCore

/// Prometheus text exposition (format 0.0.4) built family by family: HELP and TYPE lines,
/// then the samples, label values and HELP text escaped as the format requires. Shared by
/// the audit's textfile (and the exposition of an audit that could not run) and `watch`'s
/// /metrics, so every series numaguard exposes is escaped and formatted one way.
public struct PrometheusText: Sendable {
    public enum Kind: String, Sendable { case gauge, counter }

    public private(set) var output = ""

    public init() {}

    public mutating func family(_ name: String, _ kind: Kind, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
        output += "# HELP \(name) \(Self.escapeHelp(help))\n"
        output += "# TYPE \(name) \(kind.rawValue)\n"
        for sample in samples {
            output += name + Self.labels(sample.labels) + " " + sample.value + "\n"
        }
    }

    /// `{name="value",...}`, or nothing for no labels.
    static func labels(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "{" + pairs.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabel(_ value: String) -> String {
        // Most values need nothing: a byte scan is cheaper than rebuilding them scalar by scalar.
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else { return value }
        return Escaping.replacing(value) { scalar in
            switch scalar {
            case "\\": "\\\\"
            case "\"": "\\\""
            case "\n": "\\n"
            default: nil
            }
        }
    }

    /// HELP text escapes backslash and line feed.
    static func escapeHelp(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A }) else { return value }
        return Escaping.replacing(value) { scalar in
            switch scalar {
            case "\\": "\\\\"
            case "\n": "\\n"
            default: nil
            }
        }
    }

    /// A sample value: whole numbers without a fraction; otherwise the shortest form that
    /// reads back exactly; NaN and the infinities in the format's spelling.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
