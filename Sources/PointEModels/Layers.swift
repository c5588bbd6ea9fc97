import PointETensor

/// `nn.Linear` (weight [out, in], bias [out]).
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor

    public init(_ scope: ParameterScope, in inFeatures: Int, out outFeatures: Int, std: Float) {
        weight = scope.tensor("weight", shape: [outFeatures, inFeatures], initialize: .gaussian(std: std))
        bias = scope.tensor("bias", shape: [outFeatures], initialize: .bias)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }
}

/// `nn.LayerNorm(width)` with eps 1e-5.
public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor

    public init(_ scope: ParameterScope, width: Int) {
        weight = scope.tensor("weight", shape: [width], initialize: .layerNormWeight)
        bias = scope.tensor("bias", shape: [width], initialize: .layerNormBias)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias) }
}

/// The reference's MLP: c_fc (width -> 4 width), exact GELU, c_proj.
public struct MLP: Sendable {
    public let cFc: Linear
    public let cProj: Linear

    public init(_ scope: ParameterScope, width: Int, std: Float) {
        cFc = Linear(scope.child("c_fc"), in: width, out: width * 4, std: std)
        cProj = Linear(scope.child("c_proj"), in: width * 4, out: width, std: std)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        cProj(x.linear(weight: cFc.weight, bias: cFc.bias, activation: .gelu))
    }
}

/// Self-attention with the reference's packed per-head QKV projection.
public struct MultiheadAttention: Sendable {
    public let cQkv: Linear
    public let cProj: Linear
    public let heads: Int

    public init(_ scope: ParameterScope, width: Int, heads: Int, std: Float) {
        self.heads = heads
        cQkv = Linear(scope.child("c_qkv"), in: width, out: width * 3, std: std)
        cProj = Linear(scope.child("c_proj"), in: width, out: width, std: std)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        cProj(Attention.selfAttention(qkv: cQkv(x), heads: heads))
    }
}

/// x + attn(ln_1(x)), then + mlp(ln_2(x)).
public struct ResidualAttentionBlock: Sendable {
    public let attn: MultiheadAttention
    public let ln1: LayerNorm
    public let mlp: MLP
    public let ln2: LayerNorm

    public init(_ scope: ParameterScope, width: Int, heads: Int, std: Float) {
        attn = MultiheadAttention(scope.child("attn"), width: width, heads: heads, std: std)
        ln1 = LayerNorm(scope.child("ln_1"), width: width)
        mlp = MLP(scope.child("mlp"), width: width, std: std)
        ln2 = LayerNorm(scope.child("ln_2"), width: width)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        // attn(...) + x is x + attn(...) (float addition commutes): the sum lands in the
        // attention output, so the residual stream is never copied.
        let h = attn(ln1(x))
        h.addInPlace(x)
        h.addInPlace(mlp(ln2(h)))
        return h
    }
}

/// The reference's `Transformer`: a stack of residual attention blocks named `resblocks.N`.
/// Its init scale is `init_scale * sqrt(1 / width)`.
public struct TransformerStack: Sendable {
    public let blocks: [ResidualAttentionBlock]
    public let width: Int

    public init(_ scope: ParameterScope, width: Int, layers: Int, heads: Int, initScale: Float) {
        let std = initScale * (1 / Float(width)).squareRoot()
        self.width = width
        blocks = (0..<layers).map {
            ResidualAttentionBlock(scope.child("resblocks").child("\($0)"), width: width, heads: heads, std: std)
        }
    }

    /// Runs all blocks; `observe` sees each block's output (for parity debugging).
    public func callAsFunction(_ x: Tensor, observe: ((Int, Tensor) -> Void)? = nil) -> Tensor {
        var h = x
        for (i, block) in blocks.enumerated() {
            h = block(h)
            observe?(i, h)
        }
        return h
    }
}
