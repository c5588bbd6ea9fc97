extension Tensor {
    /// PyTorch `nn.LayerNorm` over the last dimension (biased variance, eps inside the sqrt).
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> Tensor {
        let width = shape.last ?? 0
        precondition(weight.count == width && bias.count == width,
                     "layerNorm: weight \(weight.shape) / bias \(bias.shape) for width \(width)")
        let rows = width == 0 ? 0 : count / width
        let out = Tensor(uninitialized: shape)
        let x = pointer, y = out.pointer, w = weight.pointer, b = bias.pointer
        Parallel.forChunks(rows, minimumPerChunk: max(1, 16384 / max(1, width))) { range in
            for r in range {
                let row = x + r * width, dst = y + r * width
                // Two passes in double for the statistics: cheap next to the GEMMs, and it keeps
                // us within float rounding of PyTorch's Welford-style reduction.
                var sum = 0.0
                for i in 0..<width { sum += Double(row[i]) }
                let mean = sum / Double(width)
                var sq = 0.0
                for i in 0..<width { let d = Double(row[i]) - mean; sq += d * d }
                let inv = Float(1.0 / (sq / Double(width) + Double(eps)).squareRoot())
                let m = Float(mean)
                for i in 0..<width { dst[i] = (row[i] - m) * inv * w[i] + b[i] }
            }
        }
        return out
    }
}
