import XCTest
@testable import PointEEval

/// P-FID and P-IS on inputs whose answers follow from closed forms.
final class MetricTests: XCTestCase {
    /// For diagonal covariances FD = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    func testDiagonalCovariancesMatchClosedForm() throws {
        let a: [Double] = [1, 4, 0.25, 9], b: [Double] = [2, 1, 0.5, 16]
        let mu1: [Float] = [0, 1, 2, 3], mu2: [Float] = [1, 1, 0, 3]
        func diagonal(_ d: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: d.count * d.count)
            for i in 0..<d.count { m[i * d.count + i] = d[i] }
            return m
        }
        let fd = try FIDStatistics(mu: mu1, sigma: diagonal(a)).frechetDistance(to: FIDStatistics(mu: mu2, sigma: diagonal(b)))
        var expected = 0.0
        for i in 0..<4 {
            expected += Double(mu1[i] - mu2[i]) * Double(mu1[i] - mu2[i])
            expected += (a[i].squareRoot() - b[i].squareRoot()) * (a[i].squareRoot() - b[i].squareRoot())
        }
        XCTAssertEqual(fd, expected, accuracy: 1e-10)
    }

    /// A rotated pair of covariances that do not commute: tr sqrtm(AB) against the product's
    /// square root found by Denman-Beavers iteration, an independent route.
    func testNonCommutingCovariancesMatchIteratedSquareRoot() throws {
        let n = 3
        let a: [Double] = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2]
        let b: [Double] = [1, -0.3, 0, -0.3, 2, 0.7, 0, 0.7, 5]
        let trace = try FIDStatistics.traceSqrtProduct(a, b, n: n)
        func mul(_ x: [Double], _ y: [Double]) -> [Double] {
            (0..<n * n).map { ij in (0..<n).reduce(0) { $0 + x[ij / n * n + $1] * y[$1 * n + ij % n] } }
        }
        func inverse(_ m: [Double]) -> [Double] {
            let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
            let cof: [Double] = [m[4] * m[8] - m[5] * m[7], m[2] * m[7] - m[1] * m[8], m[1] * m[5] - m[2] * m[4],
                                 m[5] * m[6] - m[3] * m[8], m[0] * m[8] - m[2] * m[6], m[2] * m[3] - m[0] * m[5],
                                 m[3] * m[7] - m[4] * m[6], m[1] * m[6] - m[0] * m[7], m[0] * m[4] - m[1] * m[3]]
            return cof.map { $0 / det }
        }
        var y = mul(a, b)
        var z: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        for _ in 0..<50 {
            let (yi, zi) = (inverse(y), inverse(z))
            (y, z) = (zip(y, zi).map { ($0 + $1) / 2 }, zip(z, yi).map { ($0 + $1) / 2 })
        }
        XCTAssertEqual(trace, y[0] + y[4] + y[8], accuracy: 1e-9)
    }

    func testStatisticsOfASetAgainstItselfAreZeroAndSingularSetsStayFinite() throws {
        var features: [Float] = []
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<(50 * 8) { features.append(Float.random(in: -1...1, using: &rng)) }
        let stats = try FIDStatistics(features: features, dim: 8)
        XCTAssertEqual(try stats.frechetDistance(to: stats), 0, accuracy: 1e-9)
        // Fewer rows than dimensions: singular covariances, still a finite distance.
        let few = try FIDStatistics(features: Array(features.prefix(3 * 8)), dim: 8)
        let fd = try few.frechetDistance(to: stats)
        XCTAssertTrue(fd.isFinite && fd > 0, "\(fd)")
        XCTAssertThrowsError(try FIDStatistics(features: Array(features.prefix(8)), dim: 8))
        XCTAssertThrowsError(try FIDStatistics(features: [1, 2, 3], dim: 2))
    }

    func testInceptionScoreOfUniformAndConfidentPredictions() throws {
        let uniform = [Float](repeating: 0.25, count: 4 * 10)
        XCTAssertEqual(try InceptionScore.compute(predictions: uniform, classes: 4), 1, accuracy: 1e-12)
        // One confident row per class: KL = log(4) per row, score 4.
        var confident = [Float](repeating: 0, count: 16)
        for i in 0..<4 { confident[i * 4 + i] = 1 }
        XCTAssertEqual(try InceptionScore.compute(predictions: confident, classes: 4), 4, accuracy: 1e-9)
        // Splits of 2 rows see two classes each: score 2.
        XCTAssertEqual(try InceptionScore.compute(predictions: confident, classes: 4, splitSize: 2), 2, accuracy: 1e-9)
        XCTAssertThrowsError(try InceptionScore.compute(predictions: [0.5, 0.5, 1], classes: 2))
    }
}
