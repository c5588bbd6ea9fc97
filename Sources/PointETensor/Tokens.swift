import Foundation

/// Layout changes between the models' [B, C, T] point tensors and [B, T, W] token blocks.
extension Tensor {
    /// Swaps the last two dimensions (PyTorch `permute(0, 2, 1)` on a rank-3 tensor), copying.
    public func transposedLastTwo() -> Tensor {
        precondition(rank >= 2, "transposedLastTwo needs rank >= 2, got \(shape)")
        let rows = shape[rank - 2], cols = shape[rank - 1]
        let batch = rows * cols == 0 ? 0 : count / (rows * cols)
        var newShape = shape
        newShape.swapAt(rank - 2, rank - 1)
        let out = Tensor(uninitialized: newShape)
        let src = pointer, dst = out.pointer
        for b in 0..<batch {
            let s = src + b * rows * cols, d = dst + b * rows * cols
            for r in 0..<rows {
                for c in 0..<cols { d[c * rows + r] = s[r * cols + c] }
            }
        }
        return out
    }

    /// Concatenates rank-3 tensors [B, Ti, W] along the token dimension.
    public static func concatTokens(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatTokens of nothing")
        let b = parts[0].shape[0], w = parts[0].shape[2]
        for p in parts {
            precondition(p.rank == 3 && p.shape[0] == b && p.shape[2] == w, "concatTokens: \(parts.map(\.shape))")
        }
        let total = parts.reduce(0) { $0 + $1.shape[1] }
        let out = Tensor(uninitialized: [b, total, w])
        for i in 0..<b {
            var offset = 0
            for p in parts {
                let n = p.shape[1] * w
                (out.pointer + i * total * w + offset).update(from: p.pointer + i * n, count: n)
                offset += n
            }
        }
        return out
    }

    /// Tokens `range` of a [B, T, W] tensor, copied.
    public func tokens(_ range: Range<Int>) -> Tensor {
        precondition(rank == 3 && range.lowerBound >= 0 && range.upperBound <= shape[1], "tokens \(range) of \(shape)")
        let (b, t, w) = (shape[0], shape[1], shape[2])
        let n = range.count
        let out = Tensor(uninitialized: [b, n, w])
        for i in 0..<b {
            (out.pointer + i * n * w).update(from: pointer + (i * t + range.lowerBound) * w, count: n * w)
        }
        return out
    }

    /// Adds a per-batch vector [B, W] to every token of [B, T, W] in place.
    public func addPerBatchInPlace(_ vector: Tensor) {
        precondition(rank == 3 && vector.shape == [shape[0], shape[2]], "addPerBatch: \(shape) + \(vector.shape)")
        let (b, t, w) = (shape[0], shape[1], shape[2])
        for i in 0..<b {
            let v = vector.pointer + i * w
            for j in 0..<t {
                let row = pointer + (i * t + j) * w
                for c in 0..<w { row[c] += v[c] }
            }
        }
    }

    /// A [B, 1, W] view of a [B, W] tensor (shares storage).
    public var asSingleToken: Tensor {
        precondition(rank == 2, "asSingleToken needs [B, W], got \(shape)")
        return reshaped([shape[0], 1, shape[1]])
    }
}

/// Sinusoidal timestep embedding as the reference computes it: frequencies
/// exp(-ln(max_period) * i / half) in float32, cos half first, then sin, zero pad if odd.
public func timestepEmbedding(_ timesteps: [Float], dim: Int, maxPeriod: Float = 10000) -> Tensor {
    let half = dim / 2
    let out = Tensor(zeros: [timesteps.count, dim])
    let logPeriod = -Float(log(Double(maxPeriod)))
    var freqs = [Float](repeating: 0, count: half)
    for i in 0..<half { freqs[i] = expf(logPeriod * Float(i) / Float(half)) }
    for (n, t) in timesteps.enumerated() {
        let row = out.pointer + n * dim
        for i in 0..<half {
            let arg = t * freqs[i]
            row[i] = cosf(arg)
            row[half + i] = sinf(arg)
        }
    }
    return out
}
