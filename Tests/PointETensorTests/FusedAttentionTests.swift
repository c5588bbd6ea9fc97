import Foundation
import XCTest
@testable import PointETensor
import CKernels

/// The fused attention kernel (Sources/CKernels/attention_body.h): the same bits on every
/// instruction-set variant and whatever block of query rows it is given, and the right numbers
/// at the released models' head width, with key counts and head widths that are not multiples
/// of its 16-float vectors.
final class FusedAttentionTests: XCTestCase {
    func bits(_ t: Tensor) -> [UInt32] { t.values.map(\.bitPattern) }

    /// "equal", or how many elements differ and the first one (a short failure message).
    func difference(_ a: [UInt32], _ b: [UInt32]) -> String {
        guard a.count == b.count else { return "\(a.count) vs \(b.count) elements" }
        let differing = a.indices.filter { a[$0] != b[$0] }
        guard let first = differing.first else { return "equal" }
        return "\(differing.count) of \(a.count) elements differ, first at \(first): "
            + "\(Float(bitPattern: a[first])) vs \(Float(bitPattern: b[first]))"
    }

    func testEveryVariantGivesTheSameBits() throws {
        let original = KernelVariant.active
        defer { try? KernelVariant.use(original) }
        // (queries, keys, heads, head width): tails in every dimension the kernel tiles.
        for (tq, tk, heads, c) in [(70, 37, 2, 24), (131, 300, 1, 64), (9, 1, 3, 5)] {
            let q = Tensor.gaussian([2, tq, heads * c], std: 1, seed: 21, stream: 0)
            let kv = Tensor.gaussian([2, tk, 2 * heads * c], std: 1, seed: 21, stream: 1)
            let qkv = Tensor.gaussian([1, tq, 3 * heads * c], std: 2, seed: 22, stream: 0)
            var reference: (cross: [UInt32], selfAttention: [UInt32], causal: [UInt32])?
            for variant in KernelVariant.supported {
                try KernelVariant.use(variant)
                let got = (bits(Attention.crossAttention(q: q, kv: kv, heads: heads)),
                           bits(Attention.selfAttention(qkv: qkv, heads: heads)),
                           bits(Attention.selfAttention(qkv: qkv, heads: heads, layout: .qkvBlocks, causal: true)))
                if let reference {
                    XCTAssertEqual(difference(got.0, reference.cross), "equal", "cross-attention \(tq)x\(tk), width \(c), \(variant)")
                    XCTAssertEqual(difference(got.1, reference.selfAttention), "equal", "self-attention \(tq), width \(c), \(variant)")
                    XCTAssertEqual(difference(got.2, reference.causal), "equal", "causal self-attention \(tq), width \(c), \(variant)")
                } else {
                    reference = got
                }
            }
        }
    }

    func testBlockOfRowsDoesNotChangeBits() {
        let (rows, keys, c) = (45, 77, 64)
        let q = Tensor.gaussian([rows, c], std: 1, seed: 23, stream: 0)
        let k = Tensor.gaussian([keys, c], std: 1, seed: 23, stream: 1)
        let v = Tensor.gaussian([keys, c], std: 1, seed: 23, stream: 2)
        let packedKeys = Tensor(zeros: [Kernels.packedKeysCount(keys: keys, headDim: c)])
        let packedValues = Tensor(zeros: [Kernels.packedValuesCount(keys: keys, headDim: c)])
        Kernels.packAttentionKeys(k.pointer, stride: c, keys: keys, headDim: c, into: packedKeys.pointer)
        Kernels.packAttentionValues(v.pointer, stride: c, keys: keys, headDim: c, into: packedValues.pointer)
        // causal: row i sees keys 0...i (of the first 45 keys; the rest are never seen).
        func attend(blockRows: Int, causal: Bool) -> [UInt32] {
            let out = Tensor(zeros: [rows, c])
            let scratch = Tensor(zeros: [Kernels.attentionScratchCount(rows: blockRows, keys: keys, headDim: c)])
            for row0 in stride(from: 0, to: rows, by: blockRows) {
                Kernels.attentionBlock(q: q.pointer + row0 * c, qStride: c, rows: min(blockRows, rows - row0),
                                       packedKeys: packedKeys.pointer, packedValues: packedValues.pointer, keys: keys,
                                       visible: causal ? row0 + 1 : keys, headDim: c, scale: 0.125, scratch: scratch.pointer,
                                       out: out.pointer + row0 * c, outStride: c)
            }
            return bits(out)
        }
        for causal in [false, true] {
            let whole = attend(blockRows: rows, causal: causal)
            for blockRows in [1, 7, 16] {
                XCTAssertEqual(difference(attend(blockRows: blockRows, causal: causal), whole), "equal",
                               "blocks of \(blockRows) rows, causal \(causal)")
            }
        }
    }

