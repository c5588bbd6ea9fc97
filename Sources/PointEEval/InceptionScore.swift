import Foundation

/// P-IS (the reference's `compute_inception_score`): over splits of `splitSize` rows of class
/// probabilities, exp(mean over rows of KL(p(y|x) || p(y))), averaged over the splits.
public enum InceptionScore {
    public static let defaultSplitSize = 5000

    /// `predictions` holds rows of `classes` probabilities. Terms with p = 0 contribute 0 (the
    /// limit of p log p; numpy would give NaN for the whole score).
    public static func compute(predictions: [Float], classes: Int, splitSize: Int = defaultSplitSize,
                               source: String = "predictions") throws -> Double {
        guard classes > 0, predictions.count % classes == 0, !predictions.isEmpty else {
            throw EvalError("\(source): \(predictions.count) values do not form rows of \(classes) class probabilities")
        }
        guard splitSize > 0 else { throw EvalError("P-IS: split size must be positive, got \(splitSize)") }
        let rows = predictions.count / classes
        var scores: [Double] = []
        for start in stride(from: 0, to: rows, by: splitSize) {
            let end = min(rows, start + splitSize)
            var marginal = [Double](repeating: 0, count: classes)
            for r in start..<end { for c in 0..<classes { marginal[c] += Double(predictions[r * classes + c]) } }
            let logMarginal = marginal.map { log($0 / Double(end - start)) }
            var klSum = 0.0
            for r in start..<end {
                for c in 0..<classes {
                    let p = Double(predictions[r * classes + c])
                    if p > 0 { klSum += p * (log(p) - logMarginal[c]) }
                }
            }
            scores.append(exp(klSum / Double(end - start)))
        }
        return scores.reduce(0, +) / Double(scores.count)
    }
}
