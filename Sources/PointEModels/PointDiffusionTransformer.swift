import Foundation
import PointETensor

/// The conditioning a diffusion transformer can take. Which fields a model uses depends on
/// its class; unused ones are ignored, required ones missing are an error.
public struct Conditioning: Sendable {
    /// CLIP image or text embeddings [B, featureDim] (L2-normalised), for the `...ImagePoint...` class.
    public var clipVector: Tensor?
    /// CLIP latent grid [B, gridFeatureDim, gridSize^2] (NCL), for the grid classes. The upsampler
    /// uses an all-zero grid when it is absent, as the reference does.
    public var clipGrid: Tensor?
    /// Base-stage points [B, channels, condCtx] in data units (xyz, RGB 0..255), for upsamplers.
    public var lowRes: Tensor?

    public init(clipVector: Tensor? = nil, clipGrid: Tensor? = nil, lowRes: Tensor? = nil) {
        self.clipVector = clipVector
        self.clipGrid = clipGrid
        self.lowRes = lowRes
    }
}

/// Every Point-E point diffusion network: `PointDiffusionTransformer` and its CLIP-vector,
/// CLIP-grid, upsample and grid-upsample subclasses. They share the backbone and differ only
/// in which conditioning tokens precede the points, which is what `Variant` records.
public struct PointDiffusionTransformer: Sendable {
    public enum Variant: String, Sendable, CaseIterable {
        case unconditional = "PointDiffusionTransformer"
        case clipVector = "CLIPImagePointDiffusionTransformer"
        case clipGrid = "CLIPImageGridPointDiffusionTransformer"
        case upsample = "UpsamplePointDiffusionTransformer"
        case clipGridUpsample = "CLIPImageGridUpsamplePointDiffusionTransformer"
    }

    public let config: ModelConfig
    public let variant: Variant
    public let width: Int
    let timeTokenCond: Bool
    let tokenCond: Bool

    let timeEmbed: MLP
    let lnPre: LayerNorm
    let backbone: TransformerStack
    let lnPost: LayerNorm
    let inputProj: Linear
    let outputProj: Linear
    // Variant-specific conditioning layers.
    let clipVectorEmbed: Linear?
    let clipGridNorm: LayerNorm?
    let clipGridEmbed: Linear?
    let lowResEmbed: Linear?
    let channelScales: Tensor?
    let channelBiases: Tensor?

    public init(config: ModelConfig, parameters: ParameterSource) throws {
        guard let variant = Variant(rawValue: config.name) else {
            throw ModelError("\(config.name) is not a point diffusion transformer class")
        }
        self.config = config
        self.variant = variant
        let width = config.width
        self.width = width
        let initScale = config.resolvedInitScale
        let inputChannels = config.resolvedInputChannels
        let root = ParameterScope(parameters)
        timeTokenCond = config.timeTokenCond ?? false
        tokenCond = config.tokenCond ?? false

        let isUpsampler = variant == .upsample || variant == .clipGridUpsample
        let isGrid = variant == .clipGrid || variant == .clipGridUpsample
        if isUpsampler && config.channelScales != nil {
            channelScales = root.tensor("channel_scales", shape: [inputChannels], initialize: .constant(config.channelScales!))
            channelBiases = root.tensor("channel_biases", shape: [inputChannels],
                                        initialize: .constant(config.channelBiases ?? Array(repeating: 0, count: inputChannels)))
        } else {
            channelScales = nil
            channelBiases = nil
        }
        guard (config.channelScales?.count ?? inputChannels) == inputChannels else {
            throw ModelError("config \(config.name): channel_scales has \(config.channelScales!.count) values for \(inputChannels) channels")
        }

        timeEmbed = MLP(root.child("time_embed"), width: width, std: initScale * (1 / Float(width)).squareRoot())
        lnPre = LayerNorm(root.child("ln_pre"), width: width)
        backbone = TransformerStack(root.child("backbone"), width: width, layers: config.resolvedLayers,
                                    heads: config.resolvedHeads, initScale: initScale)
        lnPost = LayerNorm(root.child("ln_post"), width: width)
        inputProj = Linear(root.child("input_proj"), in: inputChannels, out: width, std: 1 / Float(inputChannels).squareRoot())
        outputProj = Linear(root.child("output_proj"), in: width, out: config.resolvedOutputChannels,
                            std: 1 / Float(width).squareRoot())

        // Registration order follows the reference's modules, so a written state dict lists them alike.
        lowResEmbed = isUpsampler
            ? Linear(root.child("cond_point_proj"), in: config.condInputChannels ?? inputChannels, out: width,
                     std: 1 / Float(inputChannels).squareRoot())
            : nil
        if variant == .clipVector {
            let dim = config.resolvedClipFeatureDim
            clipVectorEmbed = Linear(root.child("clip_embed"), in: dim, out: width, std: 1 / Float(dim).squareRoot())
        } else {
            clipVectorEmbed = nil
        }
        if isGrid {
            let dim = config.resolvedClipGridFeatureDim
            clipGridNorm = LayerNorm(root.child("clip_embed").child("0"), width: dim)
            clipGridEmbed = Linear(root.child("clip_embed").child("1"), in: dim, out: width, std: 1 / Float(dim).squareRoot())
        } else {
            clipGridNorm = nil
            clipGridEmbed = nil
        }
    }

    /// Intermediate activations for parity debugging, named like the fixtures' `debug.*` tensors.
    public typealias Observer = (String, Tensor) -> Void

