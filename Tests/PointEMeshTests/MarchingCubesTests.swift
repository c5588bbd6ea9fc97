import PointECheckpoint
import PointEMesh
import PointETensor
import XCTest

final class MarchingCubesTests: XCTestCase {
    /// A noisy field (every ambiguous face and cell configuration shows up), negative on the
    /// border so every surface is closed. No sample sits exactly at the level: there skimage's
    /// vertices coincide and its degenerate-face removal leaves holes, which we reproduce
    /// (MarchingCubesSkimageTests checks such volumes against skimage itself).
    func noisyVolume(_ n: Int, seed: UInt64) -> VolumeGrid {
        var g = SeededGenerator(seed: seed)
        var values = (0..<(n * n * n)).map { _ in g.nextGaussian() }
        for i in 0..<n { for j in 0..<n { for k in 0..<n {
            let idx = (i * n + j) * n + k
            if [i, j, k].contains(0) || [i, j, k].contains(n - 1) || values[idx] == 0 { values[idx] = -1 }
        } } }
        return VolumeGrid(values: values, size: (n, n, n), spacing: 0.1, origin: SIMD3(repeating: -0.5))
    }

    /// Lewiner's method decides each ambiguous face alike in both cells that share it, and
    /// resolves the cell interiors, so closed surfaces come out watertight and oriented.
    func testNoisyFieldsGiveWatertightConsistentMeshes() {
        for seed in 1...4 {
            let mesh = MarchingCubes.extract(noisyVolume(12, seed: UInt64(seed)))
            let t = MeshTopology(mesh)
            XCTAssertGreaterThan(mesh.faceCount, 100)
            XCTAssertTrue(t.isWatertight, "seed \(seed): \(t.boundaryEdges) boundary, \(t.nonManifoldEdges) non-manifold edges")
            XCTAssertTrue(t.isConsistentlyOriented, "seed \(seed): \(t.inconsistentlyOrientedEdges) edges")
            XCTAssertEqual(t.degenerateFaces, 0, "seed \(seed)")
            // Closed surfaces around the positive regions, wound with the right-hand normal
            // pointing down the field (outward from them): positive volume.
            XCTAssertGreaterThan(MeshTopology.signedVolume(mesh), 0)
            // Each grid edge crossing makes exactly one vertex.
            XCTAssertEqual(Set(stride(from: 0, to: mesh.vertices.count, by: 3).map { mesh.vertices[$0..<($0 + 3)].map(\.bitPattern) }).count,
                           mesh.vertexCount)
            XCTAssertEqual(mesh.normals.count, mesh.vertices.count)
        }
    }

    func testSingleInsideSampleMakesAClosedOutwardOctahedron() {
        var values = [Float](repeating: -1, count: 27)
        values[13] = 1  // the centre of a 3x3x3 grid
        let mesh = MarchingCubes.extract(VolumeGrid(values: values, size: (3, 3, 3), spacing: 1, origin: .zero))
        XCTAssertEqual(mesh.vertexCount, 6)
        XCTAssertEqual(mesh.faceCount, 8)
        XCTAssertEqual(MeshTopology(mesh).eulerCharacteristic, 2)
        XCTAssertTrue(MeshTopology(mesh).isWatertight)
        XCTAssertGreaterThan(MeshTopology.signedVolume(mesh), 0)
        for v in 0..<mesh.vertexCount {
            // Normals point away from the centre (1, 1, 1).
            let p = mesh.vertex(v) - SIMD3(1, 1, 1)
            let n = SIMD3(mesh.normals[v * 3], mesh.normals[v * 3 + 1], mesh.normals[v * 3 + 2])
            XCTAssertGreaterThan((p * n).sum(), 0)
        }
    }

    func testRecenteringOnlyWithoutSignChange() {
        var grid = VolumeGrid(values: [1, 2, 3, 4, 5, 6, 7, 8], size: (2, 2, 2), spacing: 1, origin: .zero)
        XCTAssertTrue(grid.recenterIfNoSignChange())
        XCTAssertEqual(grid.values, [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5])
        XCTAssertFalse(grid.recenterIfNoSignChange())
    }

    func testGridLayoutMatchesTheFixtureAxis() throws {
        let layout = GridLayout(gridSize: 32, sideLength: 1.02)
        let url = URL(fileURLWithPath: MarchingCubesFixtureTests.fixture + ".npz")
        let arrays = try NumpyReader.loadNpz(url.path)
        let axis = try XCTUnwrap(arrays["grid_axis_coords"]).floatTensor().values
        XCTAssertEqual(axis, (0..<32).map { layout.coordinate($0) })
    }
}
