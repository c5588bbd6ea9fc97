import CKernels
import Foundation
import XCTest
@testable import PointETensor

/// Every instruction-set variant of the C kernels the CPU can run, called directly (not through
/// the dispatcher): against double-precision references, and bit for bit against each other.
final class KernelVariantTests: XCTestCase {
    /// Lengths that cover whole 16-lane blocks, tails of every size and the upsampler's rows.
    let lengths = [1, 2, 7, 15, 16, 17, 31, 33, 100, 4353]

    func scores(_ n: Int) -> [Float] { (0..<n).map { Float(sin(Double($0) * 1.7) * 30) } }
    func activations(_ n: Int) -> [Float] { (0..<n).map { Float(sin(Double($0) * 0.37 + 0.1) * 6) } }

    func testBaselineIsAlwaysSupportedAndTheBestIsActiveByDefault() {
        XCTAssertTrue(KernelVariant.baseline.isSupported)
        XCTAssertTrue(KernelVariant.supported.contains(KernelVariant.best))
        #if arch(x86_64)
        // Whatever this CPU has is reported, so a test log says which variants were exercised.
        print("kernel variants supported here: \(KernelVariant.supported), best \(KernelVariant.best)")
        #endif
        if ProcessInfo.processInfo.environment[KernelVariant.environmentVariable] == nil {
            XCTAssertEqual(KernelVariant.active, KernelVariant.best)
        }
    }

    func testExpShiftedSumOfEachVariantMatchesDoublePrecision() {
        for variant in KernelVariant.supported {
            for n in lengths {
                var values = scores(n)
                let reference = values.map(Double.init)
                let m = reference.max()!
                // exp of the float difference: the kernel's subtraction is one float rounding.
                let expected = values.map { exp(Double($0 - Float(m))) }
                let sum = values.withUnsafeMutableBufferPointer { pointe_exp_shifted_sum_variant(variant.rawValue, $0.baseAddress!, $0.count) }
                let total = expected.reduce(0, +)
                XCTAssertEqual(Double(sum), total, accuracy: 1e-6 * total, "\(variant) n=\(n)")
                for i in 0..<n {
                    XCTAssertEqual(Double(values[i]), expected[i], accuracy: 1e-6 * expected[i] + 1e-30, "\(variant) n=\(n) i=\(i)")
                }
            }
        }
    }

    func testGeluOfEachVariantMatchesErfInDoublePrecision() {
        for variant in KernelVariant.supported {
            var worst = 0.0
            for n in lengths {
                var values = activations(n)
                let inputs = values
                values.withUnsafeMutableBufferPointer { pointe_gelu_variant(variant.rawValue, $0.baseAddress!, $0.count) }
                for i in 0..<n {
                    let x = Double(inputs[i])
                    worst = max(worst, abs(Double(values[i]) - 0.5 * x * (1 + erf(x / 2.0.squareRoot()))))
                }
            }
            XCTAssertLessThan(worst, 1e-6, "\(variant): worst |gelu - exact| \(worst)")
        }
    }

