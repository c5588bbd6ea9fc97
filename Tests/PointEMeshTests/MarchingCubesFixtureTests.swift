import PointEParity
import Foundation
import PointEMesh
import XCTest

/// Our marching cubes against skimage's surfaces in the reference's `marching_cubes` fixture.
final class MarchingCubesFixtureTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/marching_cubes").path

    func testEveryFixtureVolumeMatchesSkimage() throws {
        let reports = try MarchingCubesParity.run(fixture: Self.fixture)
        XCTAssertEqual(Set(reports.map(\.name)), ["sphere", "torus", "offset_sphere"])
        for r in reports {
            XCTAssertTrue(r.passed, "\(r.name): \(r.failures) \(r.lines.joined(separator: "\n"))")
            XCTAssertLessThanOrEqual(r.oursToTheirs, 0.01, r.name)
            XCTAssertLessThanOrEqual(r.theirsToOurs, 0.01, r.name)
            XCTAssertEqual(r.euler.ours, r.euler.theirs, r.name)
            XCTAssertEqual(r.degenerateFaces, 0, r.name)
            XCTAssertTrue(r.consistentlyOriented, r.name)
            XCTAssertEqual(r.colorMismatches, 0, r.name)
            // skimage's normals to float32 rounding (per component of the unit normal) wherever
            // our triangles around a vertex are skimage's; there are such vertices in every case.
            XCTAssertGreaterThan(r.sameTriangleVertices, r.vertices.ours / 10, r.name)
            XCTAssertLessThanOrEqual(r.maxNormalErrorSameTriangles, MarchingCubesParity.CaseReport.normalTolerance, r.name)
            XCTAssertLessThanOrEqual(r.maxNormalAngle, MarchingCubesParity.CaseReport.normalAngleTolerance, r.name)
        }
    }

    /// The closed surfaces: watertight, genus as expected, normals outward.
    func testClosedSurfacesAreWatertightAndOutward() throws {
        let reports = Dictionary(uniqueKeysWithValues: try MarchingCubesParity.run(fixture: Self.fixture).map { ($0.name, $0) })
        let sphere = try XCTUnwrap(reports["sphere"]), torus = try XCTUnwrap(reports["torus"])
        XCTAssertEqual(sphere.euler.ours, 2)
        XCTAssertEqual(torus.euler.ours, 0)
        for r in [sphere, torus] {
            XCTAssertEqual(r.boundaryEdges.ours, 0, "\(r.name) is not watertight")
            XCTAssertEqual(r.normalsAlongFaces, 1, r.name)
        }
        // The torus field is positive inside: faces wind outward, enclosing a positive volume.
        XCTAssertGreaterThan(torus.signedVolume.ours, 0)
        // The sphere's field is negative inside, so its "inside" is the region around it.
        XCTAssertLessThan(sphere.signedVolume.ours, 0)
        // The all-positive volume is recentred by its mean (like the reference) before meshing.
        let offset = try XCTUnwrap(reports["offset_sphere"])
        XCTAssertEqual(offset.boundaryEdges.ours, offset.boundaryEdges.theirs)
        XCTAssertLessThanOrEqual(try XCTUnwrap(offset.recenterError), 1e-5)
    }
}
