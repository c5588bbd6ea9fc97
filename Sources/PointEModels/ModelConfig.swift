import Foundation

/// A network's constructor configuration in the shape of the reference's `MODEL_CONFIGS`
/// entries (`point_e/models/configs.py`): snake_case keys, `name` = the class name.
/// Keys starting with "_" (fixture metadata) are ignored.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var name: String
    public var width: Int
    public var layers: Int?
    public var heads: Int?
    public var nCtx: Int
    public var inputChannels: Int?
    public var outputChannels: Int?
    public var timeTokenCond: Bool?
    public var tokenCond: Bool?
    public var initScale: Float?
    public var condDropProb: Float?
    public var condCtx: Int?
    public var condInputChannels: Int?
    public var channelScales: [Float]?
    public var channelBiases: [Float]?
    public var encoderLayers: Int?
    public var encoderHeads: Int?
    public var decoderLayers: Int?
    public var decoderHeads: Int?
    /// CLIP dimensions the conditioning layers are built for. The reference takes them from its
    /// frozen ViT-L/14 (768, 16x16 grid of 1024); they are configuration here so small model
    /// families can use a small CLIP.
    public var clipFeatureDim: Int?
    public var clipGridSize: Int?
    public var clipGridFeatureDim: Int?

    enum CodingKeys: String, CodingKey {
        case name, width, layers, heads
        case nCtx = "n_ctx", inputChannels = "input_channels", outputChannels = "output_channels"
        case timeTokenCond = "time_token_cond", tokenCond = "token_cond", initScale = "init_scale"
        case condDropProb = "cond_drop_prob", condCtx = "cond_ctx", condInputChannels = "cond_input_channels"
        case channelScales = "channel_scales", channelBiases = "channel_biases"
        case encoderLayers = "encoder_layers", encoderHeads = "encoder_heads"
        case decoderLayers = "decoder_layers", decoderHeads = "decoder_heads"
        case clipFeatureDim = "clip_feature_dim", clipGridSize = "clip_grid_size"
        case clipGridFeatureDim = "clip_grid_feature_dim"
    }

    public init(name: String, width: Int, nCtx: Int) {
        self.name = name
        self.width = width
        self.nCtx = nCtx
    }

    /// Reads a config JSON file (a released model's config as init-random writes it, or a parity fixture's NAME.json).
    public static func load(_ path: String) throws -> ModelConfig {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelError("cannot read model config \(path): \(error.localizedDescription)")
        }
        return try decode(data, source: path)
    }

    /// Class names this build can construct.
    public static let knownClasses = PointDiffusionTransformer.Variant.allCases.map(\.rawValue)
        + [CrossAttentionPointCloudSDFModel.className]

    public static func decode(_ data: Data, source: String) throws -> ModelConfig {
        struct Header: Decodable { var name: String? }
        if let header = try? JSONDecoder().decode(Header.self, from: data) {
            guard let name = header.name else { throw ModelError("model config \(source): missing key \"name\" (the class name)") }
            guard knownClasses.contains(name) else {
                throw ModelError("model config \(source): class \"\(name)\" is not a Point-E network this build knows "
                    + "(known: \(knownClasses.joined(separator: ", ")))")
            }
        }
        do {
            return try JSONDecoder().decode(ModelConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw ModelError("model config \(source): missing key \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ModelError("model config \(source): wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw ModelError("model config \(source) is not valid JSON: \(error)")
        }
    }

    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }

    // Resolved values with the reference's constructor defaults.
    var resolvedLayers: Int { layers ?? 12 }
    var resolvedHeads: Int { heads ?? 8 }
    var resolvedInitScale: Float { initScale ?? 0.25 }
    var resolvedInputChannels: Int { inputChannels ?? 3 }
    var resolvedOutputChannels: Int { outputChannels ?? 3 }
    var resolvedClipFeatureDim: Int { clipFeatureDim ?? 768 }
    var resolvedClipGridSize: Int { clipGridSize ?? 16 }
    var resolvedClipGridFeatureDim: Int { clipGridFeatureDim ?? 1024 }
}

/// An error from building, loading or running a model; the message names the file or input.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
