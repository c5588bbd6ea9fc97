import PointECloud
import PointEMesh
import PointETensor
import XCTest

final class KDTreeTests: XCTestCase {
    func testNearestAgreesWithALinearScan() {
        var g = SeededGenerator(seed: 5)
        var points = (0..<(3 * 500)).map { _ in g.nextGaussian() }
        // Duplicates: ties resolve to the smallest index, like numpy's argmin.
        for a in 0..<3 { points[3 * 400 + a] = points[3 * 7 + a] }
        let tree = KDTree(points: points)
        let queries = (0..<(3 * 300)).map { _ in g.nextGaussian() * 1.5 } + Array(points[(3 * 400)..<(3 * 401)])
        let found = tree.nearest(queries: queries)
        for q in 0..<(queries.count / 3) {
            let qv = SIMD3(queries[q * 3], queries[q * 3 + 1], queries[q * 3 + 2])
            var best = (0, Float.infinity)
            for i in 0..<500 {
                let d = SIMD3(points[i * 3], points[i * 3 + 1], points[i * 3 + 2]) - qv
                let dd = (d * d).sum()
                if dd < best.1 { best = (i, dd) }
            }
            XCTAssertEqual(found[q], best.0, "query \(q)")
        }
        XCTAssertEqual(found.last, 7)
    }

    func testColorsComeFromTheNearestPoint() {
        let cloud = PointCloud(coords: [0, 0, 0, 1, 0, 0], channels: [.init(name: "R", values: [0.25, 0.75])])
        let mesh = TriMesh(vertices: [0.1, 0, 0, 0.9, 0, 0, 0.4, 0.1, 0], faces: [0, 1, 2]).coloredByNearestPoint(of: cloud)
        XCTAssertEqual(mesh.channel("R"), [0.25, 0.75, 0.25])
    }
}
