import Foundation
import PointEModels

/// Both metrics of one set of generated clouds (a batch file, a directory or a job directory),
/// P-FID against a reference set when one is given: what scoring a finished job reports.
public struct CloudSetScore: Sendable {
    public let count: Int
    public let referenceCount: Int?
    public let pfid: Double?
    public let pis: Double

    public static func compute(generated: String, reference: String?, evaluator: PointNetEvaluator,
                               progress: ((String, Int, Int) -> Void)? = nil) throws -> CloudSetScore {
        func run(_ path: String) throws -> PointNetEvaluator.Result {
            let clouds = try CloudInputs.load(path).clouds
            return try evaluator.evaluate(clouds) { progress?(path, $0, $1) }
        }
        let gen = try run(generated)
        let pis = try InceptionScore.compute(predictions: gen.predictions, classes: gen.classes, source: generated)
        guard let reference else { return CloudSetScore(count: gen.count, referenceCount: nil, pfid: nil, pis: pis) }
        let ref = try run(reference)
        let refStats = try FIDStatistics(features: ref.features, dim: ref.featureDim, source: reference)
        let genStats = try FIDStatistics(features: gen.features, dim: gen.featureDim, source: generated)
        return CloudSetScore(count: gen.count, referenceCount: ref.count, pfid: try refStats.frechetDistance(to: genStats), pis: pis)
    }
}
