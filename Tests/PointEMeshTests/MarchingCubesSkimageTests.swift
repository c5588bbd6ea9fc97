import Foundation
import PointECheckpoint
import PointEMesh
import PointEParity
import PointETestSupport
import XCTest

/// Our marching cubes against skimage itself (the reference's mesher) on 1,400 random volumes of
/// every kind that decides a cell's triangulation differently (Tests/Scripts/skimage_marching_cubes.py,
/// in a venv from Tests/Scripts/requirements-skimage.txt): generic Gaussian fields, corners exactly
/// at the level, exact ties, magnitudes over many decades and below skimage's 2^-52 tolerances,
/// noisy spheres, and boxes (whose sharp edges showed the old triangulation's normals 15 degrees
/// off). Each is meshed as pc_to_mesh does, and must give skimage's faces as sets of oriented
/// triangles over exact vertex positions, and its normals within 1e-4 at every vertex.
final class MarchingCubesSkimageTests: XCTestCase {
    static let volumes = 1400

    struct Volume: Decodable {
        var kind: String
        var shape: [Int]
        var spacing: String
        var origin: Double
        var surface: Bool
    }

    func testEveryRandomVolumeGivesSkimagesSurface() throws {
        let venv = try PythonTestVenv.makeOrSkip("skimage", requirements: Fixtures.scripts + "/requirements-skimage.txt")
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = Fixtures.scripts + "/skimage_marching_cubes.py"
        let made = try Subprocess.run(venv.python, [script, dir.path, "\(Self.volumes)", "20261207"], timeout: 600)
        XCTAssertEqual(made.status, 0, "\(script): \(made.output)")
        let volumes = try JSONDecoder().decode([Volume].self, from: Data(contentsOf: dir.appendingPathComponent("volumes.json")))
        let arrays = try NumpyReader.loadNpz(dir.appendingPathComponent("meshes.npz").path)
        XCTAssertEqual(volumes.count, Self.volumes + 2)

        var failed: [String] = []
        var perKind: [String: (volumes: Int, faces: Int, identical: Int)] = [:]
        for (n, volume) in volumes.enumerated() {
            func array(_ name: String) throws -> CheckpointTensor {
                try XCTUnwrap(arrays["v\(n)_\(name)"], "meshes.npz has no v\(n)_\(name)")
            }
            let spacing = try XCTUnwrap(Double(volume.spacing), "volume \(n): spacing \(volume.spacing)")
            var grid = VolumeGrid(values: try array("volume").floatTensor().values, size: (volume.shape[0], volume.shape[1], volume.shape[2]),
                                  spacing: spacing, origin: SIMD3(repeating: Float(volume.origin)))
            grid.recenterIfNoSignChange()
            let ours = MarchingCubes.extract(grid)
            let what = "volume \(n) (\(volume.kind), \(volume.shape))"
            guard volume.surface else {
                if ours.faceCount > 0 || ours.vertexCount > 0 { failed.append("\(what): skimage found no surface, we made \(ours.faceCount) faces") }
                continue
            }
            let theirs = TriMesh(vertices: try array("verts").floatTensor().values, faces: try array("faces").int64Values().map { UInt32($0) },
                                 normals: try array("normals").floatTensor().values)
            let match = MeshMatch(ours: ours, theirs: theirs)
            if !match.matches { failed.append("\(what): \(match.failures.joined(separator: ", "))") }
            var counts = perKind[volume.kind, default: (0, 0, 0)]
            counts.volumes += 1
            counts.faces += theirs.faceCount
            counts.identical += match.identicalArrays ? 1 : 0
            perKind[volume.kind] = counts
        }
        for (kind, c) in perKind.sorted(by: { $0.key < $1.key }) {
            print("skimage marching cubes, \(kind): \(c.volumes) volumes with a surface, \(c.faces) faces, \(c.identical) with identical arrays")
        }
        XCTAssertEqual(failed, [], "\(failed.count) of \(volumes.count) volumes differ from skimage")
        XCTAssertEqual(Set(perKind.keys), ["gaussian", "integers", "mixed", "heavy", "tiny", "small", "smooth", "box"])
    }
}