    /// Blocks are whole tiles of the variant's rows (no smaller tiles but in a head's last
    /// block), within the bounds, for short and long key sequences.
    func testQueryBlocksAreWholeTilesOfRows() {
        for variant in KernelVariant.supported {
            let tileRows = pointe_attention_tile_rows_variant(variant.rawValue)
            XCTAssertGreaterThan(tileRows, 0, "\(variant)")
            for keys in [1, 77, 1025, 4353, 20000, 1 << 20] {
                let rows = Attention.queryBlockRows(keys: keys, tileRows: tileRows)
                XCTAssertEqual(rows % tileRows, 0, "\(variant), \(keys) keys: \(rows) rows")
                XCTAssertLessThanOrEqual(rows, Attention.queryBlock, "\(variant), \(keys) keys")
                XCTAssertGreaterThan(rows, Attention.minimumQueryBlock - tileRows, "\(variant), \(keys) keys")
            }
        }
    }

    func testRowMaximumLeavesOutPaddedKeys() {
        // Every score far below zero (-200 - 0.4 j) and 37 keys, so the last 16-key panel is
        // padded with keys that score 0: were those zeros taken for the row's maximum, every
        // exp(score - 0) would underflow to the same floor and the weights would come out
        // uniform instead of falling by e^-0.4 per key.
        let (tk, c) = (37, 16)
        let q = Tensor(shape: [1, 1, c], values: [Float](repeating: 10, count: c))
        var kvValues = [Float]()
        for j in 0..<tk {
            kvValues += [Float](repeating: -(5 + 0.01 * Float(j)), count: c)  // keys
            kvValues += (0..<c).map { Float(sin(Double(j * c + $0))) }      // values
        }
        let kv = Tensor(shape: [1, tk, 2 * c], values: kvValues)
        let original = KernelVariant.active
        defer { try? KernelVariant.use(original) }
        for variant in KernelVariant.supported {
            try? KernelVariant.use(variant)
            let y = Attention.crossAttention(q: q, kv: kv, heads: 1)
            let scores = (0..<tk).map { j in (0..<c).reduce(0.0) { $0 + Double(q[0, 0, $1]) * Double(kv[0, j, $1]) } / 4 }
            let m = scores.max()!
            let w = scores.map { exp($0 - m) }
            let z = w.reduce(0, +)
            for ch in 0..<c {
                let expected = (0..<tk).reduce(0.0) { $0 + w[$1] * Double(kv[0, $1, c + ch]) } / z
                // Scores near -200 carry float rounding of ~1e-5 each; uniform weights would be off by ~0.1.
                XCTAssertEqual(Double(y[0, 0, ch]), expected, accuracy: 2e-4, "\(variant) channel \(ch)")
            }
        }
    }

    /// Self-attention in double precision from a packed [1, T, 3W] tensor read per `layout`.
    func referenceSelfAttention(_ qkv: Tensor, heads: Int, layout: Attention.QKVLayout, causal: Bool) -> [[Double]] {
        let (t, w) = (qkv.shape[1], qkv.shape[2] / 3)
        let c = w / heads
        func column(_ part: Int, _ head: Int, _ ch: Int) -> Int {
            switch layout {
            case .perHead: head * 3 * c + part * c + ch
            case .qkvBlocks: part * w + head * c + ch
            }
        }
        var out = [[Double]](repeating: [Double](repeating: 0, count: w), count: t)
        for head in 0..<heads {
            for i in 0..<t {
                let seen = causal ? i + 1 : t
                let scores = (0..<seen).map { j in
                    (0..<c).reduce(0.0) { $0 + Double(qkv[0, i, column(0, head, $1)]) * Double(qkv[0, j, column(1, head, $1)]) }
                        / Double(c).squareRoot()
                }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let z = e.reduce(0, +)
                for ch in 0..<c {
                    out[i][head * c + ch] = (0..<seen).reduce(0.0) { $0 + e[$1] * Double(qkv[0, $1, column(2, head, ch)]) } / z
                }
            }
        }
        return out
    }

