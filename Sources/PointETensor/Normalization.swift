extension Tensor {
    /// PyTorch `nn.LayerNorm` over the last dimension (biased variance, eps inside the sqrt);
    /// the kernel (Kernels.layerNorm) keeps the statistics in double.
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> Tensor {
        let width = shape.last ?? 0
        precondition(weight.count == width && bias.count == width,
                     "layerNorm: weight \(weight.shape) / bias \(bias.shape) for width \(width)")
        let rows = width == 0 ? 0 : count / width
        let out = Tensor(uninitialized: shape)
        let x = pointer, y = out.pointer, w = weight.pointer, b = bias.pointer
        Parallel.forChunks(rows, minimumPerChunk: max(1, 16384 / max(1, width))) { range in
            Kernels.layerNorm(x + range.lowerBound * width, into: y + range.lowerBound * width, rows: range.count,
                              width: width, weight: w, bias: b, eps: eps)
        }
        return out
    }
}
