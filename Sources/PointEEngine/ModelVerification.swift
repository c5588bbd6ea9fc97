import Foundation
import PointECheckpoint
import PointEModels

/// Loads a cached released file strictly against its architecture.
public enum ModelVerification {
    /// Returns a short description of what was checked; throws naming the file on any mismatch.
    public static func load(_ file: ReleasedFile, path: String) throws -> String {
        switch file.kind {
        case .pointE:
            guard let config = ModelRegistry.released(file.name) else {
                throw EngineError("\(file.name) has no registered architecture")
            }
            let (_, parameters) = try PointEModel.load(config: config, checkpoint: path)
            let count = parameters.parameters.reduce(0) { $0 + $1.tensor.count }
            return "\(config.name), \(count) parameters, strict"
        case .pointNet, .clip:
            // The archive must parse and hold float tensors; the strict architecture check for
            // these classes lives with their models (PointNet++ / CLIP loaders).
            let dict = try CheckpointLoader.load(path)
            guard dict.count > 0 else { throw EngineError("\(path) holds no tensors") }
            return "\(dict.count) tensors readable"
        }
    }
}
