import Foundation
import PointETensor

/// CLIP's ViT image tower (`visual.*`): patch embedding (the stride-P convolution computed as a
/// matrix product over flattened patches), class token, positions, `ln_pre`, transformer, then
/// `ln_post` + `proj` for the image vector or the patch tokens as Point-E's latent grid.
public struct CLIPVisionTransformer: Sendable {
    public let config: CLIPConfig
    let patchWeight: Tensor          // conv1.weight viewed as [W, 3 P P]
    let classEmbedding: Tensor       // [W]
    let positionalEmbedding: Tensor  // [G G + 1, W]
    let lnPre: LayerNorm
    let transformer: CLIPTransformer
    let lnPost: LayerNorm
    let proj: Tensor                 // [W, E]

    init(_ scope: ParameterScope, config: CLIPConfig) {
        self.config = config
        let w = config.visionWidth, p = config.visionPatchSize, g = config.gridSize
        let scale = 1 / Float(w).squareRoot()
        patchWeight = scope.tensor("conv1.weight", shape: [w, 3, p, p], initialize: .gaussian(std: 1 / Float(3 * p * p).squareRoot()))
            .reshaped([w, 3 * p * p])
        classEmbedding = scope.tensor("class_embedding", shape: [w], initialize: .gaussian(std: scale))
        positionalEmbedding = scope.tensor("positional_embedding", shape: [g * g + 1, w], initialize: .gaussian(std: scale))
        lnPre = LayerNorm(scope.child("ln_pre"), width: w)
        transformer = CLIPTransformer(scope.child("transformer"), width: w, layers: config.visionLayers, heads: config.visionHeads)
        lnPost = LayerNorm(scope.child("ln_post"), width: w)
        proj = scope.tensor("proj", shape: [w, config.embedDim], initialize: .gaussian(std: scale))
    }

    /// Transformer output for images [N, 3, R, R] -> tokens [N, G G + 1, W] (class token first).
    public func tokens(_ images: Tensor) throws -> Tensor {
        let r = config.imageResolution, p = config.visionPatchSize, g = config.gridSize, w = config.visionWidth
        guard images.rank == 4, images.shape[1] == 3, images.shape[2] == r, images.shape[3] == r else {
            throw ModelError("CLIP image encoder: expected images [N, 3, \(r), \(r)], got \(images.shape)")
        }
        let n = images.shape[0]
        // Patches in the convolution weight's (channel, row, column) order.
        let patches = Tensor(zeros: [n, g * g, 3 * p * p])
        let src = images.pointer, dst = patches.pointer
        Parallel.forEach(n * g) { job in
            let image = job / g, gy = job % g
            for gx in 0..<g {
                var d = dst + ((image * g + gy) * g + gx) * 3 * p * p
                for ch in 0..<3 {
                    for ky in 0..<p {
                        let row = src + ((image * 3 + ch) * r + gy * p + ky) * r + gx * p
                        d.update(from: row, count: p)
                        d += p
                    }
                }
            }
        }
        let embedded = patches.linear(weight: patchWeight, bias: nil)
        let x = Tensor(zeros: [n, g * g + 1, w])
        defer { withExtendedLifetime(embedded) {} }
        for image in 0..<n {
            let row = x.pointer + image * (g * g + 1) * w
            row.update(from: classEmbedding.pointer, count: w)
            (row + w).update(from: embedded.pointer + image * g * g * w, count: g * g * w)
            for i in 0..<((g * g + 1) * w) { row[i] += positionalEmbedding.pointer[i] }
        }
        return transformer(lnPre(x), causal: false)
    }

    /// `encode_image`: unnormalised image features [N, E].
    public func encode(_ images: Tensor) throws -> Tensor {
        let t = try tokens(images)
        let (n, l, w) = (t.shape[0], t.shape[1], t.shape[2])
        let cls = Tensor(zeros: [n, w])
        for i in 0..<n { (cls.pointer + i * w).update(from: t.pointer + i * l * w, count: w) }
        return lnPost(cls).matmul(proj)
    }

    /// Point-E's `embed_images_grid`: the patch tokens without the class token, as [N, W, G G].
    public func grid(_ images: Tensor) throws -> Tensor {
        let t = try tokens(images)
        let (n, l, w) = (t.shape[0], t.shape[1], t.shape[2])
        let out = Tensor(zeros: [n, w, l - 1])
        for i in 0..<n {
            let src = t.pointer + i * l * w, dst = out.pointer + i * w * (l - 1)
            for token in 1..<l {
                for c in 0..<w { dst[c * (l - 1) + token - 1] = src[token * w + c] }
            }
        }
        return out
    }
}

/// CLIP's text tower: token + positional embedding, causal transformer, `ln_final`, the end
/// token's feature times `text_projection`.
public struct CLIPTextTransformer: Sendable {
    public let config: CLIPConfig
    let tokenEmbedding: Tensor       // [V, W]
    let positionalEmbedding: Tensor  // [C, W]
    let transformer: CLIPTransformer
    let lnFinal: LayerNorm
    let textProjection: Tensor       // [W, E]

    init(_ scope: ParameterScope, config: CLIPConfig) {
        self.config = config
        let w = config.transformerWidth
        tokenEmbedding = scope.tensor("token_embedding.weight", shape: [config.vocabSize, w], initialize: .gaussian(std: 0.02))
        positionalEmbedding = scope.tensor("positional_embedding", shape: [config.contextLength, w], initialize: .gaussian(std: 0.01))
        transformer = CLIPTransformer(scope.child("transformer"), width: w, layers: config.transformerLayers, heads: config.transformerHeads)
        lnFinal = LayerNorm(scope.child("ln_final"), width: w)
        textProjection = scope.tensor("text_projection", shape: [w, config.embedDim], initialize: .gaussian(std: 1 / Float(w).squareRoot()))
    }

    /// `encode_text`: unnormalised features [B, E] of token rows (each `contextLength` ids).
    /// The feature is read at the highest id (the end token). Under the causal mask no token
    /// sees those after it, so each row runs only up to its end token: same result, less work.
    public func encode(_ tokens: [[Int32]]) throws -> Tensor {
        let w = config.transformerWidth, e = config.embedDim
        let out = Tensor(zeros: [tokens.count, e])
        for (row, ids) in tokens.enumerated() {
            guard ids.count == config.contextLength else {
                throw ModelError("CLIP text encoder: token row \(row) has \(ids.count) ids, expected \(config.contextLength)")
            }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
                throw ModelError("CLIP text encoder: token row \(row) holds id \(bad), outside the vocabulary of \(config.vocabSize)")
            }
            // torch.argmax: the first position of the largest id.
            var last = 0
            for i in ids.indices where ids[i] > ids[last] { last = i }
            let x = Tensor(zeros: [1, last + 1, w])
            for i in 0...last {
                let dst = x.pointer + i * w, tok = tokenEmbedding.pointer + Int(ids[i]) * w, pos = positionalEmbedding.pointer + i * w
                for c in 0..<w { dst[c] = tok[c] + pos[c] }
            }
            let h = lnFinal(transformer(x, causal: true).tokens(last..<(last + 1)))
            let feature = h.reshaped([1, w]).matmul(textProjection)
            withExtendedLifetime(feature) { (out.pointer + row * e).update(from: feature.pointer, count: e) }
        }
        return out
    }
}
