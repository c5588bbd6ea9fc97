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
