import Foundation

extension Tensor {
    /// Exact GELU, as PyTorch's default `nn.GELU()`: 0.5 x (1 + erf(x / sqrt 2)).
    public func gelu() -> Tensor {
        let out = copy()
        out.geluInPlace()
        return out
    }

    public func geluInPlace() {
        let p = pointer
        Parallel.forChunks(count, minimumPerChunk: 8192) { range in
            VectorMath.map(p + range.lowerBound, range.count) { x in
                0.5 * x * (1 + VectorMath.erf(x * 0.707_106_781_186_547_52))
            }
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
    /// exp(x - max) of one row in place, returning the sum: a softmax without its final
    /// division, which attention folds into its (much narrower) output rows instead.
    @inline(__always)
    static func unnormalizedRow(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        var i = 0
        if n >= 8 {
            var vm = VectorMath.load(p)
            i = 8
            while i + 8 <= n {
                let v = VectorMath.load(p + i)
                vm = vm.replacing(with: v, where: v .> vm)
                i += 8
            }
            m = vm.max()
        }
        while i < n { m = max(m, p[i]); i += 1 }
        let shift = SIMD8<Float>(repeating: m)
        var sums = SIMD8<Float>(repeating: 0)
        i = 0
        while i + 8 <= n {
            let e = VectorMath.exp(VectorMath.load(p + i) - shift)
            VectorMath.store(e, p + i)
            sums += e
            i += 8
        }
        var sum = sums.sum()
        if i < n {
            var tail = SIMD8<Float>(repeating: -.infinity)
            for j in 0..<(n - i) { tail[j] = p[i + j] }
            let e = VectorMath.exp(tail - shift)
            for j in 0..<(n - i) { p[i + j] = e[j]; sum += e[j] }
        }
        return sum
    }

    /// Softmax of one row in place: max subtraction, vectorised exp, normalisation.
    @inline(__always)
    static func row(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        var i = 0
        if n >= 8 {
            var vm = VectorMath.load(p)
            i = 8
            while i + 8 <= n {
                let v = VectorMath.load(p + i)
                vm = vm.replacing(with: v, where: v .> vm)
                i += 8
            }
            m = vm.max()
        }
        while i < n { m = max(m, p[i]); i += 1 }
        let shift = SIMD8<Float>(repeating: m)
        var sums = SIMD8<Float>(repeating: 0)
        VectorMath.map(p, n) { x in
            let e = VectorMath.exp(x - shift)
            return e
        }
        i = 0
        while i + 8 <= n { sums += VectorMath.load(p + i); i += 8 }
        var sum = sums.sum()
        while i < n { sum += p[i]; i += 1 }
        let inv = 1 / sum
        let vinv = SIMD8<Float>(repeating: inv)
        VectorMath.map(p, n) { $0 * vinv }
    }
}
