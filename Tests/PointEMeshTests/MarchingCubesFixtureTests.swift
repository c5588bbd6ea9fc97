import PointEParity
import PointETestSupport
import Foundation
import PointEMesh
import XCTest

/// Our marching cubes against skimage's surfaces in the reference's marching-cubes fixtures:
/// smooth shapes (marching_cubes) and fields with many ambiguous cells (marching_cubes_noisy),
/// each under the baseline kernels and the best ones this CPU has, like every fixture.
final class MarchingCubesFixtureTests: XCTestCase {
    static let fixture = Fixtures.path("marching_cubes")
    static let noisyFixture = Fixtures.path("marching_cubes_noisy")

    /// skimage's surface exactly: faces equal as sets of oriented triangles over exact vertex
    /// positions, normals within 1e-4 at every vertex, nearest-point colours equal.
    func check(_ fixture: String, cases: Set<String>) throws {
        try underEachTestedKernelVariant { variant in
            let reports = try MarchingCubesParity.run(fixture: fixture)
            XCTAssertEqual(Set(reports.map(\.name)), cases)
            for r in reports {
                let what = "\(fixture) \(r.name) [kernels \(variant)]"
                XCTAssertTrue(r.passed, "\(what): \(r.failures) \(r.lines.joined(separator: "\n"))")
                XCTAssertEqual(r.match.facesOnlyOurs, 0, what)
                XCTAssertEqual(r.match.facesOnlyTheirs, 0, what)
                XCTAssertEqual(r.faces.ours, r.faces.theirs, what)
                XCTAssertLessThanOrEqual(r.match.maxNormalError, MarchingCubesParity.CaseReport.normalTolerance, what)
                XCTAssertEqual(r.colorMismatches, 0, what)
            }
        }
    }

    func testSmoothShapesAreSkimagesSurfaces() throws {
        try check(Self.fixture, cases: ["sphere", "torus", "offset_sphere"])
    }

    func testNoisyFieldsAreSkimagesSurfaces() throws {
        try check(Self.noisyFixture, cases: ["gyroid", "noisy_sphere"])
    }

    /// The closed surfaces: watertight, genus as expected, oriented like skimage's after the
    /// reference's face swap.
    func testClosedSurfacesAreWatertightAndOriented() throws {
        let reports = Dictionary(uniqueKeysWithValues: try MarchingCubesParity.run(fixture: Self.fixture).map { ($0.name, $0) })
        let sphere = try XCTUnwrap(reports["sphere"]), torus = try XCTUnwrap(reports["torus"])
        XCTAssertEqual(sphere.euler.ours, 2)
        XCTAssertEqual(torus.euler.ours, 0)
        for r in [sphere, torus] {
            XCTAssertEqual(r.boundaryEdges.ours, 0, "\(r.name) is not watertight")
            XCTAssertTrue(r.consistentlyOriented.ours, r.name)
            XCTAssertEqual(r.degenerateFaces, 0, r.name)
        }
        // The torus field is positive inside: faces wind outward, enclosing a positive volume.
        XCTAssertGreaterThan(torus.signedVolume.ours, 0)
        // The sphere's field is negative inside, so its "inside" is the region around it.
        XCTAssertLessThan(sphere.signedVolume.ours, 0)
        // The all-positive volume is recentred by its mean (like the reference, to the bit).
        let offset = try XCTUnwrap(reports["offset_sphere"])
        XCTAssertEqual(try XCTUnwrap(offset.recenterError), 0)
    }
}
