/// The uplift of a regime's p95 and p99 over STABLE's, with percentile-bootstrap intervals:
/// for each regime over every segment, and within the largest segments.
public struct Uplift: Sendable {
    public var regime: AttributionRegime
    /// 0.95 or 0.99.
    public var probability: Double
    public var stable: Double
    public var value: Double
    /// value − stable, in the value's unit, with its interval.
    public var difference: Double
    public var interval: (low: Double, high: Double)?
    /// value / stable − 1, where STABLE's quantile is positive.
    public var ratio: Double?
    public var ratioInterval: (low: Double, high: Double)?

    /// Whether the interval excludes 0: an uplift the data show, not noise.
    public var significant: Bool { interval.map { $0.low > 0 || $0.high < 0 } ?? false }
}

extension Uplift {
    static let probabilities = [0.95, 0.99]

    /// The segments whose uplifts get intervals: the `Bootstrap.maximumSegmentIntervals`
    /// with the most rows (ties by first seen). Each costs four bootstraps, so a telemetry
    /// with ten thousand segments cannot make the report take hours; the others keep their
    /// counts and quantiles.
    static func segmentsWithIntervals(_ builder: AttributionBuilder) -> Set<Int> {
        guard !builder.segmentColumns.isEmpty else { return [] }
        let ranked = builder.segmentKeys.indices.map { ($0, builder.segmentRows($0)) }.sorted { ($0.1, -$0.0) > ($1.1, -$1.0) }
        return Set(ranked.prefix(Bootstrap.maximumSegmentIntervals).map(\.0))
    }

    /// `other`'s uplifts over `stable` at each probability both have a quantile for.
    static func between(_ regime: AttributionRegime, stable: Bootstrapped, other: Bootstrapped) -> [Uplift] {
        var uplifts: [Uplift] = []
        for (position, p) in probabilities.enumerated() {
            guard let base = stable.full[position], let value = other.full[position] else { continue }
            let baseReplicates = stable.replicates[position], replicates = other.replicates[position]
            var uplift = Uplift(regime: regime, probability: p, stable: base, value: value, difference: value - base,
                                interval: Bootstrap.interval(zip(replicates, baseReplicates).map { $0 - $1 }))
            if base > 0 {
                uplift.ratio = value / base - 1
                uplift.ratioInterval = Bootstrap.interval(zip(replicates, baseReplicates).map { $1 > 0 ? $0 / $1 - 1 : .nan })
            }
            uplifts.append(uplift)
        }
        return uplifts
    }
}

/// A group's p95 and p99 with their bootstrap replicates, paired with another group's by
/// resample (Uplift.between).
struct Bootstrapped {
    var full: [Double?] = []
    var replicates: [[Double]]

    init<Values: RankedValues>(_ values: Values, label: String, cap: Int = Bootstrap.maximumResampleRows) throws(Values.Failure) {
        for p in Uplift.probabilities { full.append(try Quantile.type7(values, p)) }
        replicates = try Bootstrap.replicates(values, Uplift.probabilities, label: label, cap: cap)
    }
}
