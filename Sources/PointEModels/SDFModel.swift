import PointETensor

/// `CrossAttentionPointCloudSDFModel`: a transformer encodes the cloud's coordinates into
/// latents; a cross-attention perceiver decodes query points against them into SDF values.
/// Encoding and decoding are separate so a mesher encodes a cloud once and decodes many grid
/// batches; `DecoderContext` also keeps every layer's keys/values of the latents.
public struct CrossAttentionPointCloudSDFModel: Sendable {
    public static let className = "CrossAttentionPointCloudSDFModel"
    public let config: ModelConfig
    let encoderInputProj: Linear
    let encoder: TransformerStack
    let decoderInputProj: Linear
    let decoder: SimplePerceiver
    let lnPost: LayerNorm
    let outputProj: Linear

    public init(config: ModelConfig, parameters: ParameterSource) throws {
        guard config.name == Self.className else { throw ModelError("\(config.name) is not \(Self.className)") }
        self.config = config
        let root = ParameterScope(parameters)
        let width = config.width
        let initScale = config.resolvedInitScale
        encoderInputProj = Linear(root.child("encoder_input_proj"), in: 3, out: width, std: 1 / Float(3).squareRoot())
        encoder = TransformerStack(root.child("encoder"), width: width, layers: config.encoderLayers ?? 12,
                                   heads: config.encoderHeads ?? 8, initScale: initScale)
        decoderInputProj = Linear(root.child("decoder_input_proj"), in: 3, out: width, std: 1 / Float(3).squareRoot())
        decoder = SimplePerceiver(root.child("decoder"), width: width, layers: config.decoderLayers ?? 4,
                                  heads: config.decoderHeads ?? 8, initScale: initScale)
        lnPost = LayerNorm(root.child("ln_post"), width: width)
        outputProj = Linear(root.child("output_proj"), in: width, out: 1, std: 1 / Float(width).squareRoot())
    }

    /// Per-cloud decoder state: each decoder layer's keys/values of the latents.
    public struct DecoderContext: Sendable {
        public let latents: Tensor
        let keysValues: [Tensor]
    }

    /// point clouds [B, 3, N] -> latents [B, N, width].
    public func encode(_ pointClouds: Tensor, observe: PointDiffusionTransformer.Observer? = nil) throws -> Tensor {
        guard pointClouds.rank == 3, pointClouds.shape[1] == 3 else {
            throw ModelError("SDF encode: point clouds must be [B, 3, N], got \(pointClouds.shape)")
        }
        let h = encoderInputProj(pointClouds.transposedLastTwo())
        observe?("encoder_input_proj", h)
        return encoder(h) { i, out in observe?("encoder_block\(i)", out) }
    }

    public func decoderContext(latents: Tensor) -> DecoderContext {
        DecoderContext(latents: latents, keysValues: decoder.blocks.map { $0.keysValues(data: latents) })
    }

    /// queries [B, 3, Q] -> signed distances [B, Q].
    public func predictSDF(_ queries: Tensor, context: DecoderContext,
                           observe: PointDiffusionTransformer.Observer? = nil) throws -> Tensor {
        guard queries.rank == 3, queries.shape[1] == 3, queries.shape[0] == context.latents.shape[0] else {
            throw ModelError("SDF decode: queries must be [\(context.latents.shape[0]), 3, Q], got \(queries.shape)")
        }
        var h = decoderInputProj(queries.transposedLastTwo())
        observe?("decoder_input_proj", h)
        for (i, block) in decoder.blocks.enumerated() {
            h = block(h, keysValues: context.keysValues[i])
            observe?("decoder_block\(i)", h)
        }
        h = lnPost(h)
        observe?("ln_post", h)
        return outputProj(h).reshaped([queries.shape[0], queries.shape[2]])
    }
}
