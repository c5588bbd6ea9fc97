import PointEParity
import PointETestSupport
import XCTest
import PointECheckpoint
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

    /// is.p_is_split uses the split size the fixture records (_fixture.is_split_size), not a
    /// constant: a copy recording another size fails that check only; without one it is an error.
    func testPISplitSizeIsReadFromTheFixture() throws {
        let source = Fixtures.path("pointnet")
        let data = try Data(contentsOf: URL(fileURLWithPath: source + ".json"))
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var meta = try XCTUnwrap(json["_fixture"] as? [String: Any])
        let recorded = try XCTUnwrap(meta["is_split_size"] as? Int)
        let preds = try XCTUnwrap(try CheckpointLoader.load(source + ".io.safetensors")["is.preds"]).shape[0]
        XCTAssertLessThan(recorded, preds, "the recorded split size should make more than one split")

        func copy(_ json: [String: Any]) throws -> String {
            let directory = try Fixtures.temporaryDirectory()
            addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
            for ext in [".pt", ".io.safetensors"] {
                try FileManager.default.copyItem(atPath: source + ext, toPath: directory.appendingPathComponent("pointnet" + ext).path)
            }
            try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("pointnet.json"))
            return directory.appendingPathComponent("pointnet").path
        }
        // One split over all predictions (the default P-IS) instead of the recorded size.
        meta["is_split_size"] = preds
        json["_fixture"] = meta
        let other = try PointNetParity.run(fixture: try copy(json))
        XCTAssertFalse(other.passed)
        XCTAssertEqual(other.comparisons.filter { !$0.passed }.map(\.name), ["is.p_is_split"])

        meta["is_split_size"] = nil
        json["_fixture"] = meta
        XCTAssertThrowsError(try PointNetParity.run(fixture: try copy(json))) { error in
            XCTAssertTrue("\(error)".contains("is_split_size"), "\(error)")
        }
    }
}
