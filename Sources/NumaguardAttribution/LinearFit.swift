/// The playbook's C_numa term as a regression: value = b0 + b1·hint faults/s + b2·pages
/// migrated/s, by ordinary least squares over every joined row whose sample has both rates.
/// Rows of one sample share its rates, so the fit is computed from each sample's count, mean
/// and sum of squared deviations (Welford): exact, constant memory per sample, and
/// numerically stable where raw sums of 10 million squares would not be.
public struct LinearFit: Sendable {
    public struct Term: Sendable {
        public var name: String
        public var coefficient: Double
        public var standardError: Double
    }

    public var rows: Int
    public var samples: Int
    /// The intercept first, then each rate kept.
    public var terms: [Term]
    public var rSquared: Double
    /// Predictors dropped because they did not vary over the joined rows (a fit cannot
    /// say anything about them).
    public var dropped: [String]

    /// Words a reader can act on: how much the rates explain, and the fit's limits.
    public var verdict: String {
        let share = (rSquared * 100).formatted(1)
        let base = rSquared < 0.1
            ? "the rates explain little of the value (R² \(share)%): most of its variation comes from elsewhere"
            : rSquared < 0.5 ? "the rates explain part of the value (R² \(share)%)"
            : "the rates explain most of the value's variation (R² \(share)%)"
        return base + "; a linear fit, and its standard errors treat rows as independent although rows of one sample share "
            + "its rates, so they are optimistic"
    }

    /// Per-sample aggregates in, the fit out; nil with fewer than 3 usable rows.
    static func fit(_ x1: [Double?], _ x2: [Double?], counts: [Int], means: [Double], m2: [Double],
                    names: (String, String)) -> LinearFit? {
        var used: [Int] = []
        var n = 0
        for index in counts.indices where counts[index] > 0 && x1[index] != nil && x2[index] != nil {
            used.append(index)
            n += counts[index]
        }
        guard n >= 3 else { return nil }
        let total = Double(n)
        func weightedMean(_ value: (Int) -> Double) -> Double {
            used.reduce(0.0) { $0 + Double(counts[$1]) * value($1) } / total
        }
        let ȳ = weightedMean { means[$0] }
        let a̅ = weightedMean { x1[$0] ?? 0 }
        let b̅ = weightedMean { x2[$0] ?? 0 }
        var saa = 0.0, sbb = 0.0, sab = 0.0, say = 0.0, sby = 0.0, within = 0.0, between = 0.0
        for index in used {
            let w = Double(counts[index])
            let a = (x1[index] ?? 0) - a̅, b = (x2[index] ?? 0) - b̅, y = means[index] - ȳ
            saa += w * a * a; sbb += w * b * b; sab += w * a * b
            say += w * a * y; sby += w * b * y
            within += m2[index]
            between += w * y * y
        }
        let tss = within + between
        // Which predictors vary (relative to their own scale) and so can be fitted.
        let useA = saa > 1e-12 * max(1, a̅ * a̅ * total), useB = sbb > 1e-12 * max(1, b̅ * b̅ * total)
        var coefficientA = 0.0, coefficientB = 0.0
        var inverse = (aa: 0.0, bb: 0.0, ab: 0.0)
        var dropped: [String] = []
        if useA && useB {
            let determinant = saa * sbb - sab * sab
            if determinant > 1e-12 * saa * sbb {
                inverse = (sbb / determinant, saa / determinant, -sab / determinant)
            } else {
                // Collinear: the pages figure moves with the faults; keep the faults alone.
                dropped.append(names.1 + " (moves in step with " + names.0 + ")")
                inverse = (1 / saa, 0, 0)
            }
        } else if useA {
            inverse = (1 / saa, 0, 0)
            dropped.append(names.1 + " (constant)")
        } else if useB {
            inverse = (0, 1 / sbb, 0)
            dropped.append(names.0 + " (constant)")
        } else {
            dropped += [names.0 + " (constant)", names.1 + " (constant)"]
        }
        coefficientA = inverse.aa * say + inverse.ab * sby
        coefficientB = inverse.ab * say + inverse.bb * sby
        let intercept = ȳ - coefficientA * a̅ - coefficientB * b̅
        var rss = within
        for index in used {
            let predicted = intercept + coefficientA * (x1[index] ?? 0) + coefficientB * (x2[index] ?? 0)
            let residual = means[index] - predicted
            rss += Double(counts[index]) * residual * residual
        }
        let parameters = 1 + (inverse.aa > 0 ? 1 : 0) + (inverse.bb > 0 ? 1 : 0)
        let variance = n > parameters ? rss / Double(n - parameters) : .nan
        var terms = [Term(name: "intercept", coefficient: intercept,
                          standardError: (variance * (1 / total + a̅ * a̅ * inverse.aa + b̅ * b̅ * inverse.bb + 2 * a̅ * b̅ * inverse.ab)).squareRoot())]
        if inverse.aa > 0 { terms.append(Term(name: names.0, coefficient: coefficientA, standardError: (variance * inverse.aa).squareRoot())) }
        if inverse.bb > 0 { terms.append(Term(name: names.1, coefficient: coefficientB, standardError: (variance * inverse.bb).squareRoot())) }
        return LinearFit(rows: n, samples: used.count, terms: terms, rSquared: tss > 0 ? max(0, 1 - rss / tss) : 0, dropped: dropped)
    }

    /// The C_numa term at a sample's rates: what the fit attributes to the rates there.
    func contribution(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b else { return nil }
        return terms.dropFirst().reduce(0.0) { $0 + $1.coefficient * ($1.name.hasPrefix("hint") ? a : b) }
    }
}

extension Double {
    /// Fixed decimals, without Foundation.
    func formatted(_ decimals: Int) -> String {
        guard isFinite else { return isNaN ? "nan" : (self > 0 ? "inf" : "-inf") }
        var factor = 1.0
        for _ in 0..<decimals { factor *= 10 }
        let scaled = (abs(self) * factor).rounded()
        guard scaled < 9e18 else { return String(self) }
        let whole = Int64(scaled)
        let integer = whole / Int64(factor), fraction = whole % Int64(factor)
        var text = String(integer)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return (self < 0 && scaled > 0 ? "-" : "") + text
    }
}
