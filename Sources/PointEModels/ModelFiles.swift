import Foundation
import PointECheckpoint

/// How one model's files are named in a models directory: the single definition of the layout
/// that `pointe models download`, `pointe models init-random` and every loader share.
///   STEM.pt                    a released checkpoint (architecture: ReleasedModel.networkConfig)
///   STEM.safetensors + STEM.json  weights we wrote (random test sets, converted files)
public struct ModelFiles: Sendable, Equatable {
    public let stem: String
    public init(_ stem: String) { self.stem = stem }

    public var checkpoint: String { stem + ".pt" }
    public var safetensors: String { stem + ".safetensors" }
    public var config: String { stem + ".json" }
    /// Weight files in the order a loader prefers them.
    public var weights: [String] { [safetensors, checkpoint] }

    /// Writes random weights (STEM.safetensors, tagged with `metadata`) and their config
    /// (STEM.json) into `directory`, atomically; returns the weights' path and parameter count.
    @discardableResult
    public func writeRandom(_ parameters: ParameterSource, config: Data, metadata: [String: String], into directory: String) throws -> (path: String, parameters: Int) {
        let weights = (directory as NSString).appendingPathComponent(safetensors)
        try SafetensorsWriter.write(parameters.parameters.map { ($0.name, $0.tensor) }, metadata: ["format": "pt"].merging(metadata) { $1 }, to: weights)
        try AtomicFile.write(config, to: (directory as NSString).appendingPathComponent(self.config))
        return (weights, parameters.parameters.reduce(0) { $0 + $1.tensor.count })
    }
}
