import CBLAS

/// Matrix products through OpenBLAS's `cblas_sgemm` (row-major).
///
/// OpenBLAS runs single-threaded; our kernels split each product over the threads themselves.
/// With one threading system instead of two, OpenBLAS's worker threads no longer spin
/// (sched_yield) while our element-wise kernels and attention blocks use the cores, and
/// attention can run a GEMM per core on independent heads.
public enum BLAS {
    private static let singleThreaded: Void = { openblas_set_num_threads(1) }()

    /// C[m,n] = alpha * op(A) * op(B) + beta * C on the calling thread, with leading dimensions
    /// given explicitly so callers can multiply strided views (one head inside a packed QKV block).
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        _ = singleThreaded
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The tallest row band `parallelSgemm` makes.
    public static let maxBandRows = 640

    /// Rows per band of an m-row product, from the shape alone, never from the thread count:
    /// OpenBLAS's result for a row depends on how many rows its call has (its kernels block and
    /// finish a ragged edge differently), so bands sized by the threads gave other bits on
    /// other thread counts. Under 64 rows one band (a second would lose more in sgemm
    /// efficiency than a thread gains); else the fewest bands of at most `maxRows` rows,
    /// rounded up to an even count so that two threads (a `pointe run` worker's default)
    /// share them evenly, all of one height but the last. Up to 1280 rows that is the two
    /// bands one band per core made on two cores; taller products pay a few percent for their
    /// extra bands (`pointe bench bands`, README).
    public static func bandRows(forRows m: Int, maxRows: Int = maxBandRows) -> Int {
        guard m >= 64 else { return max(1, m) }
        let bands = 2 * ((m + 2 * maxRows - 1) / (2 * maxRows))
        return (m + bands - 1) / bands
    }

    /// The same product split over the threads in row bands (`bandRows(forRows:)`), each its
    /// own single-threaded call, handed out to however many threads there are. Only for
    /// non-transposed A (the row bands of A are then contiguous row ranges). `before` and
    /// `after` run on a band's rows of C right before and after its product, on the same
    /// thread, while those rows are still in that core's caches (a bias written into C, an
    /// activation applied to the result): row-wise work, so the bands cannot change a result.
    /// `bandRows` is a parameter only for the benchmark.
    public static func parallelSgemm(
        transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        bandRows: Int? = nil,
        before: ((Range<Int>) -> Void)? = nil, after: ((Range<Int>) -> Void)? = nil
    ) {
        guard m > 0 else { return }
        let height = bandRows ?? Self.bandRows(forRows: m)
        Parallel.forEach((m + height - 1) / height) { band in
            let rows = band * height..<min(m, band * height + height)
            before?(rows)
            sgemm(transA: false, transB: transB, m: rows.count, n: n, k: k, alpha: alpha, a: a + rows.lowerBound * lda,
                  lda: lda, b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            after?(rows)
        }
    }

    /// Runs `body` with OpenBLAS's own threading on `Parallel.threadCount` threads (for measuring the library's
    /// peak as a yardstick), then returns to single-threaded OpenBLAS.
    public static func withLibraryThreads<T>(_ body: () throws -> T) rethrows -> T {
        _ = singleThreaded
        openblas_set_num_threads(Int32(Parallel.threadCount))
        defer { openblas_set_num_threads(1) }
        return try body()
    }
}

/// What `Tensor.linear` applies to its result, fused into the product's row bands.
public enum LinearActivation: Sendable {
    case none
    /// Exact (erf) GELU, as `Tensor.geluInPlace`.
    case gelu
}

extension Tensor {
    /// PyTorch `nn.Linear`: y = x W^T + b over the last dimension, then `activation`. `weight`
    /// is [out, in].
    public func linear(weight: Tensor, bias: Tensor?, activation: LinearActivation = .none) -> Tensor {
        let inFeatures = shape.last ?? 0
        precondition(weight.rank == 2 && weight.shape[1] == inFeatures,
                     "linear: input \(shape) does not match weight \(weight.shape)")
        let outFeatures = weight.shape[0]
        let rows = shape.dropLast().reduce(1, *)
        // Every element is written below unless there is nothing to multiply (empty input).
        let outShape = Array(shape.dropLast()) + [outFeatures]
        let out = inFeatures == 0 ? Tensor(zeros: outShape) : Tensor(uninitialized: outShape)
        let o = out.pointer
        // The bias is written into each band of C just before its product adds x W^T to it
        // (beta 1): bias + product, one rounding, as PyTorch's addmm.
        var fillBias: ((Range<Int>) -> Void)?
        if let bias {
            precondition(bias.count == outFeatures, "linear: bias \(bias.shape) for \(outFeatures) outputs")
            let b = bias.pointer
            fillBias = { rows in
                for r in rows { (o + r * outFeatures).update(from: b, count: outFeatures) }
            }
        }
        var activate: ((Range<Int>) -> Void)?
        switch activation {
        case .none: break
        case .gelu: activate = { rows in Kernels.gelu(o + rows.lowerBound * outFeatures, rows.count * outFeatures) }
        }
        if inFeatures == 0 {  // nothing to multiply: the bias (or zeros), activated
            fillBias?(0..<rows)
            activate?(0..<rows)
            return out
        }
        BLAS.parallelSgemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                           a: pointer, lda: inFeatures, b: weight.pointer, ldb: inFeatures,
                           beta: bias == nil ? 0 : 1, c: o, ldc: outFeatures, before: fillBias, after: activate)
        return out
    }

    /// Plain matrix product of [m,k] x [k,n] (or batched over leading dimensions of self).
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(other.rank == 2 && shape.last == other.shape[0], "matmul: \(shape) x \(other.shape)")
        let k = other.shape[0], n = other.shape[1]
        let m = k == 0 ? 0 : count / k
        let out = k == 0 ? Tensor(zeros: Array(shape.dropLast()) + [n]) : Tensor(uninitialized: Array(shape.dropLast()) + [n])
        BLAS.parallelSgemm(transB: false, m: m, n: n, k: k, a: pointer, lda: k,
                           b: other.pointer, ldb: n, c: out.pointer, ldc: n)
        return out
    }
}
