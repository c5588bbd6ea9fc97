import Foundation

/// Point diffusion networks in a models directory (the model cache or `--models-dir`):
/// NAME.json (else the registry's config for NAME) with NAME.safetensors or NAME.pt, loaded
/// strictly. The one loader `pointe sample`, `pointe generate` and cluster workers share.
public enum ModelDirectory {
    public static func diffusionNetwork(_ name: String, directory: String) throws -> (config: ModelConfig, network: PointDiffusionTransformer) {
        let base = (directory as NSString).appendingPathComponent(name)
        let fm = FileManager.default
        let config: ModelConfig
        if fm.fileExists(atPath: base + ".json") {
            config = try ModelConfig.load(base + ".json")
        } else if let registered = ModelRegistry.released(name) {
            config = registered
        } else {
            throw ModelError("\(base).json not found and \"\(name)\" is not a registered model")
        }
        guard let weights = [".safetensors", ".pt"].map({ base + $0 }).first(where: { fm.fileExists(atPath: $0) }) else {
            throw ModelError("no weights for \(name) in \(directory) (\(name).safetensors or \(name).pt)")
        }
        guard case .diffusion(let network) = try PointEModel.load(config: config, checkpoint: weights).0 else {
            throw ModelError("\(weights): \(config.name) is not a point diffusion model")
        }
        return (config, network)
    }
}
