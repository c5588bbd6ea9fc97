import Foundation
import PointECheckpoint
import PointETensor

/// OpenAI's CLIP (ViT image tower) with the reference's parameter names, and Point-E's three
/// uses of it: normalised text vectors, normalised image vectors, image latent grids.
public struct CLIPModel: Sendable {
    public let config: CLIPConfig
    public let text: CLIPTextTransformer
    public let vision: CLIPVisionTransformer
    public let logitScale: Tensor

    /// The TorchScript buffers OpenAI's released archives carry besides the weights.
    static let archiveBuffers = ["input_resolution", "context_length", "vocab_size"]

    public init(config: CLIPConfig, parameters: ParameterSource) throws {
        try config.validate(source: "CLIP config")
        let root = ParameterScope(parameters)
        self.config = config
        // Same creation order as the reference module, so random weights follow its layout.
        text = CLIPTextTransformer(root, config: config)
        vision = CLIPVisionTransformer(root.child("visual"), config: config)
        logitScale = root.tensor("logit_scale", shape: [], initialize: .constant([Float(log(1 / 0.07))]))
        try parameters.finish()
    }

    /// Random weights with CLIP's init (perturbed like every random model here).
    public static func random(config: CLIPConfig, seed: UInt64) throws -> (CLIPModel, ParameterSource) {
        let source = ParameterSource(randomSeed: seed)
        return (try CLIPModel(config: config, parameters: source), source)
    }

    /// Loads a plain state_dict or a TorchScript archive (OpenAI's released `ViT-L-14.pt`),
    /// strictly. Without `config` the architecture is read off the shapes as CLIP's
    /// `build_model` does; `config` is needed only when the text heads differ from width / 64.
    public static func load(checkpoint path: String, config: CLIPConfig? = nil) throws -> CLIPModel {
        let dict = try CheckpointLoader.load(path)
        let resolved = try config ?? CLIPConfig.inferred(from: dict)
        try resolved.validate(source: path)
        // Check the archive's int64 buffers against the architecture, then leave them out of
        // the weights (as build_model deletes them).
        var weights: [CheckpointTensor] = []
        for key in dict.keys {
            guard let tensor = dict[key] else { continue }
            if archiveBuffers.contains(key) {
                let stored = try tensor.int64Values()
                let expected = key == "input_resolution" ? resolved.imageResolution
                    : key == "context_length" ? resolved.contextLength : resolved.vocabSize
                guard stored.count == 1, Int(stored[0]) == expected else {
                    throw ModelError("\(path): buffer \(key) = \(stored) does not match the weights' \(expected)")
                }
                continue
            }
            weights.append(tensor)
        }
        let stateDict = try StateDict(source: dict.source, tensors: weights)
        return try CLIPModel(config: resolved, parameters: ParameterSource(stateDict: stateDict))
    }

    /// Point-E's `embed_text`: L2-normalised `encode_text` of the prompts [B, E].
    public func embedText(_ prompts: [String], tokenizer: CLIPTokenizer) throws -> Tensor {
        guard tokenizer.contextLength == config.contextLength else {
            throw ModelError("CLIP: tokenizer context \(tokenizer.contextLength) differs from the model's \(config.contextLength)")
        }
        return Self.normalizedRows(try text.encode(tokenizer.tokenize(prompts)))
    }

    /// Point-E's `embed_images`: L2-normalised `encode_image` [N, E] of preprocessed images.
    public func embedImages(_ images: Tensor) throws -> Tensor {
        Self.normalizedRows(try vision.encode(images))
    }

    /// Point-E's `embed_images_grid`: [N, vision width, grid^2] of preprocessed images.
    public func embedImagesGrid(_ images: Tensor) throws -> Tensor {
        try vision.grid(images)
    }

    /// Each row divided by its Euclidean norm (as torch.linalg.norm, no epsilon).
    package static func normalizedRows(_ x: Tensor) -> Tensor {
        let out = x.copy()
        let w = x.shape.last ?? 0
        for r in 0..<(w == 0 ? 0 : x.count / w) {
            let row = out.pointer + r * w
            var sum: Float = 0
            for i in 0..<w { sum += row[i] * row[i] }
            let inv = 1 / sum.squareRoot()
            for i in 0..<w { row[i] *= inv }
        }
        return out
    }
}

extension CLIPModel {
    /// File stem of a CLIP in a models directory: clip.safetensors + clip.json (random weights).
    public static let fileStem = "clip"

    /// Writes random weights (DIR/clip.safetensors) and the config (DIR/clip.json); returns the
    /// weights' path and parameter count.
    @discardableResult
    public static func writeRandom(config: CLIPConfig, seed: UInt64, directory: String) throws -> (path: String, parameters: Int) {
        let (_, source) = try random(config: config, seed: seed)
        return try ModelFiles(fileStem).writeRandom(source, config: config.jsonData(), metadata: ["pointe.model": fileStem], into: directory)
    }
}
