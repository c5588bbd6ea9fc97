import Foundation
import XCTest
@testable import PointETensor

/// Kernels against straightforward double-precision implementations written here.
final class KernelTests: XCTestCase {
    func random(_ shape: [Int], seed: UInt64) -> Tensor { .gaussian(shape, std: 1, seed: seed, stream: 0) }

    func testLinearMatchesNaiveProduct() {
        let x = random([2, 5, 7], seed: 1), w = random([3, 7], seed: 2), b = random([3], seed: 3)
        let y = x.linear(weight: w, bias: b)
        XCTAssertEqual(y.shape, [2, 5, 3])
        for r in 0..<10 {
            for o in 0..<3 {
                var s = Double(b.pointer[o])
                for i in 0..<7 { s += Double(x.pointer[r * 7 + i]) * Double(w.pointer[o * 7 + i]) }
                XCTAssertEqual(Double(y.pointer[r * 3 + o]), s, accuracy: 1e-5)
            }
        }
    }

    func testLinearActivationIsTheSameAsActivatingAfterwards() {
        // 300 rows: several row bands, each activated by its own thread right after its product.
        let x = random([300, 24], seed: 7), w = random([40, 24], seed: 8), b = random([40], seed: 9)
        let separate = x.linear(weight: w, bias: b)
        separate.geluInPlace()
        let fused = x.linear(weight: w, bias: b, activation: .gelu)
        XCTAssertEqual(fused.values.map(\.bitPattern), separate.values.map(\.bitPattern))
    }

    func testLinearWithNoInputFeaturesIsItsBias() {
        // x W^T of an empty inner dimension is zero, so each row is the bias (as nn.Linear).
        let x = Tensor(zeros: [3, 0]), w = Tensor(zeros: [2, 0]), b = Tensor(shape: [2], values: [1.5, -2])
        XCTAssertEqual(x.linear(weight: w, bias: b).values, [1.5, -2, 1.5, -2, 1.5, -2])
        XCTAssertEqual(x.linear(weight: w, bias: nil).values, [0, 0, 0, 0, 0, 0])
    }

