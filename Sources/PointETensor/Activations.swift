import Foundation

extension Tensor {
    /// Exact GELU, as PyTorch's default `nn.GELU()`: 0.5 x (1 + erf(x / sqrt 2)).
    public func gelu() -> Tensor {
        let out = copy()
        out.geluInPlace()
        return out
    }

    public func geluInPlace() { mapInPlace(Kernels.gelu) }

    /// CLIP's QuickGELU in place: x sigmoid(1.702 x).
    public func quickGELUInPlace() { mapInPlace(Kernels.quickGELU) }

    /// An element-wise C kernel over the tensor in place, in chunks spread over the cores.
    private func mapInPlace(_ kernel: (UnsafeMutablePointer<Float>, Int) -> Void) {
        let p = pointer
        Parallel.forChunks(count, minimumPerChunk: 8192) { range in
            kernel(p + range.lowerBound, range.count)
        }
    }

    /// Softmax over the last dimension, in float32 with max subtraction.
    public func softmax() -> Tensor {
        let out = copy()
        let width = shape.last ?? 0
        let rows = width == 0 ? 0 : count / width
        let p = out.pointer
        Parallel.forChunks(rows, minimumPerChunk: max(1, 8192 / max(1, width))) { range in
            for r in range { Softmax.row(p + r * width, width) }
        }
        return out
    }

    /// self += other (same shape), element-wise.
    public func addInPlace(_ other: Tensor) {
        precondition(shape == other.shape, "add: \(shape) vs \(other.shape)")
        let p = pointer, q = other.pointer
        Parallel.forChunks(count, minimumPerChunk: 16384) { range in
            for i in range { p[i] += q[i] }
        }
    }

    /// A new tensor: self * scale + shift.
    public func scaled(_ scale: Float, plus shift: Float = 0) -> Tensor {
        let out = Tensor(zeros: shape)
        let p = pointer, q = out.pointer
        for i in 0..<count { q[i] = p[i] * scale + shift }
        return out
    }
}

enum Softmax {
    /// Softmax of one row in place: the shared exp kernel (max subtraction, vectorised for
    /// the CPU at hand), then normalisation.
    @inline(__always)
    static func row(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n > 0 else { return }
        let inv = 1 / Kernels.expShiftedSum(p, n)
        for i in 0..<n { p[i] *= inv }
    }
}
