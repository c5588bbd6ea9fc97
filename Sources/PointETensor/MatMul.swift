import CBLAS

/// Matrix products through OpenBLAS's `cblas_sgemm` (row-major).
public enum BLAS {
    /// C[m,n] = alpha * op(A) * op(B) + beta * C, with leading dimensions given explicitly so
    /// callers can multiply strided views (e.g. one attention head inside a packed QKV block).
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}

extension Tensor {
    /// PyTorch `nn.Linear`: y = x W^T + b over the last dimension. `weight` is [out, in].
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        let inFeatures = shape.last ?? 0
        precondition(weight.rank == 2 && weight.shape[1] == inFeatures,
                     "linear: input \(shape) does not match weight \(weight.shape)")
        let outFeatures = weight.shape[0]
        let rows = inFeatures == 0 ? 0 : count / inFeatures
        let out = Tensor(zeros: Array(shape.dropLast()) + [outFeatures])
        var beta: Float = 0
        if let bias {
            precondition(bias.count == outFeatures, "linear: bias \(bias.shape) for \(outFeatures) outputs")
            let o = out.pointer, b = bias.pointer
            Parallel.forChunks(rows, minimumPerChunk: max(1, 65536 / max(1, outFeatures))) { range in
                for r in range { (o + r * outFeatures).update(from: b, count: outFeatures) }
            }
            beta = 1
        }
        BLAS.sgemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures,
                   a: pointer, lda: inFeatures, b: weight.pointer, ldb: inFeatures,
                   beta: beta, c: out.pointer, ldc: outFeatures)
        return out
    }

    /// Plain matrix product of [m,k] x [k,n] (or batched over leading dimensions of self).
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(other.rank == 2 && shape.last == other.shape[0], "matmul: \(shape) x \(other.shape)")
        let k = other.shape[0], n = other.shape[1]
        let m = k == 0 ? 0 : count / k
        let out = Tensor(zeros: Array(shape.dropLast()) + [n])
        BLAS.sgemm(transA: false, transB: false, m: m, n: n, k: k, a: pointer, lda: k,
                   b: other.pointer, ldb: n, c: out.pointer, ldc: n)
        return out
    }
}
