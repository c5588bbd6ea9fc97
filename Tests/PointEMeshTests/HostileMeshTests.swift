import Foundation
import PointEMesh
import PointETestSupport
import XCTest

/// Mesh files as a hostile peer could send them: every one must be refused with an error
/// naming the file, never crash the reader (a trap would take the coordinator down), hang it,
/// or yield a mesh with non-finite vertices.
final class HostileMeshTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A coloured tetrahedron: 4 vertices, 4 faces.
    static let tetrahedron = TriMesh(
        vertices: [0, 0, 0, 0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5], faces: [0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3],
        vertexChannels: [.init(name: "R", values: [1, 0, 0, 1]), .init(name: "G", values: [0, 1, 0, 1]), .init(name: "B", values: [0, 0, 1, 1])])

    /// Writes `bytes` as NAME and reads it back as a mesh; returns the error the reader threw.
    func refusal(_ name: String, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String? {
        let path = directory.appendingPathComponent(name).path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        do {
            let mesh = try TriMesh.read(path)
            XCTFail("\(name) was read as a mesh of \(mesh.vertexCount) vertices, \(mesh.faceCount) faces", file: file, line: line)
            return nil
        } catch {
            XCTAssertTrue("\(error)".contains(name), "the error does not name the file: \(error)", file: file, line: line)
            return "\(error)"
        }
    }

    /// The tetrahedron's GLB with its JSON changed by `edit` (the BIN chunk kept).
    func editedGLB(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
        var (json, bin) = try GLB.validate([UInt8](Self.tetrahedron.data(as: .glb)), path: "tetrahedron.glb")
        edit(&json)
        var text = [UInt8](try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
        while text.count % 4 != 0 { text.append(0x20) }
        func le(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        return Array("glTF".utf8) + le(2) + le(12 + 8 + text.count + 8 + bin.count) + le(text.count) + Array("JSON".utf8) + text
            + le(bin.count) + [0x42, 0x49, 0x4E, 0x00] + bin
    }

    func accessorIndex(_ json: [String: Any], _ attribute: String?) -> Int {
        let primitive = ((json["meshes"] as! [[String: Any]])[0]["primitives"] as! [[String: Any]])[0]
        if let attribute { return (primitive["attributes"] as! [String: Int])[attribute]! }
        return primitive["indices"] as! Int
    }

    func setAccessor(_ json: inout [String: Any], _ attribute: String?, _ key: String, _ value: Any) {
        var accessors = json["accessors"] as! [[String: Any]]
        accessors[accessorIndex(json, attribute)][key] = value
        json["accessors"] = accessors
    }

    func setView(_ json: inout [String: Any], of attribute: String?, _ key: String, _ value: Any) {
        var views = json["bufferViews"] as! [[String: Any]]
        let view = (json["accessors"] as! [[String: Any]])[accessorIndex(json, attribute)]["bufferView"] as! Int
        views[view][key] = value
        json["bufferViews"] = views
    }

    func testTheUnmodifiedTetrahedronReads() throws {
        let path = directory.appendingPathComponent("good.glb").path
        try Self.tetrahedron.write(to: path)
        XCTAssertEqual(try TriMesh.read(path), Self.tetrahedron)
    }

    func testGLBWithIndicesThatAreNotWholeTriangles() throws {
        let bytes = try editedGLB { self.setAccessor(&$0, nil, "count", 11) }
        XCTAssertTrue(refusal("partial.glb", bytes)?.contains("not whole triangles") == true)
    }

    func testGLBWithAnOffsetThatWouldOverflow() throws {
        let bytes = try editedGLB { self.setAccessor(&$0, "POSITION", "byteOffset", Int.max - 7) }
        XCTAssertTrue(refusal("overflow.glb", bytes)?.contains("byteOffset") == true)
    }

    func testGLBViewInASecondBufferPastTheBINChunk() throws {
        let bytes = try editedGLB { json in
            json["buffers"] = (json["buffers"] as! [[String: Any]]) + [["byteLength": 1 << 24]]
            self.setView(&json, of: "POSITION", "buffer", 1)
            self.setView(&json, of: "POSITION", "byteOffset", 1 << 20)
        }
        XCTAssertTrue(refusal("external.glb", bytes)?.contains("buffer") == true)
    }

    func testGLBInterleavedViewIsNotMisread() throws {
        let bytes = try editedGLB { self.setView(&$0, of: "POSITION", "byteStride", 4) }
        XCTAssertTrue(refusal("strided.glb", bytes)?.contains("interleaved") == true)
    }

    func testGLBPositionsThatAreNotFloats() throws {
        let bytes = try editedGLB { self.setAccessor(&$0, "POSITION", "componentType", 5121) }
        XCTAssertTrue(refusal("bytes.glb", bytes)?.contains("POSITION") == true)
    }

    func testNonFiniteVerticesInEveryFormat() throws {
        let ply = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\n"
            + "property list uchar int vertex_indices\nend_header\n0 0 0\nnan 1 0\n0 0 1\n3 0 1 2\n"
        XCTAssertTrue(refusal("nan.ply", Array(ply.utf8))?.contains("not finite") == true)
        XCTAssertTrue(refusal("inf.obj", Array("v 0 0 0\nv inf 1 0\nv 0 0 1\nf 1 2 3\n".utf8))?.contains("not finite") == true)
    }

    func testPLYWithANegativeListCount() {
        let ply = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\n"
            + "property list char int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 0 1\n-3 0 1 2\n"
        XCTAssertTrue(refusal("negative.ply", Array(ply.utf8))?.contains("-3") == true)
    }

    func testPLYWithAnInfiniteIndex() {
        let ply = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\n"
            + "property list uchar float vertex_indices\nend_header\n0 0 0\n1 0 0\n0 0 1\n3 0 1 inf\n"
        XCTAssertTrue(refusal("infinite.ply", Array(ply.utf8))?.contains("index") == true)
    }

    /// An element of 2^62 rows without properties: counting through it would take forever.
    func testPLYWithAHugeEmptyElement() {
        let ply = "ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
            + "element junk 4611686018427387904\nend_header\n"
        let body = [Float](repeating: 0.25, count: 9).flatMap { v in (0..<4).map { UInt8((v.bitPattern >> (8 * $0)) & 0xFF) } }
        XCTAssertTrue(refusal("huge.ply", Array(ply.utf8) + body)?.contains("junk") == true)
    }

    /// The tetrahedron as pointe writes it in USD text, with `edit` applied to the text.
    func editedUSDA(_ edit: (String) -> String) -> [UInt8] {
        Array(edit(String(decoding: Self.tetrahedron.data(as: .usda), as: UTF8.self)).utf8)
    }

    func testUSDAThatIsNotPointesSubset() {
        XCTAssertTrue(refusal("binary.usda", Array("PXR-USDC".utf8) + [0, 0, 0, 0])?.contains("#usda 1.0") == true)
        XCTAssertTrue(refusal("unterminated.usda", editedUSDA { $0.replacingOccurrences(of: "by pointe\"", with: "by pointe") })?
            .contains("unterminated") == true)
        XCTAssertTrue(refusal("two.usda", editedUSDA { $0 + "def Mesh \"other\" {}\n" })?.contains("2 Mesh prims") == true)
        XCTAssertTrue(refusal("typed.usda", editedUSDA { $0.replacingOccurrences(of: "point3f[] points", with: "float3[] points") })?
            .contains("point3f[]") == true)
        XCTAssertTrue(refusal("axis.usda", editedUSDA { $0.replacingOccurrences(of: "upAxis = \"Y\"", with: "upAxis = \"X\"") })?
            .contains("upAxis") == true)
    }

    func testUSDAFacesOutOfRangeOrNotAddingUp() {
        // A count so large that adding the counts up would overflow.
        let huge = editedUSDA { $0.replacingOccurrences(of: "faceVertexCounts = [3,", with: "faceVertexCounts = [9223372036854775807,") }
        XCTAssertTrue(refusal("huge.usda", huge)?.contains("face 0") == true)
        let short = editedUSDA { $0.replacingOccurrences(of: "faceVertexCounts = [3,", with: "faceVertexCounts = [4,") }
        XCTAssertTrue(refusal("short.usda", short)?.contains("add up") == true)
        let index = editedUSDA { $0.replacingOccurrences(of: "faceVertexIndices = [0,", with: "faceVertexIndices = [4,") }
        XCTAssertTrue(refusal("index.usda", index)?.contains("out of range") == true)
        let nan = editedUSDA { $0.replacingOccurrences(of: "points = [(0.0", with: "points = [(nan") }
        XCTAssertTrue(refusal("nan.usda", nan)?.contains("not finite") == true)
    }

    /// A stage that says it is z-up is read without the turn (USD's upAxis is honoured).
    func testUSDAUpAxisIsHonoured() throws {
        let path = directory.appendingPathComponent("z.usda").path
        let yUp = String(decoding: Self.tetrahedron.data(as: .usda), as: UTF8.self)
        FileManager.default.createFile(atPath: path, contents: Data(yUp.replacingOccurrences(of: "upAxis = \"Y\"", with: "upAxis = \"Z\"").utf8))
        let asZUp = try TriMesh.read(path)
        // pointe's (x, y, z) was stored as (x, z, -y); read as z-up, that is what comes back.
        let t = Self.tetrahedron.vertices
        var stored: [Float] = []
        for v in 0..<4 { stored += [t[v * 3], t[v * 3 + 2], -t[v * 3 + 1]] }
        XCTAssertEqual(asZUp.vertices, stored)
    }
}
