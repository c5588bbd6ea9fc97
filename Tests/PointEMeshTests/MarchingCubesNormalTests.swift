import PointEParity
import Foundation
import PointEMesh
import XCTest

/// Vertex normals on shapes with sharp edges and corners, where the way the gradient is
/// estimated matters most, checked against skimage's definition (what the reference's
/// `pc_to_mesh` gets from `skimage.measure.marching_cubes`) evaluated here independently, in
/// double precision, from our mesh's own faces: the normal given the triangles, without
/// skimage at hand. MarchingCubesSkimageTests compares the same boxes with skimage's output.
final class MarchingCubesNormalTests: XCTestCase {
    /// Exact signed distance to a box of half extents `b` (negative inside).
    static func boxSDF(_ p: SIMD3<Double>, halfExtents b: SIMD3<Double>) -> Double {
        let q = SIMD3(abs(p.x), abs(p.y), abs(p.z)) - b
        let outside = SIMD3(max(q.x, 0), max(q.y, 0), max(q.z, 0))
        return (outside * outside).sum().squareRoot() + min(max(q.x, max(q.y, q.z)), 0)
    }

    /// Rotation about z by `a`, then about x by `b` (applied to the sample point).
    static func rotate(_ p: SIMD3<Double>, _ a: Double, _ b: Double) -> SIMD3<Double> {
        let r = SIMD3(cos(a) * p.x - sin(a) * p.y, sin(a) * p.x + cos(a) * p.y, p.z)
        return SIMD3(r.x, cos(b) * r.y - sin(b) * r.z, sin(b) * r.y + cos(b) * r.z)
    }

    /// A box (positive inside) sampled on n^3 points over [-0.5, 0.5]^3, off-centre and with
    /// extents that put no sample exactly on the surface.
    static func boxVolume(n: Int, rotation: (Double, Double)?) -> VolumeGrid {
        let step = 1.0 / Double(n - 1)
        var values: [Float] = []
        for i in 0..<n { for j in 0..<n { for k in 0..<n {
            var p = SIMD3(Double(i), Double(j), Double(k)) * step - 0.5 - SIMD3(0.013, -0.021, 0.008)
            if let (a, b) = rotation { p = rotate(p, a, b) }
            values.append(Float(-boxSDF(p, halfExtents: SIMD3(0.23, 0.31, 0.17))))
        } } }
        return VolumeGrid(values: values, size: (n, n, n), spacing: step, origin: SIMD3(repeating: -0.5))
    }