    /// One denoising forward pass: x [B, C, N] at timesteps t (B values) -> [B, outputChannels, N].
    public func callAsFunction(_ x: Tensor, timesteps t: [Float], conditioning: Conditioning = Conditioning(),
                               observe: Observer? = nil) throws -> Tensor {
        guard x.rank == 3, x.shape[1] == config.resolvedInputChannels else {
            throw ModelError("\(variant.rawValue): input must be [B, \(config.resolvedInputChannels), N], got \(x.shape)")
        }
        let batch = x.shape[0]
        guard t.count == batch else { throw ModelError("\(variant.rawValue): \(t.count) timesteps for batch \(batch)") }

        let tEmbed = timeEmbed(timestepEmbedding(t, dim: width))
        observe?("t_embed", tEmbed)

        // (embedding, as a token?) in the reference's order for each class.
        var cond: [(Tensor, Bool)] = []
        switch variant {
        case .unconditional:
            cond = [(tEmbed, timeTokenCond)]
        case .clipVector:
            cond = [(try embedClipVector(conditioning.clipVector, batch: batch, observe: observe), tokenCond),
                    (tEmbed, timeTokenCond)]
        case .clipGrid:
            guard let grid = conditioning.clipGrid else {
                throw ModelError("\(variant.rawValue) needs a CLIP latent grid")
            }
            cond = [(tEmbed, timeTokenCond), (try embedClipGrid(grid, batch: batch, observe: observe), true)]
        case .upsample:
            cond = [(tEmbed, timeTokenCond), (try embedLowRes(conditioning.lowRes, batch: batch, observe: observe), true)]
        case .clipGridUpsample:
            let grid = conditioning.clipGrid
                ?? Tensor(zeros: [batch, config.resolvedClipGridFeatureDim, config.resolvedClipGridSize * config.resolvedClipGridSize])
            cond = [(tEmbed, timeTokenCond), (try embedClipGrid(grid, batch: batch, observe: observe), true),
                    (try embedLowRes(conditioning.lowRes, batch: batch, observe: observe), true)]
        }
        return forward(x, cond: cond, observe: observe)
    }

    func forward(_ x: Tensor, cond: [(Tensor, Bool)], observe: Observer?) -> Tensor {
        let h = inputProj(x.transposedLastTwo())
        observe?("input_proj", h)
        for (emb, asToken) in cond where !asToken { h.addPerBatchInPlace(emb) }
        let extra = cond.filter(\.1).map { $0.0.rank == 2 ? $0.0.asSingleToken : $0.0 }
        var tokens = extra.isEmpty ? h : Tensor.concatTokens(extra + [h])
        tokens = lnPre(tokens)
        observe?("ln_pre", tokens)
        tokens = backbone(tokens) { i, out in observe?("block\(i)", out) }
        tokens = lnPost(tokens)
        observe?("ln_post", tokens)
        let skip = extra.reduce(0) { $0 + $1.shape[1] }
        let points = skip == 0 ? tokens : tokens.tokens(skip..<tokens.shape[1])
        return outputProj(points).transposedLastTwo()
    }

    func embedClipVector(_ vector: Tensor?, batch: Int, observe: Observer?) throws -> Tensor {
        let dim = config.resolvedClipFeatureDim
        guard let vector else { throw ModelError("\(variant.rawValue) needs CLIP embeddings [B, \(dim)]") }
        guard vector.shape == [batch, dim] else {
            throw ModelError("\(variant.rawValue): CLIP embeddings must be [\(batch), \(dim)], got \(vector.shape)")
        }
        // The reference rescales unit-norm CLIP features by sqrt(feature_dim) before the projection.
        let out = clipVectorEmbed!(vector.scaled(Float(Double(dim).squareRoot())))
        observe?("clip_embed", out)
        return out
    }

    func embedClipGrid(_ grid: Tensor, batch: Int, observe: Observer?) throws -> Tensor {
        let dim = config.resolvedClipGridFeatureDim
        let tokens = config.resolvedClipGridSize * config.resolvedClipGridSize
        guard grid.shape == [batch, dim, tokens] else {
            throw ModelError("\(variant.rawValue): CLIP grid must be [\(batch), \(dim), \(tokens)], got \(grid.shape)")
        }
        let out = clipGridEmbed!(clipGridNorm!(grid.transposedLastTwo()))
        observe?("clip_embed", out)
        return out
    }

    func embedLowRes(_ lowRes: Tensor?, batch: Int, observe: Observer?) throws -> Tensor {
        let proj = lowResEmbed!
        guard let lowRes else { throw ModelError("\(variant.rawValue) needs low_res points") }
        guard lowRes.rank == 3, lowRes.shape[0] == batch, lowRes.shape[1] == proj.inFeatures else {
            throw ModelError("\(variant.rawValue): low_res must be [\(batch), \(proj.inFeatures), N], got \(lowRes.shape)")
        }
        var scaled = lowRes
        if let scales = channelScales, let biases = channelBiases {
            scaled = lowRes.copy()
            let (c, n) = (lowRes.shape[1], lowRes.shape[2])
            for b in 0..<batch {
                for ch in 0..<c {
                    let row = scaled.pointer + (b * c + ch) * n
                    let s = scales.pointer[ch], o = biases.pointer[ch]
                    for i in 0..<n { row[i] = row[i] * s + o }
                }
            }
        }
        let out = proj(scaled.transposedLastTwo())
        observe?("cond_point_proj", out)
        return out
    }
}
