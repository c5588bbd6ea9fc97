import Foundation
import PointEModels
import PointETensor

/// Features and class probabilities of many clouds, computed as the reference's
/// `PointNetClassifier.features_and_preds` does: clouds normalised into the unit sphere and run
/// through PointNet++ in device batches of 64, in input order. Clouds of different point counts
/// are grouped by size (each size in input order, batches of 64 within it), since a batch
/// tensor needs one count; results come back in input order.
public struct PointNetEvaluator: Sendable {
    public let model: PointNetClassifier
    public let deviceBatchSize: Int

    public init(model: PointNetClassifier, deviceBatchSize: Int = PointNetClassifier.deviceBatchSize) {
        self.model = model
        self.deviceBatchSize = deviceBatchSize
    }

    /// Features ([count, featureDim]) and probabilities ([count, numClasses]), row-major.
    public struct Result: Sendable {
        public var features: [Float]
        public var predictions: [Float]
        public let featureDim: Int
        public let classes: Int
        public var count: Int { featureDim == 0 ? 0 : features.count / featureDim }
    }

    /// `clouds` are raw xyz coordinates, point-major ([n, 3] each).
    public func evaluate(_ clouds: [[Float]], progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        let dim = model.featureDim, classes = model.numClasses
        var features = [Float](repeating: 0, count: clouds.count * dim)
        var predictions = [Float](repeating: 0, count: clouds.count * classes)
        var bySize: [Int: [Int]] = [:]
        var sizes: [Int] = []
        for (i, cloud) in clouds.enumerated() {
            guard cloud.count % 3 == 0, cloud.count >= 3 else {
                throw EvalError("cloud \(i): \(cloud.count) coordinates are not a non-empty list of xyz points")
            }
            let n = cloud.count / 3
            if bySize[n] == nil { sizes.append(n) }
            bySize[n, default: []].append(i)
        }
        var done = 0
        for n in sizes {
            let members = bySize[n]!
            for start in stride(from: 0, to: members.count, by: deviceBatchSize) {
                let batch = Array(members[start..<min(members.count, start + deviceBatchSize)])
                let raw = Tensor(zeros: [batch.count, n, 3])
                for (b, index) in batch.enumerated() {
                    clouds[index].withUnsafeBufferPointer { (raw.pointer + b * n * 3).update(from: $0.baseAddress!, count: n * 3) }
                }
                let out = model(PointNetClassifier.normalize(raw))
                for (b, index) in batch.enumerated() {
                    for c in 0..<dim { features[index * dim + c] = out.features.pointer[b * dim + c] }
                    for c in 0..<classes { predictions[index * classes + c] = out.probs.pointer[b * classes + c] }
                }
                done += batch.count
                progress?(done, clouds.count)
            }
        }
        return Result(features: features, predictions: predictions, featureDim: dim, classes: classes)
    }
}
