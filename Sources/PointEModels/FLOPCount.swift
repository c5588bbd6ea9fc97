/// Analytic floating-point operation counts of a forward pass (2 per multiply-add), for
/// reporting achieved GFLOP/s in benchmarks. Element-wise work is left out: it is a rounding
/// error next to the matrix products.
public enum FLOPCount {
    /// Tokens the backbone sees: points plus conditioning tokens.
    public static func backboneTokens(_ c: ModelConfig, points: Int) -> Int {
        let time = (c.timeTokenCond ?? false) ? 1 : 0
        let grid = c.resolvedClipGridSize * c.resolvedClipGridSize
        switch PointDiffusionTransformer.Variant(rawValue: c.name) {
        case .unconditional: return points + time
        case .clipVector: return points + time + ((c.tokenCond ?? false) ? 1 : 0)
        case .clipGrid: return points + time + grid
        case .upsample: return points + time + (c.condCtx ?? 1024)
        case .clipGridUpsample: return points + time + grid + (c.condCtx ?? 1024)
        case nil: return points
        }
    }

    static func transformer(tokens t: Double, width w: Double, layers: Int) -> Double {
        Double(layers) * (2 * t * 12 * w * w + 4 * t * t * w)
    }

    /// A diffusion transformer's forward on `batch` clouds of the config's `n_ctx` points.
    public static func diffusionForward(_ c: ModelConfig, batch: Int) -> Double {
        let w = Double(c.width), n = Double(c.nCtx)
        let t = Double(backboneTokens(c, points: c.nCtx))
        var flops = transformer(tokens: t, width: w, layers: c.resolvedLayers)
        flops += 2 * n * Double(c.resolvedInputChannels) * w + 2 * n * w * Double(c.resolvedOutputChannels)
        flops += 2 * 8 * w * w // time embedding MLP
        switch PointDiffusionTransformer.Variant(rawValue: c.name) {
        case .clipVector: flops += 2 * Double(c.resolvedClipFeatureDim) * w
        case .clipGrid, .clipGridUpsample:
            flops += 2 * Double(c.resolvedClipGridSize * c.resolvedClipGridSize) * Double(c.resolvedClipGridFeatureDim) * w
        default: break
        }
        if let cond = c.condCtx { flops += 2 * Double(cond) * Double(c.resolvedInputChannels) * w }
        return Double(batch) * flops
    }

    /// SDF encoder on `batch` clouds of `points` points.
    public static func sdfEncode(_ c: ModelConfig, batch: Int, points: Int) -> Double {
        Double(batch) * (transformer(tokens: Double(points), width: Double(c.width), layers: c.encoderLayers ?? 12)
                         + 2 * Double(points) * 3 * Double(c.width))
    }

    /// SDF decoder on `queries` points against latents of `points` tokens, including the
    /// per-layer key/value projection of the latents.
    public static func sdfDecode(_ c: ModelConfig, batch: Int, points: Int, queries: Int) -> Double {
        let w = Double(c.width), q = Double(queries), n = Double(points)
        let perLayer = 2 * q * 10 * w * w + 2 * n * 2 * w * w + 4 * q * n * w
        return Double(batch) * (Double(c.decoderLayers ?? 4) * perLayer + 2 * q * 3 * w + 2 * q * w)
    }

    /// A matrix product's shape: [m, k] x [k, n].
    public struct ProductShape: Sendable, CustomStringConvertible {
        public var m: Int, n: Int, k: Int
        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
        public var description: String { "\(m)x\(n)x\(k)" }
        public init(m: Int, n: Int, k: Int) { (self.m, self.n, self.k) = (m, n, k) }
    }

    /// The product a pass over `rows` tokens of a width-`width` transformer spends most of its
    /// projection time in: every layer's MLP input projection, rows x 4 width x width (the
    /// largest product of a layer). Benchmarks hold a pass's rate against sgemm's on it.
    public static func mainProduct(rows: Int, width: Int) -> ProductShape {
        ProductShape(m: rows, n: 4 * width, k: width)
    }
}