    func testGeluCoversTheWholeRangeIncludingHugeAndTinyInputs() {
        let inputs: [Float] = [-100, -20, -9.5, -3, -1e-3, -1e-30, 0, 1e-30, 1e-3, 3, 9.5, 20, 100, 3e38]
        for variant in KernelVariant.supported {
            var values = inputs
            values.withUnsafeMutableBufferPointer { pointe_gelu_variant(variant.rawValue, $0.baseAddress!, $0.count) }
            for (x, y) in zip(inputs, values) {
                let exact = 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))
                XCTAssertEqual(Double(y), exact, accuracy: 1e-6 * max(1, abs(exact)), "\(variant) gelu(\(x))")
            }
        }
    }

    /// CLIP's QuickGELU against x sigmoid(1.702 x) in double precision, over the activations,
    /// both signs far out (where the sigmoid's e^-|a| underflows) and the tail lengths; the same
    /// bits from every variant.
    func testQuickGeluOfEachVariantMatchesDoublePrecisionWithTheSameBits() {
        let extremes: [Float] = [-100, -60, -20, -3, -1e-3, -1e-30, 0, 1e-30, 1e-3, 3, 20, 60, 100, 3e38]
        for n in lengths {
            let inputs = activations(n).map { $0 * 4 } + extremes
            var outputs: [[Float]] = []
            for variant in KernelVariant.supported {
                var values = inputs
                values.withUnsafeMutableBufferPointer { pointe_quick_gelu_variant(variant.rawValue, $0.baseAddress!, $0.count) }
                for (x, y) in zip(inputs, values) {
                    let exact = Double(x) / (1 + exp(-1.702 * Double(x)))
                    XCTAssertEqual(Double(y), exact, accuracy: 1e-6 * max(1, abs(exact)), "\(variant) quickGELU(\(x))")
                }
                outputs.append(values)
            }
            for i in 1..<outputs.count {
                XCTAssertEqual(outputs[i].map(\.bitPattern), outputs[0].map(\.bitPattern), "quickGELU \(KernelVariant.supported[i]) n=\(n)")
            }
        }
    }

    /// LayerNorm rows of `width` floats, through one variant.
    func layerNorm(_ variant: KernelVariant, _ x: [Float], width: Int, weight: [Float], bias: [Float]) -> [Float] {
        var y = [Float](repeating: .nan, count: x.count)
        y.withUnsafeMutableBufferPointer { out in
            pointe_layer_norm_variant(variant.rawValue, x, out.baseAddress!, x.count / width, width, weight, bias, 1e-5)
        }
        return y
    }

    func testLayerNormOfEachVariantMatchesDoublePrecision() {
        for variant in KernelVariant.supported {
            for width in lengths + [512] {
                // Rows far from zero mean, so a statistic in float (or a wrong shift) would show.
                let x = (0..<3 * width).map { Float(40 + 7 * sin(Double($0) * 0.61)) }
                let weight = activations(width), bias = scores(width).map { $0 / 30 }
                let y = layerNorm(variant, x, width: width, weight: weight, bias: bias)
                for r in 0..<3 {
                    let row = x[r * width..<(r + 1) * width].map(Double.init)
                    let mean = row.reduce(0, +) / Double(width)
                    let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
                    for i in 0..<width {
                        let expected = (row[i] - mean) / (variance + 1e-5).squareRoot()
                            * Double(weight[i]) + Double(bias[i])
                        XCTAssertEqual(Double(y[r * width + i]), expected, accuracy: 2e-5 * max(1, abs(expected)),
                                       "\(variant) width \(width) row \(r) i \(i)")
                    }
                }
            }
        }
    }

    /// The property the parity fixtures rely on: a cloud does not depend on the CPU it ran on.
    func testAllVariantsGiveIdenticalBits() {
        let variants = KernelVariant.supported
        for n in lengths {
            var expResults: [[Float]] = [], sums: [Float] = [], geluResults: [[Float]] = []
            for variant in variants {
                var s = scores(n), g = activations(n)
                sums.append(s.withUnsafeMutableBufferPointer { pointe_exp_shifted_sum_variant(variant.rawValue, $0.baseAddress!, $0.count) })
                g.withUnsafeMutableBufferPointer { pointe_gelu_variant(variant.rawValue, $0.baseAddress!, $0.count) }
                expResults.append(s)
                geluResults.append(g)
            }
            let x = activations(2 * n).map { $0 * 3 + 1 }, weight = scores(n), bias = activations(n)
            let normalised = variants.map { layerNorm($0, x, width: n, weight: weight, bias: bias) }
            for i in 1..<variants.count {
                XCTAssertEqual(normalised[i].map(\.bitPattern), normalised[0].map(\.bitPattern), "layerNorm \(variants[i]) n=\(n)")
                XCTAssertEqual(sums[i].bitPattern, sums[0].bitPattern, "sum \(variants[i]) vs \(variants[0]) n=\(n)")
                XCTAssertEqual(expResults[i].map(\.bitPattern), expResults[0].map(\.bitPattern), "exp \(variants[i]) n=\(n)")
                XCTAssertEqual(geluResults[i].map(\.bitPattern), geluResults[0].map(\.bitPattern), "gelu \(variants[i]) n=\(n)")
            }
        }
    }

    func testSwitchingTheActiveVariantRoutesTheTensorOps() throws {
        let original = KernelVariant.active
        defer { try? KernelVariant.use(original) }
        let t = Tensor(shape: [3, 37], values: activations(111))
        var outputs: [[Float]] = []
        for variant in KernelVariant.supported {
            try KernelVariant.use(variant)
            XCTAssertEqual(KernelVariant.active, variant)
            XCTAssertEqual(pointe_kernels_active(), variant.rawValue)
            outputs.append(t.gelu().values + t.softmax().values)
        }
        for o in outputs.dropFirst() { XCTAssertEqual(o.map(\.bitPattern), outputs[0].map(\.bitPattern)) }
        for variant in KernelVariant.allCases where !variant.isSupported {
            XCTAssertThrowsError(try KernelVariant.use(variant))
            XCTAssertEqual(KernelVariant.active, KernelVariant.supported.last)
        }
    }

    func testEnvironmentValuesAreCheckedByName() throws {
        XCTAssertNil(try KernelVariant.requested(in: [:]))
        XCTAssertNil(try KernelVariant.requested(in: ["POINTE_KERNELS": ""]))
        XCTAssertEqual(try KernelVariant.requested(in: ["POINTE_KERNELS": "baseline"]), .baseline)
        XCTAssertThrowsError(try KernelVariant.requested(in: ["POINTE_KERNELS": "sse9"])) { error in
            XCTAssertEqual(error as? KernelVariantError, .unknown("sse9"))
            XCTAssertTrue("\(error)".contains("POINTE_KERNELS=sse9"), "\(error)")
        }
        for variant in KernelVariant.allCases where !variant.isSupported {
            XCTAssertThrowsError(try KernelVariant.requested(in: ["POINTE_KERNELS": variant.description])) { error in
                XCTAssertTrue("\(error)".contains("cannot run"), "\(error)")
            }
        }
    }
}

/// The tensor-level softmax on top of the kernel.
final class SoftmaxKernelTests: XCTestCase {
    func testSoftmaxRowsSumToOne() {
        let t = Tensor(shape: [3, 100], values: (0..<300).map { Float($0 % 17) - 8 })
        let s = t.softmax()
        for r in 0..<3 { XCTAssertEqual((0..<100).reduce(Float(0)) { $0 + s.pointer[r * 100 + $1] }, 1, accuracy: 1e-5) }
    }
}
