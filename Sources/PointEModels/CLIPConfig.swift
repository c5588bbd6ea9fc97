import Foundation
import PointECheckpoint

/// The constructor arguments of CLIP's `clip.model.CLIP` (ViT image tower only), in the
/// snake_case JSON of the reference fixtures. The vision tower always has width / 64 heads, as
/// CLIP defines it; the text heads are free (CLIP's `build_model` infers width / 64).
public struct CLIPConfig: Codable, Sendable, Equatable {
    public var name = "CLIP"
    public var embedDim: Int
    public var imageResolution: Int
    public var visionLayers: Int
    public var visionWidth: Int
    public var visionPatchSize: Int
    public var contextLength: Int
    public var vocabSize: Int
    public var transformerWidth: Int
    public var transformerHeads: Int
    public var transformerLayers: Int

    enum CodingKeys: String, CodingKey {
        case name, embedDim = "embed_dim", imageResolution = "image_resolution", visionLayers = "vision_layers"
        case visionWidth = "vision_width", visionPatchSize = "vision_patch_size", contextLength = "context_length"
        case vocabSize = "vocab_size", transformerWidth = "transformer_width", transformerHeads = "transformer_heads"
        case transformerLayers = "transformer_layers"
    }

    public init(embedDim: Int, imageResolution: Int, visionLayers: Int, visionWidth: Int, visionPatchSize: Int,
                contextLength: Int = 77, vocabSize: Int = 49408, transformerWidth: Int, transformerHeads: Int, transformerLayers: Int) {
        self.embedDim = embedDim
        self.imageResolution = imageResolution
        self.visionLayers = visionLayers
        self.visionWidth = visionWidth
        self.visionPatchSize = visionPatchSize
        self.contextLength = contextLength
        self.vocabSize = vocabSize
        self.transformerWidth = transformerWidth
        self.transformerHeads = transformerHeads
        self.transformerLayers = transformerLayers
    }

    /// ViT-L/14, the CLIP Point-E conditions on (768-d embeddings, 16 x 16 x 1024 grid).
    public static let vitL14 = CLIPConfig(embedDim: 768, imageResolution: 224, visionLayers: 24, visionWidth: 1024,
                                          visionPatchSize: 14, transformerWidth: 768, transformerHeads: 12, transformerLayers: 12)

    /// A CLIP matching the `tiny` point networks: embed 32 (clip_feature_dim), vision width 64
    /// (clip_grid_feature_dim) and a 4 x 4 grid (clip_grid_size) at the real 224 resolution.
    public static let tiny = CLIPConfig(embedDim: 32, imageResolution: 224, visionLayers: 2, visionWidth: 64,
                                        visionPatchSize: 56, transformerWidth: 32, transformerHeads: 2, transformerLayers: 2)

    public var visionHeads: Int { max(1, visionWidth / 64) }
    public var gridSize: Int { imageResolution / visionPatchSize }

    public func validate(source: String) throws {
        let positive = [embedDim, imageResolution, visionLayers, visionWidth, visionPatchSize, contextLength, vocabSize,
                        transformerWidth, transformerHeads, transformerLayers]
        guard positive.allSatisfy({ $0 > 0 }) else { throw ModelError("\(source): CLIP config has a non-positive size: \(self)") }
        guard imageResolution % visionPatchSize == 0 else {
            throw ModelError("\(source): image_resolution \(imageResolution) is not a multiple of vision_patch_size \(visionPatchSize)")
        }
        guard transformerWidth % transformerHeads == 0 else {
            throw ModelError("\(source): transformer_width \(transformerWidth) is not divisible by transformer_heads \(transformerHeads)")
        }
    }

    public static func load(_ path: String) throws -> CLIPConfig {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelError("\(path): cannot read the CLIP config: \(error.localizedDescription)")
        }
        let config: CLIPConfig
        do { config = try JSONDecoder().decode(CLIPConfig.self, from: data) } catch {
            throw ModelError("\(path): not a CLIP config: \(error)")
        }
        guard config.name == "CLIP" else { throw ModelError("\(path): \"name\" is \"\(config.name)\", expected \"CLIP\"") }
        try config.validate(source: path)
        return config
    }

    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// The architecture read off a checkpoint's shapes, as CLIP's `build_model` does. The text
    /// heads cannot be seen in the shapes: `textHeads` overrides CLIP's width / 64 rule.
    public static func inferred(from dict: StateDict, textHeads: Int? = nil) throws -> CLIPConfig {
        func shape(_ name: String) throws -> [Int] {
            guard let t = dict[name] else {
                if name == "visual.proj" {
                    throw ModelError("\(dict.source): no visual.proj: not a CLIP ViT checkpoint (ResNet image towers are not supported)")
                }
                throw ModelError("\(dict.source): CLIP tensor \(name) is missing")
            }
            return t.shape
        }
        func layerCount(_ prefix: String) -> Int {
            Set(dict.keys.filter { $0.hasPrefix(prefix) }.compactMap { Int($0.dropFirst(prefix.count).split(separator: ".").first ?? "") }).count
        }
        let conv = try shape("visual.conv1.weight")
        let visualPositions = try shape("visual.positional_embedding")
        _ = try shape("visual.proj")
        guard conv.count == 4, visualPositions.count == 2 else {
            throw ModelError("\(dict.source): visual.conv1.weight \(conv) / visual.positional_embedding \(visualPositions) are not a ViT's")
        }
        let grid = Int((Double(visualPositions[0] - 1)).squareRoot().rounded())
        let textProjection = try shape("text_projection")
        let width = try shape("ln_final.weight")[0]
        let heads = textHeads ?? width / 64
        guard heads > 0 else {
            throw ModelError("\(dict.source): text width \(width) is below 64, so CLIP's rule (width / 64) gives no heads; give the config (transformer_heads) explicitly")
        }
        let config = CLIPConfig(
            embedDim: textProjection.last ?? 0, imageResolution: conv[3] * grid, visionLayers: layerCount("visual.transformer.resblocks."),
            visionWidth: conv[0], visionPatchSize: conv[3], contextLength: try shape("positional_embedding")[0],
            vocabSize: try shape("token_embedding.weight")[0], transformerWidth: width, transformerHeads: heads,
            transformerLayers: layerCount("transformer.resblocks."))
        try config.validate(source: dict.source)
        return config
    }
}

extension CLIPConfig {
    /// A small CLIP whose outputs fit point networks configured with these CLIP dimensions
    /// (`clip_feature_dim`, `clip_grid_size`, `clip_grid_feature_dim`): embed dim = feature dim,
    /// vision width = grid feature dim, patch = 224 / grid size, text width = feature dim.
    public static func matching(_ model: ModelConfig) throws -> CLIPConfig {
        let feature = model.clipFeatureDim ?? 768, grid = model.clipGridSize ?? 16, gridFeature = model.clipGridFeatureDim ?? 1024
        guard grid > 0, 224 % grid == 0 else { throw ModelError("clip_grid_size \(grid) does not divide CLIP's 224-pixel input") }
        if feature == 768 && grid == 16 && gridFeature == 1024 { return .vitL14 }
        let heads = feature % 16 == 0 ? max(1, feature / 16) : 1
        return CLIPConfig(embedDim: feature, imageResolution: 224, visionLayers: 2, visionWidth: gridFeature,
                          visionPatchSize: 224 / grid, transformerWidth: feature, transformerHeads: heads, transformerLayers: 2)
    }
}