    /// CLIP's text tower: q, k and v in blocks of all heads, each token attending to itself and
    /// the tokens before it. The keys grow with their position (about 2.4 per token in the
    /// score), so a later (masked) key of the same 64-row block can score 150 above every key a
    /// row may see: in a row's maximum it would flush the row's weights to zero, in its sum or
    /// value product it would take over the output.
    func testCausalMaskOverQKVBlocksMatchesDoublePrecision() {
        let (t, heads, c) = (77, 2, 24)
        let w = heads * c
        let noise = Tensor.gaussian([1, t, 3 * w], std: 1, seed: 25, stream: 0)
        let qkv = Tensor(shape: [1, t, 3 * w], values: (0..<(t * 3 * w)).map { index in
            let (token, column) = (index / (3 * w), index % (3 * w))
            let isKey = column >= w && column < 2 * w
            return noise.values[index] * 0.5 + (isKey ? 0.5 * Float(token) : 0) + (column < w ? 1 : 0)
        })
        let original = KernelVariant.active
        defer { try? KernelVariant.use(original) }
        let expected = referenceSelfAttention(qkv, heads: heads, layout: .qkvBlocks, causal: true)
        for variant in KernelVariant.supported {
            try? KernelVariant.use(variant)
            let y = Attention.selfAttention(qkv: qkv, heads: heads, layout: .qkvBlocks, causal: true)
            // Scores up to ~190 carry float rounding of ~1e-5; a NaN counts as off.
            let off = (0..<t).flatMap { i in (0..<w).map { abs(Double(y[0, i, $0]) - expected[i][$0]) } }.filter { !($0 < 1e-4) }
            XCTAssertEqual(off.count, 0, "\(variant): \(off.count) outputs off, e.g. by \(off.first ?? 0)")
        }
    }

    /// The two layouts read the same heads: the qkv columns rearranged from Point-E's per-head
    /// order into blocks give the same bits, and both match double precision.
    func testQKVLayoutsReadTheSameHeads() {
        let (t, heads, c) = (40, 3, 8)
        let w = heads * c
        let perHead = Tensor.gaussian([1, t, 3 * w], std: 1, seed: 26, stream: 0)
        let blocks = Tensor(shape: [1, t, 3 * w], values: (0..<(t * 3 * w)).map { index in
            let (token, column) = (index / (3 * w), index % (3 * w))
            let (part, head, ch) = (column / w, column % w / c, column % c)
            return perHead[0, token, head * 3 * c + part * c + ch]
        })
        let a = Attention.selfAttention(qkv: perHead, heads: heads)
        let b = Attention.selfAttention(qkv: blocks, heads: heads, layout: .qkvBlocks)
        XCTAssertEqual(difference(bits(b), bits(a)), "equal")
        let expected = referenceSelfAttention(blocks, heads: heads, layout: .qkvBlocks, causal: false)
        for i in 0..<t { for ch in 0..<w { XCTAssertEqual(Double(b[0, i, ch]), expected[i][ch], accuracy: 2e-6) } }
    }

    func testMatchesDoublePrecisionAtReleasedHeadWidth() {
        // One head of width 64 (every released model's), over several key chunks and a partial one.
        let (tq, tk, c) = (9, 300, 64)
        let q = Tensor.gaussian([1, tq, c], std: 1, seed: 24, stream: 0)
        let kv = Tensor.gaussian([1, tk, 2 * c], std: 1, seed: 24, stream: 1)
        let y = Attention.crossAttention(q: q, kv: kv, heads: 1)
        for i in 0..<tq {
            let scores = (0..<tk).map { j in (0..<c).reduce(0.0) { $0 + Double(q[0, i, $1]) * Double(kv[0, j, $1]) } / 8 }
            let m = scores.max()!
            let w = scores.map { exp($0 - m) }
            let z = w.reduce(0, +)
            for ch in 0..<c {
                let expected = (0..<tk).reduce(0.0) { $0 + w[$1] * Double(kv[0, $1, c + ch]) } / z
                XCTAssertEqual(Double(y[0, i, ch]), expected, accuracy: 2e-6, "row \(i) channel \(ch)")
            }
        }
    }
}