    /// skimage's vertex normal (Lewiner marching cubes, `gradient_direction='descent'`; the
    /// reference's face flip and spacing leave normals alone), from its definition:
    /// * every time a triangle uses a vertex, the triangle's cell adds, for both ends of the
    ///   vertex's grid edge, the corner's weight 1/(eps + |value - level|) (eps = 2^-52) times
    ///   a corner gradient estimated inside that cell only: along each axis, the value at the
    ///   cell edge's low end minus the value at its high end (a descent direction);
    /// * skimage stores those corner gradients in Lewiner's corner order (around the square,
    ///   0 (0,0) 1 (1,0) 2 (1,1) 3 (0,1) in its (x, y) = (last, middle) array axes) but reads
    ///   them by bit index (x + 2y + 4z), so a corner with middle-axis offset 1 gets the
    ///   gradient of the corner beside it along the last axis;
    /// * the sum is normalised.
    /// Here each face's cell and each vertex's edge are recovered from the positions.
    static func skimageNormals(_ mesh: TriMesh, grid: VolumeGrid, level: Float = 0,
                               file: StaticString = #filePath, line: UInt = #line) -> [SIMD3<Double>] {
        let (nx, ny, nz) = grid.size
        func value(_ c: SIMD3<Int>) -> Double {
            precondition(c.x >= 0 && c.y >= 0 && c.z >= 0 && c.x < nx && c.y < ny && c.z < nz)
            return Double(grid.values[grid.index(c.x, c.y, c.z)]) - Double(level)
        }
        func gridCoords(_ v: Int) -> SIMD3<Double> {
            (SIMD3<Double>(mesh.vertex(v)) - SIMD3<Double>(grid.origin)) / Double(grid.spacing)
        }
        let eps = Double.ulpOfOne
        var sums = [SIMD3<Double>](repeating: .zero, count: mesh.vertexCount)
        for f in 0..<mesh.faceCount {
            let ids = (0..<3).map { Int(mesh.faces[f * 3 + $0]) }
            let coords = ids.map(gridCoords)
            // The cell holding all three vertices (they never share one cell face).
            var cell = SIMD3<Int>.zero
            for a in 0..<3 { cell[a] = Int((coords.map { $0[a] }.min()! + 1e-4).rounded(.down)) }
            func gradient(_ corner: SIMD3<Int>) -> SIMD3<Double> {
                var g = SIMD3<Double>.zero
                for a in 0..<3 {
                    var low = corner, high = corner
                    low[a] = 0; high[a] = 1
                    g[a] = value(cell &+ low) - value(cell &+ high)
                }
                return g
            }
            for (v, p) in zip(ids, coords) {
                let local = p - SIMD3<Double>(cell)
                let along = (0..<3).filter { abs(local[$0] - local[$0].rounded()) > 1e-4 }
                guard along.count == 1, let axis = along.first else {
                    XCTFail("vertex \(v) is not on a grid edge of its face's cell", file: file, line: line)
                    continue
                }
                var base = SIMD3<Int>(Int(local.x.rounded()), Int(local.y.rounded()), Int(local.z.rounded()))
                for end in 0..<2 {
                    base[axis] = end
                    let weight = 1 / (eps + abs(value(cell &+ base)))
                    var read = base
                    if read.y == 1 { read.z = 1 - read.z }
                    sums[v] += weight * gradient(read)
                }
            }
        }
        return sums.map { s in s / (s * s).sum().squareRoot() }
    }

    func checkNormals(_ name: String, _ grid: VolumeGrid) {
        let mesh = MarchingCubes.extract(grid)
        let topology = MeshTopology(mesh)
        XCTAssertGreaterThan(mesh.faceCount, 500, name)
        XCTAssertTrue(topology.isWatertight, name)
        XCTAssertTrue(topology.isConsistentlyOriented, name)
        XCTAssertGreaterThan(MeshTopology.signedVolume(mesh), 0, name)
        let reference = Self.skimageNormals(mesh, grid: grid)
        var maxComponent = 0.0, maxAngle = 0.0
        for v in 0..<mesh.vertexCount {
            let ours = SIMD3<Double>(Double(mesh.normals[v * 3]), Double(mesh.normals[v * 3 + 1]), Double(mesh.normals[v * 3 + 2]))
            let d = ours - reference[v]
            maxComponent = max(maxComponent, abs(d.x), abs(d.y), abs(d.z))
            let r = reference[v]
            let cross = SIMD3(ours.y * r.z - ours.z * r.y, ours.z * r.x - ours.x * r.z, ours.x * r.y - ours.y * r.x)
            maxAngle = max(maxAngle, atan2((cross * cross).sum().squareRoot(), (ours * r).sum()) * 180 / .pi)
        }
        print(String(format: "%@: %d vertices, normals vs skimage's definition: max |component diff| %.2e, max angle %.2e deg",
                     name, mesh.vertexCount, maxComponent, maxAngle))
        XCTAssertLessThanOrEqual(maxComponent, 1e-4, "\(name): max angle \(maxAngle) degrees")
    }

    func testAxisAlignedBoxNormalsMatchSkimage() {
        checkNormals("axis-aligned box", Self.boxVolume(n: 20, rotation: nil))
    }

    func testRotatedBoxNormalsMatchSkimage() {
        checkNormals("rotated box", Self.boxVolume(n: 20, rotation: (0.5, 0.3)))
    }
}
