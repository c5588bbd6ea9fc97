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
        case .pointNet:
            _ = try PointNetClassifier.load(checkpoint: path)
            return "PointNet++ SSG (40 classes, width x2), strict"
        case .clip:
            // The architecture is inferred from the shapes, as CLIP's build_model does.
            _ = try CLIPModel.load(checkpoint: path)
            return "CLIP, strict"
        }
    }
}
