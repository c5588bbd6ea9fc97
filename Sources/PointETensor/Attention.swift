import Foundation

/// Multi-head attention in the reference's packed layouts (`QKVLayout`).
///
/// Point-E packs each head's channels together: a self-attention `c_qkv` output row is
/// `[q_h0 k_h0 v_h0 | q_h1 k_h1 v_h1 | ...]` and a cross-attention `c_kv` row is
/// `[k_h0 v_h0 | k_h1 v_h1 | ...]`, each piece `headDim` wide. The reference scales q and k by
/// 1/sqrt(sqrt(headDim)) each; we fold both into one 1/sqrt(headDim) factor of the product
/// (CLIP's `nn.MultiheadAttention` scales q by 1/sqrt(headDim): the same single factor).
///
/// Scores are computed a block of query rows at a time (never the whole T x T matrix) by the
/// fused kernel in Sources/CKernels/attention_body.h, the blocks of all batch entries and heads
/// spread over the cores.
public enum Attention {
    /// Bounds of the query rows per work item (see `queryBlockRows`). 64 rows measured fastest
    /// for the upsampler's 4353 keys on an AVX-512 Xeon (2 MiB L2): 16 and 32 rows pass over
    /// the packed keys and values more often, 128 and more let the scores leave L2. On AVX2
    /// (6-row tiles) 60 and 48 rows beat 64 by 4-7% (one core, 4353 keys, 3 interleaved rounds).
    static let queryBlock = 64
    static let minimumQueryBlock = 16
    /// Scores per block at most (1 MiB): for longer key sequences the block gets fewer rows.
    static let scoreBlockFloats = 1 << 18

    struct Layout {
        var base: UnsafeMutablePointer<Float>
        var rowStride: Int      // floats between consecutive tokens
        var batchStride: Int    // floats between consecutive batch entries
        var headStride: Int     // floats between consecutive heads
    }

    /// Where a head's q, k and v sit in a row of a packed [B, T, 3*W] projection.
    public enum QKVLayout: Sendable {
        /// Point-E's `c_qkv`: `[q_h0 k_h0 v_h0 | q_h1 k_h1 v_h1 | ...]`.
        case perHead
        /// `nn.MultiheadAttention`'s `in_proj` (CLIP): `[q_h0 q_h1 ... | k_h0 ... | v_h0 ...]`.
        case qkvBlocks
    }

    /// Self-attention over a packed QKV tensor [B, T, 3*W] -> [B, T, W]. `causal`: token i
    /// attends to tokens 0...i only (CLIP's text tower).
    public static func selfAttention(qkv: Tensor, heads: Int, layout: QKVLayout = .perHead, causal: Bool = false) -> Tensor {
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0, "selfAttention: qkv \(qkv.shape), heads \(heads)")
        let (b, t, w3) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
        let headDim = w3 / (3 * heads)
        let out = Tensor(uninitialized: [b, t, w3 / 3])
        let p = qkv.pointer
        // Offsets of q, k and v of head 0, and the step from one head to the next.
        let (offsets, headStride) = switch layout {
        case .perHead: ((0, headDim, 2 * headDim), 3 * headDim)
        case .qkvBlocks: ((0, w3 / 3, 2 * w3 / 3), headDim)
        }
        run(batch: b, heads: heads, headDim: headDim, queries: t, keys: t, causal: causal,
            q: Layout(base: p + offsets.0, rowStride: w3, batchStride: t * w3, headStride: headStride),
            k: Layout(base: p + offsets.1, rowStride: w3, batchStride: t * w3, headStride: headStride),
            v: Layout(base: p + offsets.2, rowStride: w3, batchStride: t * w3, headStride: headStride),
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
        run(batch: b, heads: heads, headDim: headDim, queries: tq, keys: tk, causal: false,
            q: Layout(base: q.pointer, rowStride: w, batchStride: tq * w, headStride: headDim),
            k: Layout(base: kp, rowStride: 2 * w, batchStride: tk * 2 * w, headStride: 2 * headDim),
            v: Layout(base: kp + headDim, rowStride: 2 * w, batchStride: tk * 2 * w, headStride: 2 * headDim),
            out: Layout(base: out.pointer, rowStride: w, batchStride: tq * w, headStride: headDim))
        return out
    }

