import Foundation

/// The network configs of the released Point-E checkpoints (values of the reference's
/// `point_e/models/configs.py`), and the small `tiny` family used by tests. One exhaustive
/// switch: a new `ReleasedModel` case does not compile until it has a config here.
extension ReleasedModel {
    public var networkConfig: ModelConfig {
        switch self {
        case .base40MImagevec, .base40MTextvec:
            return Self.diffusion(.clipVector, width: 512, layers: 12, heads: 8, nCtx: 1024, tokenCond: true)
        case .base40MUncond:
            var c = Self.diffusion(.unconditional, width: 512, layers: 12, heads: 8, nCtx: 1024)
            c.condDropProb = nil
            return c
        case .base40M: return Self.diffusion(.clipGrid, width: 512, layers: 12, heads: 8, nCtx: 1024)
        case .base300M: return Self.diffusion(.clipGrid, width: 1024, layers: 24, heads: 16, nCtx: 1024)
        case .base1B: return Self.diffusion(.clipGrid, width: 2048, layers: 24, heads: 32, nCtx: 1024)
        case .upsample:
            var c = Self.diffusion(.clipGridUpsample, width: 512, layers: 12, heads: 8, nCtx: 3072)
            c.condCtx = 1024
            c.channelScales = Self.channelScales
            c.channelBiases = Self.channelBiases
            return c
        case .sdf:
            var c = ModelConfig(name: CrossAttentionPointCloudSDFModel.className, width: 256, nCtx: 4096)
            c.encoderLayers = 8
            c.encoderHeads = 4
            c.decoderLayers = 4
            c.decoderHeads = 4
            c.initScale = 0.25
            return c
        }
    }

    /// A consistent miniature of the released family: same classes and names, matching
    /// dimensions between stages (base 64 points -> upsampled to 256, a CLIP of width 32 with
    /// a 4x4 grid of 64 features), so the whole pipeline runs offline in seconds.
    public var tinyNetworkConfig: ModelConfig {
        var c = networkConfig
        // Shrunk by what the network is (its class), so a new model of a known class needs nothing here.
        if c.name == CrossAttentionPointCloudSDFModel.className {
            c.width = 32
            c.nCtx = 256
            c.encoderLayers = 2
            c.decoderLayers = 2
            c.encoderHeads = 2
            c.decoderHeads = 2
            return c
        }
        c.width = 32
        c.layers = 2
        c.heads = 2
        c.clipFeatureDim = 32
        c.clipGridSize = 4
        c.clipGridFeatureDim = 64
        if c.condCtx != nil {
            c.condCtx = 64
            c.nCtx = 192
        } else {
            c.nCtx = 64
        }
        return c
    }

    /// Maps colours 0..255 to [-1, 1] and leaves coordinates x2, as the released upsampler expects.
    static let channelScales: [Float] = [2.0, 2.0, 2.0, 0.007843137255, 0.007843137255, 0.007843137255]
    static let channelBiases: [Float] = [0.0, 0.0, 0.0, -1.0, -1.0, -1.0]

    static func diffusion(_ variant: PointDiffusionTransformer.Variant, width: Int, layers: Int, heads: Int, nCtx: Int,
                          tokenCond: Bool? = nil) -> ModelConfig {
        var c = ModelConfig(name: variant.rawValue, width: width, nCtx: nCtx)
        c.layers = layers
        c.heads = heads
        c.initScale = 0.25
        c.inputChannels = 6
        c.outputChannels = 12
        c.timeTokenCond = true
        c.tokenCond = tokenCond
        c.condDropProb = 0.1
        return c
    }
}
