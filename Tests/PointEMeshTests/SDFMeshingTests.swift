import Foundation
import PointECloud
import PointECheckpoint
import PointEMesh
import PointEModels
import PointETensor
import XCTest

final class SDFMeshingTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    func tinySDF(seed: UInt64 = 3) throws -> CrossAttentionPointCloudSDFModel {
        guard case .sdf(let model) = try PointEModel.random(config: ReleasedModel.sdf.tinyNetworkConfig, seed: seed).0 else {
            throw XCTSkip("tiny sdf is not an SDF model")
        }
        return model
    }

    func corgi() throws -> PointCloud {
        try PointCloud.readNPZ(Self.fixtures.appendingPathComponent("pc_corgi.npz").path)
    }

    /// pc_corgi.npz through a random-weight SDF network to a coloured mesh, written and read back.
    /// The tiny network's context is 256 points, so it meshes every 16th point of the corgi
    /// (a debug build encodes all 4096 in minutes; the benchmark meshes full clouds).
    func testCorgiMeshesEndToEnd() throws {
        let full = try corgi()
        XCTAssertEqual(full.count, 4096)
        let keep = Array(stride(from: 0, to: full.count, by: 16))
        let cloud = PointCloud(coords: keep.flatMap { full.coords[($0 * 3)..<($0 * 3 + 3)] },
                               channels: full.channels.map { c in .init(name: c.name, values: keep.map { c.values[$0] }) })
        let mesher = PointCloudMesher(model: try tinySDF(), gridSize: 12, batchSize: 500)
        var progress: [Int] = []
        let result = try mesher.mesh(cloud, source: "pc_corgi.npz") { done, _ in progress.append(done) }
        XCTAssertEqual(result.evaluations, 12 * 12 * 12)
        XCTAssertEqual(progress.last, 12 * 12 * 12)
        let mesh = result.mesh
        XCTAssertGreaterThan(mesh.faceCount, 0)
        let topology = MeshTopology(mesh)
        XCTAssertTrue(topology.isConsistentlyOriented)
        XCTAssertEqual(topology.degenerateFaces, 0)
        XCTAssertEqual(topology.nonManifoldEdges, 0)
        // Every vertex carries the colour of its nearest cloud point (checked by a linear scan).
        let rgb = try XCTUnwrap(mesh.colors)
        for v in stride(from: 0, to: mesh.vertexCount, by: 7) {
            let q = mesh.vertex(v)
            let nearest = (0..<cloud.count).min { a, b in
                func d(_ i: Int) -> Float {
                    let p = SIMD3(cloud.coords[i * 3], cloud.coords[i * 3 + 1], cloud.coords[i * 3 + 2]) - q
                    return (p * p).sum()
                }
                return d(a) < d(b)
            }!
            XCTAssertEqual(rgb.r[v], cloud.channel("R")![nearest])
            XCTAssertEqual(rgb.b[v], cloud.channel("B")![nearest])
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-mesh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for ext in ["glb", "ply", "obj"] {
            let path = directory.appendingPathComponent("corgi.\(ext)").path
            try mesh.write(to: path)
            let back = try TriMesh.read(path)
            XCTAssertEqual(back.faces, mesh.faces, ext)
            XCTAssertEqual(back.vertices, mesh.vertices, ext)
        }
    }

    /// Keys/values cached per cloud give exactly what recomputing them per batch gives.
    func testCachedKeysValuesEqualPerBatchRecomputation() throws {
        let model = try tinySDF(seed: 8)
        let cloud = try corgi()
        let small = PointCloud(coords: Array(cloud.coords[0..<(3 * 300)]))
        let points = SDFGridSampler.gridPoints(GridLayout(gridSize: 6, sideLength: 1.02))
        let cached = SDFGridSampler(model: model, batchSize: 50)
        let perBatch = SDFGridSampler(model: model, batchSize: 50, keysValuesPerBatch: true)
        let a = try cached.evaluate(points, encoded: cached.encode(small, source: "test"))
        let b = try perBatch.evaluate(points, encoded: perBatch.encode(small, source: "test"))
        XCTAssertEqual(a.count, 216)
        XCTAssertEqual(a, b)
        XCTAssertGreaterThan(Set(a).count, 100)
    }

    func testBadCloudsAreRejectedByName() throws {
        let mesher = PointCloudMesher(model: try tinySDF(), gridSize: 4)
        XCTAssertThrowsError(try mesher.mesh(PointCloud(coords: []), source: "empty.npz")) { error in
            XCTAssertTrue("\(error)".contains("empty.npz") && "\(error)".contains("no points"), "\(error)")
        }
        XCTAssertThrowsError(try mesher.mesh(PointCloud(coords: [0, 0, 0, .nan, 1, 2]), source: "nan.ply")) { error in
            XCTAssertTrue("\(error)".contains("nan.ply") && "\(error)".contains("point 1"), "\(error)")
        }
    }
}
