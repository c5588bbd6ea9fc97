import Foundation

/// Multi-head attention in the reference's packed layouts.
///
/// Point-E packs each head's channels together: a self-attention `c_qkv` output row is
/// `[q_h0 k_h0 v_h0 | q_h1 k_h1 v_h1 | ...]` and a cross-attention `c_kv` row is
/// `[k_h0 v_h0 | k_h1 v_h1 | ...]`, each piece `headDim` wide. The reference scales q and k by
/// 1/sqrt(sqrt(headDim)) each; we fold both into one 1/sqrt(headDim) factor of the product.
///
/// Scores are computed a block of query rows at a time (never the whole T x T matrix), the
/// blocks of all batch entries and heads spread over the cores (each running single-threaded GEMMs).
public enum Attention {
    /// Query rows per work item: big enough for efficient GEMMs, small enough that the score
    /// block (rows x keys floats) stays cache-friendly and that there are items for every core.
    static let queryBlock = 512

    struct Layout {
        var base: UnsafeMutablePointer<Float>
        var rowStride: Int      // floats between consecutive tokens
        var batchStride: Int    // floats between consecutive batch entries
        var headStride: Int     // floats between consecutive heads
    }

    /// Self-attention over a packed QKV tensor [B, T, 3*W] -> [B, T, W].
    public static func selfAttention(qkv: Tensor, heads: Int) -> Tensor {
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0, "selfAttention: qkv \(qkv.shape), heads \(heads)")
        let (b, t, w3) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
        let headDim = w3 / (3 * heads)
        let out = Tensor(uninitialized: [b, t, w3 / 3])
        let p = qkv.pointer
        run(batch: b, heads: heads, headDim: headDim, queries: t, keys: t,
            q: Layout(base: p, rowStride: w3, batchStride: t * w3, headStride: 3 * headDim),
            k: Layout(base: p + headDim, rowStride: w3, batchStride: t * w3, headStride: 3 * headDim),
            v: Layout(base: p + 2 * headDim, rowStride: w3, batchStride: t * w3, headStride: 3 * headDim),
            out: Layout(base: out.pointer, rowStride: w3 / 3, batchStride: t * w3 / 3, headStride: headDim))
        return out
    }

    /// Cross-attention: queries [B, Tq, W] against packed keys/values [B, Tk, 2*W] -> [B, Tq, W].
    public static func crossAttention(q: Tensor, kv: Tensor, heads: Int) -> Tensor {
        precondition(q.rank == 3 && kv.rank == 3 && q.shape[0] == kv.shape[0] && kv.shape[2] == 2 * q.shape[2]
                     && q.shape[2] % heads == 0, "crossAttention: q \(q.shape), kv \(kv.shape), heads \(heads)")
        let (b, tq, w) = (q.shape[0], q.shape[1], q.shape[2])
        let tk = kv.shape[1]
        let headDim = w / heads
        // No keys at all: nothing to attend to, the output stays zero.
        let out = tk == 0 ? Tensor(zeros: [b, tq, w]) : Tensor(uninitialized: [b, tq, w])
        let kp = kv.pointer
        run(batch: b, heads: heads, headDim: headDim, queries: tq, keys: tk,
            q: Layout(base: q.pointer, rowStride: w, batchStride: tq * w, headStride: headDim),
            k: Layout(base: kp, rowStride: 2 * w, batchStride: tk * 2 * w, headStride: 2 * headDim),
            v: Layout(base: kp + headDim, rowStride: 2 * w, batchStride: tk * 2 * w, headStride: 2 * headDim),
            out: Layout(base: out.pointer, rowStride: w, batchStride: tq * w, headStride: headDim))
        return out
    }

    static func run(batch: Int, heads: Int, headDim: Int, queries: Int, keys: Int,
                    q: Layout, k: Layout, v: Layout, out: Layout) {
        guard batch > 0, queries > 0, keys > 0 else { return }
        let blocksPerHead = (queries + queryBlock - 1) / queryBlock
        let items = batch * heads * blocksPerHead
        let scale = Float(1.0 / Double(headDim).squareRoot())
        let workers = min(Parallel.threadCount, items)
        let scratch = BlockCache.allocate(workers * queryBlock * keys)
        let rowSums = UnsafeMutablePointer<Float>.allocate(capacity: workers * queryBlock)
        defer {
            BlockCache.release(scratch, count: workers * queryBlock * keys)
            rowSums.deallocate()
        }

        // Each worker takes every `workers`-th item so all of them share the score scratch safely.
        Parallel.forEach(workers) { worker in
            let scores = scratch + worker * queryBlock * keys
            let sums = rowSums + worker * queryBlock
            var item = worker
            while item < items {
                let block = item % blocksPerHead
                let head = (item / blocksPerHead) % heads
                let b = item / (blocksPerHead * heads)
                let row0 = block * queryBlock
                let rows = min(queryBlock, queries - row0)
                let qp = q.base + b * q.batchStride + head * q.headStride + row0 * q.rowStride
                let kp = k.base + b * k.batchStride + head * k.headStride
                let vp = v.base + b * v.batchStride + head * v.headStride
                let op = out.base + b * out.batchStride + head * out.headStride + row0 * out.rowStride
                BLAS.sgemm(transA: false, transB: true, m: rows, n: keys, k: headDim, alpha: scale,
                           a: qp, lda: q.rowStride, b: kp, ldb: k.rowStride, c: scores, ldc: keys)
                // Unnormalised exponentials times V, then each output row divided by its sum:
                // headDim divisions per row instead of a pass over all `keys` scores.
                for r in 0..<rows { sums[r] = 1 / Kernels.expShiftedSum(scores + r * keys, keys) }
                BLAS.sgemm(transA: false, transB: false, m: rows, n: headDim, k: keys,
                           a: scores, lda: keys, b: vp, ldb: v.rowStride, c: op, ldc: out.rowStride)
                for r in 0..<rows {
                    let row = op + r * out.rowStride, inv = sums[r]
                    for c in 0..<headDim { row[c] *= inv }
                }
                item += workers
            }
        }
    }
}
