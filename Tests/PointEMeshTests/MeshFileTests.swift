import Foundation
@testable import PointEMesh
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

    /// Read back, a mesh is in pointe's frame again: the same vertices, normals and faces bit
    /// for bit (the axis turn only swaps and negates), and the same colours to float precision
    /// (GLB and USD hold them linear, decoded from sRGB and encoded again).
    func testEveryFormatReadsBackInPointesFrame() throws {
        let mesh = sampleMesh()
        for format in TriMesh.FileFormat.allCases {
            try mesh.write(to: path("m.\(format.rawValue)"))
            let back = try TriMesh.read(path("m.\(format.rawValue)"))
            XCTAssertEqual(back.vertices, mesh.vertices, "\(format)")
            XCTAssertEqual(back.normals, mesh.normals, "\(format)")
            XCTAssertEqual(back.faces, mesh.faces, "\(format)")
            for name in ["R", "G", "B"] {
                let (a, b) = (try XCTUnwrap(back.channel(name), "\(format)"), try XCTUnwrap(mesh.channel(name)))
                XCTAssertEqual(a.count, b.count)
                for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6, "\(format) \(name)") }
            }
        }
    }

    func testGLBIsStructurallyValid() throws {
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
    }

    /// The sRGB decoding glTF's specification gives for COLOR_0, written out here on its own.
    func linearFromSRGB(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }

    /// The GLB's parsed JSON, binary chunk and its one primitive's attribute accessors.
    func glbParts(_ mesh: TriMesh) throws -> (json: [String: Any], bin: [UInt8], primitive: [String: Any], attributes: [String: Int]) {
        let (json, bin) = try GLB.validate([UInt8](mesh.data(as: .glb)), path: "m.glb")
        let primitive = try XCTUnwrap(((json["meshes"] as? [[String: Any]])?.first?["primitives"] as? [[String: Any]])?.first)
        return (json, bin, primitive, try XCTUnwrap(primitive["attributes"] as? [String: Int]))
    }

    /// glTF defines COLOR_0 as linear: each vertex's stored colour is its sRGB colour decoded
    /// (in Blender, the issue's corgi vertex arrived as 0.672 from the GLB, 0.413 from the PLY).
    func testGLBColoursAreLinear() throws {
        var mesh = sampleMesh()
        // The issue's value, and both sides of the curve's linear toe.
        mesh.vertexChannels[0].values[0] = 0.672
        mesh.vertexChannels[1].values[0] = 0.02
        let (json, bin, _, attributes) = try glbParts(mesh)
        let stored = GLB.floats(json: json, bin: bin, accessor: try XCTUnwrap(attributes["COLOR_0"]))
        let rgb = try XCTUnwrap(mesh.colors)
        for v in 0..<mesh.vertexCount {
            for (k, channel) in [rgb.r, rgb.g, rgb.b].enumerated() {
                XCTAssertEqual(Double(stored[v * 3 + k]), linearFromSRGB(Double(channel[v])), accuracy: 1e-6, "vertex \(v) channel \(k)")
            }
        }
        XCTAssertEqual(Double(stored[1]), 0.02 / 12.92, accuracy: 1e-9)
    }

    /// One material, a dielectric (metallic 0): glTF's default (no material) is metallic 1,
    /// which three.js draws near black.
    func testGLBHasANonMetallicMaterial() throws {
        let (json, _, primitive, _) = try glbParts(sampleMesh())
        let materials = try XCTUnwrap(json["materials"] as? [[String: Any]], "no materials")
        XCTAssertEqual(materials.count, 1)
        let index = try XCTUnwrap(primitive["material"] as? Int, "the primitive has no material")
        let material = materials[index]
        let pbr = try XCTUnwrap(material["pbrMetallicRoughness"] as? [String: Any])
        XCTAssertEqual(pbr["metallicFactor"] as? Double, 0)
        let roughness = try XCTUnwrap(pbr["roughnessFactor"] as? Double)
        XCTAssertTrue(roughness > 0 && roughness <= 1, "roughness \(roughness)")
        // White base colour (or none, which is white): glTF multiplies COLOR_0 into it.
        XCTAssertEqual(pbr["baseColorFactor"] as? [Double] ?? [1, 1, 1, 1], [1, 1, 1, 1])
    }

    /// pointe is z-up; glTF is +Y up. An object tall along pointe's z is tall along the GLB's Y,
    /// and every vertex and normal is stored as (x, z, -y): one fixed rotation, so the winding
    /// and outward normals hold.
    func testGLBIsYUp() throws {
        var mesh = sampleMesh()
        for i in 0..<mesh.vertexCount { mesh.vertices[i * 3 + 2] *= 4 }  // 4 times taller than wide
        let (json, bin, _, attributes) = try glbParts(mesh)
        let position = GLB.floats(json: json, bin: bin, accessor: try XCTUnwrap(attributes["POSITION"]))
        let normal = GLB.floats(json: json, bin: bin, accessor: try XCTUnwrap(attributes["NORMAL"]))
        let (lo, hi) = GLB.bounds(position)
        let extent = (0..<3).map { hi[$0] - lo[$0] }
        XCTAssertEqual(extent.firstIndex(of: extent.max()!), 1, "the tallest axis of \(extent) is not Y")
        assertTurnedYUp(position, from: mesh.vertices, "GLB POSITION")
        assertTurnedYUp(normal, from: mesh.normals, "GLB NORMAL")
    }

    /// `stored` is `original` (pointe's z-up) turned +Y up: (x, y, z) -> (x, z, -y).
    func assertTurnedYUp(_ stored: [Float], from original: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(stored.count, original.count, what, file: file, line: line)
        var expected: [Float] = []
        for i in 0..<(original.count / 3) {
            let (x, y, z) = (original[i * 3], original[i * 3 + 1], original[i * 3 + 2])
            expected += [x, z, -y]
        }
        XCTAssertEqual(stored, expected, what, file: file, line: line)
    }

    /// OBJ is read +Y up (Blender's OBJ importer: up Y, forward -Z) and so written turned like
    /// the GLB; PLY stays z-up (Blender's PLY importer: up Z) with pointe's coordinates.
    func testOBJIsYUpAndPLYIsZUp() throws {
        let mesh = sampleMesh()
        let obj = String(decoding: mesh.data(as: .obj), as: UTF8.self).split(separator: "\n")
        func numbers(_ keyword: String) -> [Float] {
            obj.filter { $0.hasPrefix(keyword + " ") }.flatMap { $0.split(separator: " ").dropFirst().prefix(3).map { Float($0)! } }
        }
        assertTurnedYUp(numbers("v"), from: mesh.vertices, "OBJ v")
        assertTurnedYUp(numbers("vn"), from: mesh.normals, "OBJ vn")
        let ply = [UInt8](mesh.data(as: .ply))
        let body = try XCTUnwrap(ply.indices.first { ply[$0...].starts(with: Array("end_header\n".utf8)) }) + 11
        // The first vertex: x, y, z as float32, then the normal.
        let first = (0..<6).map { k in Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(ply[body + k * 4 + $1]) << (8 * UInt32($1)) }) }
        XCTAssertEqual(first, Array(mesh.vertices[0..<3]) + Array(mesh.normals[0..<3]))
    }

    /// USD: +Y up and linear colours like the GLB, and the stage says both: upAxis "Y",
    /// metersPerUnit 1, vertex-interpolated normals and displayColor, no subdivision.
    func testUSDAIsYUpWithLinearDisplayColor() throws {
        var mesh = sampleMesh()
        mesh.vertexChannels[0].values[0] = 0.672
        let text = String(decoding: mesh.data(as: .usda), as: UTF8.self)
        for expected in ["#usda 1.0\n", "upAxis = \"Y\"", "metersPerUnit = 1", "defaultPrim = \"pointe\"", "subdivisionScheme = \"none\""] {
            XCTAssertTrue(text.contains(expected), "no \(expected)")
        }
        func array(_ name: String) throws -> [Float] {
            let start = try XCTUnwrap(text.range(of: " \(name) = ["), name).upperBound
            let body = text[start...].prefix { $0 != "]" }
            return body.split(whereSeparator: { "(), ".contains($0) }).map { Float($0)! }
        }
        assertTurnedYUp(try array("points"), from: mesh.vertices, "USD points")
        assertTurnedYUp(try array("normals"), from: mesh.normals, "USD normals")
        let color = try array("primvars:displayColor")
        XCTAssertEqual(Double(color[0]), linearFromSRGB(0.672), accuracy: 1e-6)
        XCTAssertEqual(try array("faceVertexIndices").map { UInt32($0) }, mesh.faces)
    }

    func testGLBValidationCatchesCorruption() throws {
        let good = [UInt8](sampleMesh().data(as: .glb))
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
