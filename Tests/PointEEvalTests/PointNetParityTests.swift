import PointETestSupport
import XCTest
import PointEModels
@testable import PointEEval

/// The reference's PointNet++ on its fixture (recorded FPS starts): features, probabilities and
/// indices, plus P-FID / P-IS on the fixture's saved sets.
final class PointNetParityTests: XCTestCase {
    func testPointNetFixture() throws {
        let result = try PointNetParity.run(fixture: Fixtures.path("pointnet"))
        let checked = Set(result.comparisons.filter { !$0.isDebug }.map(\.name))
        XCTAssertTrue(checked.isSuperset(of: ["features", "probs", "log_probs", "l3_points", "sa1.fps_idx", "sa1.ball_idx",
                                              "sa2.fps_idx", "sa2.ball_idx", "point_clouds (normalize)", "fid.mu_1",
                                              "fid.sigma_2", "fid.p_fid", "is.p_is", "is.p_is_split"]), "\(checked)")
        for c in result.comparisons {
            XCTAssertLessThanOrEqual(c.error, c.tolerance, "\(c.name): \(c.kind.rawValue) \(c.error) (expected \(c.expected))")
        }
        XCTAssertTrue(result.passed)
        XCTAssertTrue(PointNetParity.isPointNetFixture(Fixtures.path("pointnet")))
        XCTAssertFalse(PointNetParity.isPointNetFixture(Fixtures.path("uncond")))
    }
}
