import Foundation

/// The configs of the released Point-E checkpoints, by their published names (values of the
/// reference's `point_e/models/configs.py`), and the small `tiny` family used by tests.
public enum ModelRegistry {
    public static let releasedNames = ReleasedModel.allCases.map(\.rawValue)

    public static func released(_ name: String) -> ModelConfig? {
        switch name {
        case "base40M-imagevec", "base40M-textvec":
            return diffusion("CLIPImagePointDiffusionTransformer", width: 512, layers: 12, heads: 8, nCtx: 1024, tokenCond: true)
        case "base40M-uncond":
            var c = diffusion("PointDiffusionTransformer", width: 512, layers: 12, heads: 8, nCtx: 1024)
            c.condDropProb = nil
            return c
        case "base40M": return diffusion("CLIPImageGridPointDiffusionTransformer", width: 512, layers: 12, heads: 8, nCtx: 1024)
        case "base300M": return diffusion("CLIPImageGridPointDiffusionTransformer", width: 1024, layers: 24, heads: 16, nCtx: 1024)
        case "base1B": return diffusion("CLIPImageGridPointDiffusionTransformer", width: 2048, layers: 24, heads: 32, nCtx: 1024)
        case "upsample":
            var c = diffusion("CLIPImageGridUpsamplePointDiffusionTransformer", width: 512, layers: 12, heads: 8, nCtx: 3072)
            c.condCtx = 1024
            c.channelScales = channelScales
            c.channelBiases = channelBiases
            return c
        case "sdf":
            var c = ModelConfig(name: CrossAttentionPointCloudSDFModel.className, width: 256, nCtx: 4096)
            c.encoderLayers = 8
            c.encoderHeads = 4
            c.decoderLayers = 4
            c.decoderHeads = 4
            c.initScale = 0.25
            return c
        default: return nil
        }
    }

    /// A consistent miniature of the released family: same classes and names, matching
    /// dimensions between stages (base 64 points -> upsampled to 256, a CLIP of width 32 with
    /// a 4x4 grid of 64 features), so the whole pipeline runs offline in seconds.
    public static func tiny(_ name: String) -> ModelConfig? {
        guard var c = released(name) else { return nil }
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

    static func diffusion(_ name: String, width: Int, layers: Int, heads: Int, nCtx: Int, tokenCond: Bool? = nil) -> ModelConfig {
        var c = ModelConfig(name: name, width: width, nCtx: nCtx)
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
