import Foundation
import PointECheckpoint
import PointETensor

/// Any Point-E network, built from its config with weights from a checkpoint (strictly) or at random.
public enum PointEModel: Sendable {
    case diffusion(PointDiffusionTransformer)
    case sdf(CrossAttentionPointCloudSDFModel)

    public static func build(config: ModelConfig, parameters: ParameterSource) throws -> PointEModel {
        if config.name == CrossAttentionPointCloudSDFModel.className {
            return .sdf(try CrossAttentionPointCloudSDFModel(config: config, parameters: parameters))
        }
        if PointDiffusionTransformer.Variant(rawValue: config.name) != nil {
            return .diffusion(try PointDiffusionTransformer(config: config, parameters: parameters))
        }
        throw ModelError("unknown model class \"\(config.name)\" (known: \(ModelConfig.knownClasses.joined(separator: ", ")))")
    }

    /// Loads a checkpoint (PyTorch .pt or .safetensors) strictly against `config`.
    public static func load(config: ModelConfig, checkpoint path: String) throws -> (PointEModel, ParameterSource) {
        let source = ParameterSource(stateDict: try CheckpointLoader.load(path))
        let model = try build(config: config, parameters: source)
        try source.finish()
        return (model, source)
    }

    /// Random weights (the reference's init, perturbed), deterministic in `seed`.
    /// Writes a random-weight NAME.safetensors + NAME.json (a models directory's offline form)
    /// into `directory`; returns the weights' path and parameter count.
    @discardableResult
    public static func writeRandom(_ name: String, config: ModelConfig, seed: UInt64, metadata: [String: String] = [:],
                                   directory: String) throws -> (path: String, parameters: Int) {
        let (_, source) = try random(config: config, seed: seed)
        return try ModelFiles(name).writeRandom(source, config: config.jsonData(), metadata: ["pointe.model": name].merging(metadata) { $1 }, into: directory)
    }

    public static func random(config: ModelConfig, seed: UInt64) throws -> (PointEModel, ParameterSource) {
        let source = ParameterSource(randomSeed: seed)
        return (try build(config: config, parameters: source), source)
    }
}
