import Foundation
import PointEMesh
import XCTest

final class MeshFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-meshfiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A closed coloured mesh from marching cubes (one inside sample: an octahedron), with
    /// colours on the 1/255 grid so PLY's bytes hold them exactly.
    func sampleMesh() -> TriMesh {
        var values = [Float](repeating: -1, count: 64)
        values[21] = 0.7
        values[22] = 0.3
        var mesh = MarchingCubes.extract(VolumeGrid(values: values, size: (4, 4, 4), spacing: 0.25, origin: SIMD3(-0.4, -0.3, -0.2)))
        mesh.vertexChannels = ["R", "G", "B"].enumerated().map { k, name in
            .init(name: name, values: (0..<mesh.vertexCount).map { Float(($0 * 37 + k * 101) % 256) / 255 })
        }
        return mesh
    }

    func testPLYRoundTrips() throws {
        let mesh = sampleMesh()
        XCTAssertGreaterThan(mesh.faceCount, 8)
        try mesh.write(to: path("m.ply"))
        let back = try TriMesh.read(path("m.ply"))
        XCTAssertEqual(back.vertices, mesh.vertices)
        XCTAssertEqual(back.faces, mesh.faces)
        XCTAssertEqual(back.normals, mesh.normals)
        for name in ["R", "G", "B"] {
            let (a, b) = (try XCTUnwrap(back.channel(name)), try XCTUnwrap(mesh.channel(name)))
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        }
    }

    func testOBJRoundTripsExactly() throws {
        let mesh = sampleMesh()
        try mesh.write(to: path("m.obj"))
        XCTAssertEqual(try TriMesh.read(path("m.obj")), mesh)
    }

    func testGLBIsStructurallyValidAndRoundTrips() throws {
        let mesh = sampleMesh()
        try mesh.write(to: path("m.glb"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("m.glb"))))
        let (json, bin) = try GLB.validate(bytes, path: "m.glb")
        // Header and chunks: total length, 4-byte aligned JSON and BIN chunks.
        XCTAssertEqual(bytes.count % 4, 0)
        XCTAssertEqual(bin.count % 4, 0)
        let primitive = try XCTUnwrap(((json["meshes"] as? [[String: Any]])?.first?["primitives"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set((primitive["attributes"] as? [String: Int] ?? [:]).keys), ["POSITION", "NORMAL", "COLOR_0"])
        XCTAssertEqual(primitive["mode"] as? Int, 4)
        XCTAssertEqual(try TriMesh.read(path("m.glb")), mesh)
    }

    func testGLBValidationCatchesCorruption() throws {
        let good = [UInt8](sampleMesh().glbData())
        var badLength = good
        badLength[8] &+= 4
        XCTAssertThrowsError(try GLB.validate(badLength, path: "len.glb")) { XCTAssertTrue("\($0)".contains("header length"), "\($0)") }
        XCTAssertThrowsError(try GLB.validate(Array(good.dropLast(4)), path: "cut.glb")) { XCTAssertTrue("\($0)".contains("cut.glb"), "\($0)") }
        // An index past the vertex count (the last 4 bytes are the last index).
        var badIndex = good
        badIndex[badIndex.count - 1] = 0xFF
        XCTAssertThrowsError(try GLB.validate(badIndex, path: "idx.glb")) { XCTAssertTrue("\($0)".contains("vertex count"), "\($0)") }
    }

    func testFilesWithoutVerticesAreRejected() throws {
        let ply = "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n"
        try Data(ply.utf8).write(to: URL(fileURLWithPath: path("empty.ply")))
        XCTAssertThrowsError(try TriMesh.read(path("empty.ply"))) { error in
            XCTAssertTrue("\(error)".contains("empty.ply") && "\(error)".contains("no vertices"), "\(error)")
        }
        try Data("# nothing\n".utf8).write(to: URL(fileURLWithPath: path("empty.obj")))
        XCTAssertThrowsError(try TriMesh.read(path("empty.obj"))) { XCTAssertTrue("\($0)".contains("no vertices"), "\($0)") }
        XCTAssertThrowsError(try TriMesh.read(path("mesh.stl"))) { XCTAssertTrue("\($0)".contains("unknown mesh format"), "\($0)") }
        XCTAssertThrowsError(try sampleMesh().write(to: path("mesh.xyz")))
    }

    func testWritesAreAtomic() throws {
        let target = path("atomic.glb")
        try sampleMesh().write(to: target)
        let listing = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertEqual(listing, ["atomic.glb"], "no temporary files left behind")
    }
}
