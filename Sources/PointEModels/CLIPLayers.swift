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
        let h = x.copy()
        let qkv = ln1(h).clipLinear(weight: inProjWeight, bias: inProjBias)
        h.addInPlace(CLIPAttention.attend(qkv: qkv, heads: heads, causal: causal).clipLinear(weight: outProj.weight, bias: outProj.bias))
        let m = ln2(h).clipLinear(weight: fc.weight, bias: fc.bias)
        CLIPAttention.quickGELUInPlace(m)
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

enum CLIPAttention {
    /// Scaled dot-product attention over CLIP's packed [B, T, 3W] projections -> [B, T, W];
    /// `causal` masks keys after the query (the text tower's mask). One (batch, head) pair per
    /// work item, each with its own score matrix.
    static func attend(qkv: Tensor, heads: Int, causal: Bool) -> Tensor {
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0, "CLIP attention: qkv \(qkv.shape), heads \(heads)")
        let (b, t, w3) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
        let w = w3 / 3, c = w / heads
        let out = Tensor(zeros: [b, t, w])
        let scale = Float(1 / Double(c).squareRoot())
        let items = b * heads
        let workers = min(Parallel.threadCount, items)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * t * t)
        defer { scratch.deallocate() }
        let p = qkv.pointer, o = out.pointer
        Parallel.forEach(workers) { worker in
            let scores = scratch + worker * t * t
            var item = worker
            while item < items {
                let batch = item / heads, head = item % heads
                let q = p + batch * t * w3 + head * c
                BLAS.sgemm(transA: false, transB: true, m: t, n: t, k: c, alpha: scale,
                           a: q, lda: w3, b: q + w, ldb: w3, c: scores, ldc: t)
                for r in 0..<t { softmaxRow(scores + r * t, valid: causal ? r + 1 : t, count: t) }
                BLAS.sgemm(transA: false, transB: false, m: t, n: c, k: t,
                           a: scores, lda: t, b: q + 2 * w, ldb: w3, c: o + batch * t * w + head * c, ldc: w)
                item += workers
            }
        }
        return out
    }

    /// Softmax of the first `valid` entries; the masked rest become exactly 0.
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, valid: Int, count: Int) {
        var maxValue = -Float.infinity
        for i in 0..<valid { maxValue = max(maxValue, row[i]) }
        var sum: Float = 0
        for i in 0..<valid {
            let e = expf(row[i] - maxValue)
            row[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<valid { row[i] *= inv }
        for i in valid..<count { row[i] = 0 }
    }

    /// CLIP's QuickGELU: x * sigmoid(1.702 x).
    static func quickGELUInPlace(_ x: Tensor) {
        let p = x.pointer
        Parallel.forChunks(x.count, minimumPerChunk: 8192) { range in
            for i in range { p[i] = p[i] / (1 + expf(-1.702 * p[i])) }
        }
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
