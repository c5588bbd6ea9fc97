import PointETensor

/// Cross-attention from query tokens to data tokens, with the reference's packed per-head
/// key/value projection `c_kv`.
public struct MultiheadCrossAttention: Sendable {
    public let cQ: Linear
    public let cKv: Linear
    public let cProj: Linear
    public let heads: Int

    public init(_ scope: ParameterScope, width: Int, heads: Int, std: Float) {
        self.heads = heads
        cQ = Linear(scope.child("c_q"), in: width, out: width, std: std)
        cKv = Linear(scope.child("c_kv"), in: width, out: width * 2, std: std)
        cProj = Linear(scope.child("c_proj"), in: width, out: width, std: std)
    }

    /// Keys and values of (already normalised) data tokens; reusable across query batches.
    public func keysValues(_ data: Tensor) -> Tensor { cKv(data) }

    public func callAsFunction(_ x: Tensor, keysValues kv: Tensor) -> Tensor {
        cProj(Attention.crossAttention(q: cQ(x), kv: kv, heads: heads))
    }
}

/// x + attn(ln_1(x), ln_2(data)), then + mlp(ln_3(x)).
public struct ResidualCrossAttentionBlock: Sendable {
    public let attn: MultiheadCrossAttention
    public let ln1: LayerNorm
    public let ln2: LayerNorm
    public let mlp: MLP
    public let ln3: LayerNorm

    public init(_ scope: ParameterScope, width: Int, heads: Int, std: Float) {
        attn = MultiheadCrossAttention(scope.child("attn"), width: width, heads: heads, std: std)
        ln1 = LayerNorm(scope.child("ln_1"), width: width)
        ln2 = LayerNorm(scope.child("ln_2"), width: width)
        mlp = MLP(scope.child("mlp"), width: width, std: std)
        ln3 = LayerNorm(scope.child("ln_3"), width: width)
    }

    /// This block's keys/values for a set of data tokens (depends on the data only).
    public func keysValues(data: Tensor) -> Tensor { attn.keysValues(ln2(data)) }

    public func callAsFunction(_ x: Tensor, keysValues kv: Tensor) -> Tensor {
        // As ResidualAttentionBlock: the sum lands in the attention output (addition commutes).
        let h = attn(ln1(x), keysValues: kv)
        h.addInPlace(x)
        h.addInPlace(mlp(ln3(h)))
        return h
    }
}

/// The reference's `SimplePerceiver`: cross-attention blocks named `resblocks.N`.
public struct SimplePerceiver: Sendable {
    public let blocks: [ResidualCrossAttentionBlock]

    public init(_ scope: ParameterScope, width: Int, layers: Int, heads: Int, initScale: Float) {
        let std = initScale * (1 / Float(width)).squareRoot()
        blocks = (0..<layers).map {
            ResidualCrossAttentionBlock(scope.child("resblocks").child("\($0)"), width: width, heads: heads, std: std)
        }
    }
}