    /// `causal` (queries == keys): query row i sees keys 0...i.
    static func run(batch: Int, heads: Int, headDim: Int, queries: Int, keys: Int, causal: Bool,
                    q: Layout, k: Layout, v: Layout, out: Layout) {
        guard batch > 0, queries > 0, keys > 0 else { return }
        let scale = Float(1.0 / Double(headDim).squareRoot())

        // Keys and values of every (batch entry, head), packed once: all query blocks of a head
        // read the same packed copy (a GEMM per block would pack them again each time).
        let pairs = batch * heads
        let keysCount = Kernels.packedKeysCount(keys: keys, headDim: headDim)
        let valuesCount = Kernels.packedValuesCount(keys: keys, headDim: headDim)
        let packedKeys = BlockCache.allocate(pairs * keysCount)
        let packedValues = BlockCache.allocate(pairs * valuesCount)
        defer {
            BlockCache.release(packedKeys, count: pairs * keysCount)
            BlockCache.release(packedValues, count: pairs * valuesCount)
        }
        Parallel.forEach(pairs) { pair in
            let (b, head) = (pair / heads, pair % heads)
            Kernels.packAttentionKeys(k.base + b * k.batchStride + head * k.headStride, stride: k.rowStride,
                                      keys: keys, headDim: headDim, into: packedKeys + pair * keysCount)
            Kernels.packAttentionValues(v.base + b * v.batchStride + head * v.headStride, stride: v.rowStride,
                                        keys: keys, headDim: headDim, into: packedValues + pair * valuesCount)
        }

        // Work items: one block of query rows of one head; consecutive items share a head, so
        // the cores working at the same time read the same packed keys and values.
        let blockRows = queryBlockRows(keys: keys)
        let blocksPerHead = (queries + blockRows - 1) / blockRows
        let items = pairs * blocksPerHead
        let workers = min(Parallel.threadCount, items)
        let scratchCount = Kernels.attentionScratchCount(rows: blockRows, keys: keys, headDim: headDim)
        let scratch = BlockCache.allocate(workers * scratchCount)
        defer { BlockCache.release(scratch, count: workers * scratchCount) }

        // Each worker, with its own scratch, takes the next item not yet taken (Parallel.forEach). An
        // item's outputs depend only on its rows, so neither the split nor the worker count
        // changes a bit.
        Parallel.forEach(items, workers: workers) { worker, item in
            let (pair, block) = (item / blocksPerHead, item % blocksPerHead)
            let (b, head) = (pair / heads, pair % heads)
            let row0 = block * blockRows
            Kernels.attentionBlock(
                q: q.base + b * q.batchStride + head * q.headStride + row0 * q.rowStride, qStride: q.rowStride,
                rows: min(blockRows, queries - row0),
                packedKeys: packedKeys + pair * keysCount, packedValues: packedValues + pair * valuesCount,
                keys: keys, visible: causal ? row0 + 1 : keys, headDim: headDim, scale: scale,
                scratch: scratch + worker * scratchCount,
                out: out.base + b * out.batchStride + head * out.headStride + row0 * out.rowStride,
                outStride: out.rowStride)
        }
    }

    /// Query rows per work item: the block's scores (rows x keys floats) should stay in a core's
    /// L2 cache between the score, softmax and value passes, and a block should be whole
    /// register tiles of rows (`tileRows`, the variant's: 12 on AVX-512, 6 on AVX2), since rows
    /// left over go through smaller, slower tiles. (The rows of a block never change a bit.)
    static func queryBlockRows(keys: Int, tileRows: Int = Kernels.attentionTileRows) -> Int {
        let rows = min(queryBlock, max(minimumQueryBlock, scoreBlockFloats / keys))
        return max(tileRows, rows / tileRows * tileRows)
    }
}