    func testLayerNormNormalisesEachRow() {
        let x = random([4, 33], seed: 4).scaled(3, plus: 2)
        let w = random([33], seed: 5), b = random([33], seed: 6)
        let y = x.layerNorm(weight: w, bias: b)
        for r in 0..<4 {
            let row = (0..<33).map { Double(x.pointer[r * 33 + $0]) }
            let mean = row.reduce(0, +) / 33
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 33
            for i in 0..<33 {
                let expected = (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(w.pointer[i]) + Double(b.pointer[i])
                XCTAssertEqual(Double(y.pointer[r * 33 + i]), expected, accuracy: 1e-5)
            }
        }
    }

    func testGeluIsTheExactErfForm() {
        let x = Tensor(shape: [5], values: [-3, -0.5, 0, 0.7, 2.5])
        let y = x.gelu()
        for i in 0..<5 {
            let v = Double(x.pointer[i])
            XCTAssertEqual(Double(y.pointer[i]), 0.5 * v * (1 + erf(v / 2.0.squareRoot())), accuracy: 1e-6)
        }
        // The tanh approximation differs from the exact form by ~1e-4 here; make sure we are not it.
        let tanhApprox = 0.5 * 0.7 * (1 + tanh((2 / Double.pi).squareRoot() * (0.7 + 0.044715 * pow(0.7, 3))))
        XCTAssertGreaterThan(abs(Double(y.pointer[3]) - tanhApprox), 1e-5)
    }

    func testSoftmaxRowsSumToOneAndSurviveLargeValues() {
        let x = Tensor(shape: [2, 3], values: [1000, 1001, 1002, -5, 0, 5])
        let y = x.softmax()
        for r in 0..<2 {
            XCTAssertEqual((0..<3).reduce(Float(0)) { $0 + y.pointer[r * 3 + $1] }, 1, accuracy: 1e-6)
        }
        XCTAssertEqual(Double(y.pointer[2]), exp(2) / (1 + exp(1) + exp(2)), accuracy: 1e-6)
    }

    /// Reference attention with the packed per-head layout, q and k each scaled by c^-1/4.
    func naiveAttention(q: (Int, Int, Int) -> Double, k: (Int, Int, Int) -> Double, v: (Int, Int, Int) -> Double,
                        tq: Int, tk: Int, heads: Int, c: Int) -> [[[Double]]] {
        let s = 1 / pow(Double(c), 0.25)
        var out = Array(repeating: Array(repeating: Array(repeating: 0.0, count: heads * c), count: tq), count: 1)
        for h in 0..<heads {
            for i in 0..<tq {
                var w = (0..<tk).map { j in (0..<c).reduce(0.0) { $0 + q(i, h, $1) * s * k(j, h, $1) * s } }
                let m = w.max()!
                w = w.map { exp($0 - m) }
                let z = w.reduce(0, +)
                for ch in 0..<c {
                    out[0][i][h * c + ch] = (0..<tk).reduce(0.0) { $0 + w[$1] / z * v($1, h, ch) }
                }
            }
        }
        return out
    }

    func testSelfAttentionMatchesNaiveWithPackedHeads() {
        // 300 tokens spans several query blocks; 3 heads of 4 channels.
        let (t, heads, c) = (300, 3, 4)
        let qkv = random([1, t, 3 * heads * c], seed: 7)
        let y = Attention.selfAttention(qkv: qkv, heads: heads)
        let p = qkv.pointer, w3 = 3 * heads * c
        let ref = naiveAttention(
            q: { Double(p[$0 * w3 + $1 * 3 * c + $2]) }, k: { Double(p[$0 * w3 + $1 * 3 * c + c + $2]) },
            v: { Double(p[$0 * w3 + $1 * 3 * c + 2 * c + $2]) }, tq: t, tk: t, heads: heads, c: c)
        for i in stride(from: 0, to: t, by: 7) {
            for ch in 0..<(heads * c) { XCTAssertEqual(Double(y[0, i, ch]), ref[0][i][ch], accuracy: 1e-5) }
        }
    }

    func testCrossAttentionMatchesNaive() {
        let (tq, tk, heads, c) = (5, 9, 2, 3)
        let q = random([1, tq, heads * c], seed: 8), kv = random([1, tk, 2 * heads * c], seed: 9)
        let y = Attention.crossAttention(q: q, kv: kv, heads: heads)
        let ref = naiveAttention(
            q: { Double(q[0, $0, $1 * c + $2]) }, k: { Double(kv[0, $0, $1 * 2 * c + $2]) },
            v: { Double(kv[0, $0, $1 * 2 * c + c + $2]) }, tq: tq, tk: tk, heads: heads, c: c)
        for i in 0..<tq {
            for ch in 0..<(heads * c) { XCTAssertEqual(Double(y[0, i, ch]), ref[0][i][ch], accuracy: 1e-5) }
        }
    }

    func testTimestepEmbeddingIsCosThenSin() {
        let e = timestepEmbedding([0, 17], dim: 6)
        XCTAssertEqual(e.shape, [2, 6])
        for (n, t) in [0.0, 17.0].enumerated() {
            for i in 0..<3 {
                let f = exp(-log(10000.0) * Double(i) / 3)
                XCTAssertEqual(Double(e[n, i]), cos(t * f), accuracy: 1e-5)
                XCTAssertEqual(Double(e[n, 3 + i]), sin(t * f), accuracy: 1e-5)
            }
        }
    }

    func testTokenConcatSliceAndTranspose() {
        let a = random([2, 1, 4], seed: 10), b = random([2, 3, 4], seed: 11)
        let cat = Tensor.concatTokens([a, b])
        XCTAssertEqual(cat.shape, [2, 4, 4])
        XCTAssertEqual(cat[1, 0, 2], a[1, 0, 2])
        XCTAssertEqual(cat[1, 3, 1], b[1, 2, 1])
        XCTAssertEqual(cat.tokens(1..<4).values, b.values)
        let tr = b.transposedLastTwo()
        XCTAssertEqual(tr.shape, [2, 4, 3])
        XCTAssertEqual(tr[1, 2, 0], b[1, 0, 2])
    }

    func testSeededGaussianIsDeterministicAndStandard() {
        let a = Tensor.gaussian([200_000], std: 1, seed: 42, stream: 3)
        let b = Tensor.gaussian([200_000], std: 1, seed: 42, stream: 3)
        XCTAssertEqual(a.values, b.values)
        let mean = a.values.reduce(0.0) { $0 + Double($1) } / 200_000
        let variance = a.values.reduce(0.0) { $0 + Double($1) * Double($1) } / 200_000 - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
        XCTAssertNotEqual(Tensor.gaussian([8], std: 1, seed: 42, stream: 4).values, Array(a.values.prefix(8)))
    }
}
