import PointETestSupport
import Foundation
import PointECheckpoint
import PointETensor
import XCTest
@testable import PointEEval
@testable import PointEModels

/// Scoring a set from disk: P-IS always, P-FID against a reference set.
final class CloudSetScoreTests: XCTestCase {
    func testScoreOfASetAloneAndAgainstAnother() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.npz").path, b = dir.appendingPathComponent("b.npz").path
        try NpzWriter.write([("arr_0", Tensor.gaussian([3, 100, 3], std: 0.5, seed: 11, stream: 0))], to: a)
        try NpzWriter.write([("arr_0", Tensor.gaussian([3, 100, 3], std: 0.5, seed: 11, stream: 1))], to: b)
        let evaluator = PointNetEvaluator(model: .random(seed: 2, numClasses: 10, widthMult: 1))
        let alone = try CloudSetScore.compute(generated: a, reference: nil, evaluator: evaluator)
        XCTAssertNil(alone.pfid)
        XCTAssertEqual(alone.count, 3)
        XCTAssertGreaterThanOrEqual(alone.pis, 1)
        // (Debug builds are slow at PointNet++; one comparison of two 3-cloud sets is enough here.)
        let other = try CloudSetScore.compute(generated: a, reference: b, evaluator: evaluator)
        XCTAssertGreaterThan(other.pfid!, 0)
        XCTAssertEqual(other.pis, alone.pis)
        XCTAssertEqual(other.referenceCount, 3)
    }
}
