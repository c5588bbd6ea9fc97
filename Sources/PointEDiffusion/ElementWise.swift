import PointETensor

/// Float32 element-wise helpers for the samplers. Each operation rounds like the single torch
/// op it stands for (no fused multiply-adds), so replays of reference runs stay bit-close.
package enum ElementWise {
    /// a + b * s
    package static func addScaled(_ a: Tensor, _ b: Tensor, _ s: Float) -> Tensor {
        precondition(a.shape == b.shape, "addScaled \(a.shape) vs \(b.shape)")
        let out = Tensor(zeros: a.shape)
        let (pa, pb, po) = (a.pointer, b.pointer, out.pointer)
        for i in 0..<a.count {
            let t = pb[i] * s
            po[i] = pa[i] + t
        }
        return out
    }

    /// (x - d) / s: the Karras ODE derivative from a denoised estimate.
    package static func derivative(x: Tensor, denoised: Tensor, sigma: Float) -> Tensor {
        precondition(x.shape == denoised.shape, "derivative \(x.shape) vs \(denoised.shape)")
        let out = Tensor(zeros: x.shape)
        let (px, pd, po) = (x.pointer, denoised.pointer, out.pointer)
        for i in 0..<x.count {
            let diff = px[i] - pd[i]
            po[i] = diff / sigma
        }
        return out
    }

    /// (a + b) / 2
    package static func average(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = Tensor(zeros: a.shape)
        let (pa, pb, po) = (a.pointer, b.pointer, out.pointer)
        for i in 0..<a.count {
            let sum = pa[i] + pb[i]
            po[i] = sum / 2
        }
        return out
    }

    /// x * s
    package static func scaled(_ a: Tensor, _ s: Float) -> Tensor {
        let out = Tensor(zeros: a.shape)
        for i in 0..<a.count { out.pointer[i] = a.pointer[i] * s }
        return out
    }

    /// Concatenates [B, C, Ni] tensors along the last (points) dimension.
    package static func concatPoints(_ parts: [Tensor]) -> Tensor {
        let (b, c) = (parts[0].shape[0], parts[0].shape[1])
        let total = parts.reduce(0) { $0 + $1.shape[2] }
        let out = Tensor(zeros: [b, c, total])
        for i in 0..<b {
            for ch in 0..<c {
                var offset = 0
                for p in parts {
                    let n = p.shape[2]
                    (out.pointer + (i * c + ch) * total + offset).update(from: p.pointer + (i * c + ch) * n, count: n)
                    offset += n
                }
            }
        }
        return out
    }

    /// Stacks along a new or existing first dimension: [a; b] (shapes equal but for dim 0).
    package static func concatBatch(_ parts: [Tensor]) -> Tensor {
        let rest = Array(parts[0].shape.dropFirst())
        let total = parts.reduce(0) { $0 + $1.shape[0] }
        let out = Tensor(zeros: [total] + rest)
        var offset = 0
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == rest, "concatBatch \(parts.map(\.shape))")
            (out.pointer + offset).update(from: p.pointer, count: p.count)
            offset += p.count
        }
        return out
    }

    /// Rows `range` of the first dimension, copied.
    package static func batchSlice(_ x: Tensor, _ range: Range<Int>) -> Tensor {
        let per = x.count / max(x.shape[0], 1)
        let out = Tensor(zeros: [range.count] + x.shape.dropFirst())
        out.pointer.update(from: x.pointer + range.lowerBound * per, count: range.count * per)
        return out
    }
}
