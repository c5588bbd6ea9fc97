import Foundation
import XCTest
@testable import PointETensor

/// The vectorised exp/erf against libm over the ranges softmax and GELU feed them.
final class VectorMathTests: XCTestCase {
    func testExpMatchesLibmToAFewUlps() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let v = VectorMath.exp(SIMD8<Float>(repeating: x))[0]
            let reference = Float(Foundation.exp(Double(x)))
            worst = max(worst, abs(v - reference) / reference)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 5e-7, "worst relative error \(worst)")
        XCTAssertEqual(VectorMath.exp(SIMD8<Float>(repeating: -.infinity))[0], 0, accuracy: 1e-37)
        XCTAssertEqual(VectorMath.exp(SIMD8<Float>(repeating: 0))[0], 1)
    }

    func testErfAbsoluteErrorIsBelowHalfAMillionth() {
        var worst: Double = 0
        var x = -6.0
        while x < 6 {
            let v = Double(VectorMath.erf(SIMD8<Float>(repeating: Float(x)))[0])
            worst = max(worst, abs(v - Foundation.erf(Double(Float(x)))))
            x += 0.001
        }
        XCTAssertLessThan(worst, 5e-7, "worst absolute error \(worst)")
    }

    func testMapCoversTailsWithTheSameArithmetic() {
        let t = Tensor(shape: [11], values: (0..<11).map { Float($0) * 0.3 - 1.5 })
        let g = t.gelu()
        for i in 0..<11 {
            let x = Double(t.pointer[i])
            XCTAssertEqual(Double(g.pointer[i]), 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())), accuracy: 5e-7)
        }
    }
}

import CKernels

/// The per-instruction-set softmax kernel: the same numbers as a double-precision softmax.
final class SoftmaxKernelTests: XCTestCase {
    func testExpShiftedSumMatchesDoublePrecision() {
        for n in [1, 7, 8, 9, 33, 4353] {
            var values = (0..<n).map { Float(sin(Double($0) * 1.7) * 30) }
            let reference = values.map(Double.init)
            let m = reference.max()!
            let expected = reference.map { exp($0 - m) }
            let sum = values.withUnsafeMutableBufferPointer { pointe_exp_shifted_sum($0.baseAddress!, $0.count) }
            XCTAssertEqual(Double(sum), expected.reduce(0, +), accuracy: 1e-5 * expected.reduce(0, +), "n = \(n)")
            for i in 0..<n { XCTAssertEqual(Double(values[i]), expected[i], accuracy: 1e-6 * max(1e-30, expected[i]) + 1e-12) }
        }
        XCTAssertTrue(["avx512f", "avx2", "baseline"].contains(String(cString: pointe_kernels_isa())))
    }

    func testSoftmaxRowsStillSumToOne() {
        let t = Tensor(shape: [3, 100], values: (0..<300).map { Float($0 % 17) - 8 })
        let s = t.softmax()
        for r in 0..<3 { XCTAssertEqual((0..<100).reduce(Float(0)) { $0 + s.pointer[r * 100 + $1] }, 1, accuracy: 1e-5) }
    }
}
