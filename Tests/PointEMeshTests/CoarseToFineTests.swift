import PointEMesh
import XCTest

final class CoarseToFineTests: XCTestCase {
    /// Exact distance fields (gradient norm 1): the coarse pass cannot miss a crossing.
    static func sphere(_ p: SIMD3<Float>) -> Float { (p * p).sum().squareRoot() - 0.31 }
    static func torus(_ p: SIMD3<Float>) -> Float {
        let q = SIMD2((p.x * p.x + p.y * p.y).squareRoot() - 0.28, p.z)
        return 0.11 - (q * q).sum().squareRoot()
    }

    func evaluator(_ f: @escaping (SIMD3<Float>) -> Float, counter: UnsafeMutablePointer<Int>) -> ([Float]) -> [Float] {
        { points in
            counter.pointee += points.count / 3
            return (0..<(points.count / 3)).map { f(SIMD3(points[$0 * 3], points[$0 * 3 + 1], points[$0 * 3 + 2])) }
        }
    }

    func testCoarseToFineMeshEqualsDenseOnDistanceFields() {
        let layout = GridLayout(gridSize: 41, sideLength: 1.02)
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { counter.deallocate() }
        for (name, field) in [("sphere", Self.sphere), ("torus", Self.torus)] {
            counter.pointee = 0
            let dense = VolumeGrid(cubeValues: evaluator(field, counter: counter)(SDFGridSampler.gridPoints(layout)),
                                   gridSize: 41, sideLength: 1.02)
            XCTAssertEqual(counter.pointee, 41 * 41 * 41)
            for factor in [2, 4] {
                counter.pointee = 0
                let result = CoarseToFine(factor: factor).sample(layout: layout, evaluate: evaluator(field, counter: counter))
                guard let volume = result.volume else { return XCTFail("\(name) factor \(factor): coarse grid saw no surface") }
                XCTAssertEqual(result.evaluations, counter.pointee)
                XCTAssertLessThan(result.evaluations, 41 * 41 * 41 / 2, "\(name) factor \(factor)")
                let (a, b) = (MarchingCubes.extract(volume), MarchingCubes.extract(dense))
                XCTAssertGreaterThan(b.faceCount, 100)
                XCTAssertEqual(a, b, "\(name) factor \(factor): coarse-to-fine mesh differs from the dense one")
            }
        }
    }

    func testNoSignChangeAtCoarseLevelDefersToDense() {
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { counter.deallocate() }
        counter.pointee = 0
        let result = CoarseToFine(factor: 4).sample(layout: GridLayout(gridSize: 17, sideLength: 1),
                                                    evaluate: evaluator({ _ in 2 }, counter: counter))
        XCTAssertNil(result.volume)
        XCTAssertEqual(result.evaluations, 5 * 5 * 5)
    }
}
