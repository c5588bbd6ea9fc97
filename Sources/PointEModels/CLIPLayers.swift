import Foundation
import PointETensor

/// CLIP's transformer blocks: `nn.MultiheadAttention` (one packed `in_proj` of
/// [q | k | v], each split into contiguous head slices), QuickGELU MLPs, pre-LayerNorm.
public struct CLIPResidualBlock: Sendable {
    public let inProjWeight: Tensor   // [3W, W]
    public let inProjBias: Tensor     // [3W]
    public let outProj: Linear
    public let ln1: LayerNorm
    public let fc: Linear
    public let proj: Linear
    public let ln2: LayerNorm
    public let heads: Int

    /// CLIP's init: attention std W^-1/2, output projections std W^-1/2 (2 layers)^-1/2, MLP input std (2W)^-1/2.
    init(_ scope: ParameterScope, width: Int, heads: Int, layers: Int) {
        let attnStd = 1 / Float(width).squareRoot()
        let projStd = attnStd / Float(2 * layers).squareRoot()
        let fcStd = 1 / Float(2 * width).squareRoot()
        self.heads = heads
        let attn = scope.child("attn")
        inProjWeight = attn.tensor("in_proj_weight", shape: [3 * width, width], initialize: .gaussian(std: attnStd))
        inProjBias = attn.tensor("in_proj_bias", shape: [3 * width], initialize: .bias)
        outProj = Linear(attn.child("out_proj"), in: width, out: width, std: projStd)
        ln1 = LayerNorm(scope.child("ln_1"), width: width)
        fc = Linear(scope.child("mlp").child("c_fc"), in: width, out: 4 * width, std: fcStd)
        proj = Linear(scope.child("mlp").child("c_proj"), in: 4 * width, out: width, std: projStd)
        ln2 = LayerNorm(scope.child("ln_2"), width: width)
    }

    func callAsFunction(_ x: Tensor, causal: Bool) -> Tensor {
        let qkv = ln1(x).clipLinear(weight: inProjWeight, bias: inProjBias)
        // attn(...) + x is x + attn(...) (float addition commutes): the sum lands in the
        // attention output, so the residual stream is never copied.
        let h = Attention.selfAttention(qkv: qkv, heads: heads, layout: .qkvBlocks, causal: causal)
            .clipLinear(weight: outProj.weight, bias: outProj.bias)
        h.addInPlace(x)
        let m = ln2(h).clipLinear(weight: fc.weight, bias: fc.bias)
        m.quickGELUInPlace()
        h.addInPlace(m.clipLinear(weight: proj.weight, bias: proj.bias))
        return h
    }
}

/// A stack of CLIP blocks (`resblocks.N`).
public struct CLIPTransformer: Sendable {
    public let blocks: [CLIPResidualBlock]

    init(_ scope: ParameterScope, width: Int, layers: Int, heads: Int) {
        blocks = (0..<layers).map {
            CLIPResidualBlock(scope.child("resblocks").child("\($0)"), width: width, heads: heads, layers: layers)
        }
    }

    func callAsFunction(_ x: Tensor, causal: Bool) -> Tensor {
        blocks.reduce(x) { h, block in block(h, causal: causal) }
    }
}

extension Tensor {
    /// `nn.Linear` for CLIP's blocks. A prompt has only a handful of tokens: too few rows for
    /// more than one row band (BLAS.bandRows(forRows:)), and the product is bound by reading the weights,
    /// so the output features are split instead, in bands of a fixed width: like the row
    /// bands, the same sgemm calls (and so the same bits) whatever the thread count. Larger
    /// inputs take the shared row-band path.
    func clipLinear(weight: Tensor, bias: Tensor) -> Tensor {
        let k = shape.last ?? 0, n = weight.shape[0]
        let m = k == 0 ? 0 : count / k
        guard m > 0, BLAS.bandRows(forRows: m) == m else { return linear(weight: weight, bias: bias) }
        precondition(weight.shape == [n, k] && bias.count == n, "clipLinear: input \(shape), weight \(weight.shape), bias \(bias.shape)")
        let out = Tensor(zeros: Array(shape.dropLast()) + [n])
        let x = pointer, w = weight.pointer, b = bias.pointer, o = out.pointer
        for r in 0..<m { (o + r * n).update(from: b, count: n) }
        let width = CLIPColumnBands.width
        Parallel.forEach((n + width - 1) / width) { band in
            let n0 = band * width
            BLAS.sgemm(transA: false, transB: true, m: m, n: min(width, n - n0), k: k, a: x, lda: k,
                       b: w + n0 * k, ldb: k, beta: 1, c: o + n0, ldc: n)
        }
        return withExtendedLifetime((weight, bias)) { out }
    }
}

enum CLIPColumnBands {
    /// Output features per band of `clipLinear`: ViT-L/14's 768 to 3072 features give 6 to 24
    /// bands, enough to share evenly over a few threads.
    static let width = 128
}
