import Foundation
import PointEMesh
import PointETestSupport
import XCTest

/// Every mesh format pointe writes, imported into Blender 4.5 LTS (bpy from PyPI, pinned in
/// Tests/Scripts/requirements-blender.txt) with each importer's default options, as an artist
/// does, by Tests/Scripts/blender_import.py. From every format: the import finishes printing
/// no warning or error; one mesh object with the file's vertex and face counts and faces; every
/// vertex where pointe has it (Blender is +Z up like pointe, so the object's up axis is the same
/// from every format); one colour attribute whose colours, after Blender's colour management,
/// equal the PLY's bytes within 1/255; a material, where the format has one, that is not metal
/// and takes the vertex colours; and a Workbench render from the front that is not dark and
/// looks like the PLY's (mean colour within 2/255).
final class BlenderImportTests: XCTestCase {
    typealias Reading = [String: Any]

    func testEveryFormatImportsIntoBlenderUprightWithThePLYsColours() throws {
        let venv = try PythonTestVenv.makeOrSkip("blender", requirements: Fixtures.scripts + "/requirements-blender.txt")
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let mesh = ColoredTestMesh.ellipsoid()
        var paths: [TriMesh.FileFormat: String] = [:]
        for format in TriMesh.FileFormat.allCases {
            paths[format] = directory.appendingPathComponent("ellipsoid.\(format.rawValue)").path
            try mesh.write(to: paths[format]!)
        }
        let plyColours = try XCTUnwrap(try TriMesh.read(paths[.ply]!).colors)
        let expectedColours = (0..<mesh.vertexCount).flatMap { [plyColours.r[$0], plyColours.g[$0], plyColours.b[$0]] }
        // What the camera (in front, on pointe's -y side) sees: the vertices whose normals face it.
        let facing = (0..<mesh.vertexCount).filter { mesh.normals[$0 * 3 + 1] < 0 }
        let facingBrightness = facing.map { Double(plyColours.r[$0] + plyColours.g[$0] + plyColours.b[$0]) / 3 }.reduce(0, +) / Double(facing.count)

        let out = directory.appendingPathComponent("blender.json").path
        let renders = directory.appendingPathComponent("renders").path
        try FileManager.default.createDirectory(atPath: renders, withIntermediateDirectories: true)
        let formats = TriMesh.FileFormat.allCases
        let (status, output) = try Subprocess.run(venv.python, [Fixtures.scripts + "/blender_import.py", out, renders] + formats.map { paths[$0]! },
                                                  timeout: 600)
        XCTAssertEqual(status, 0, output)
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any], output)
        let files = try XCTUnwrap(result["files"] as? [Reading])
        XCTAssertEqual(files.count, formats.count, "\(result["failures"] ?? "")")
        var means: [TriMesh.FileFormat: [Double]] = [:]
        for (format, file) in zip(formats, files) {
            let what = "Blender \(result["blender"] ?? "") importing \(paths[format]!)"
            XCTAssertEqual(file["status"] as? [String], ["FINISHED"], what)
            let log = file["log"] as? String ?? ""
            let complaints = log.split(separator: "\n").filter { $0.lowercased().contains("warning") || $0.lowercased().contains("error") }
            XCTAssertEqual(complaints, [], what + " printed:\n" + log)
            XCTAssertEqual(file["meshObjects"] as? Int, 1, what)
            XCTAssertEqual(file["vertices"] as? Int, mesh.vertexCount, what)
            XCTAssertEqual(file["faces"] as? Int, mesh.faceCount, what)
            XCTAssertEqual(file["triangles"] as? Bool, true, what)
            XCTAssertEqual((file["indices"] as? [Int])?.map(UInt32.init), mesh.faces, what + ": faces (order or winding) differ")
            assertClose(file["xyz"], mesh.vertices, tolerance: 1e-6, what + ": world position (Blender is +Z up like pointe)")
            let attribute = try XCTUnwrap(file["colorAttribute"] as? Reading, what + ": no colour attribute")
            XCTAssertEqual(attribute["count"] as? Int, 1, what)
            // Blender keeps some colours as bytes (the glTF importer's, sRGB-encoded): one step of rounding.
            assertClose(file["rgb"], expectedColours, tolerance: 1.0 / 255 + 1e-6, what + ": sRGB colour against the PLY's bytes")
            if format == .glb || format == .usda {
                let material = try XCTUnwrap(file["material"] as? Reading, what + ": no material")
                XCTAssertEqual(material["metallic"] as? Double, 0, what)
                XCTAssertNotNil(material["baseColorLinkedTo"] as? String, what + ": the base colour does not take the vertex colours")
            }
            let render = try XCTUnwrap(file["render"] as? Reading, what)
            XCTAssertGreaterThan(render["pixels"] as? Int ?? 0, (render["of"] as? Int ?? 0) / 20, what + ": the render shows almost nothing")
            let mean = try XCTUnwrap((render["meanRGB"] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue }, what)
            means[format] = mean
            // Not dark: studio lighting keeps well over half of the facing vertices' brightness
            // (about 60% here); a near-black metal keeps a small part of it.
            XCTAssertGreaterThan(mean.reduce(0, +) / 3, facingBrightness / 2,
                                 what + ": the Workbench render is dark (\(mean), the facing vertices' colours average \(facingBrightness))")
        }
        let ply = try XCTUnwrap(means[.ply])
        for (format, mean) in means {
            for k in 0..<3 { XCTAssertEqual(mean[k], ply[k], accuracy: 2.0 / 255, "the \(format) render's mean colour \(mean) is not the PLY's \(ply)") }
        }
        print("blender \(result["blender"] ?? ""): \(formats.map(\.rawValue).joined(separator: ", ")) imported without warnings, \(mesh.vertexCount) vertices "
              + "each where pointe has it and in the PLY's colour; facing vertices' brightness \(String(format: "%.3f", facingBrightness)), render mean colours \(formats.map { means[$0].map { $0.map { String(format: "%.3f", $0) } } ?? [] })")
    }

    func assertClose(_ value: Any?, _ expected: [Float], tolerance: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let values = (value as? [Any])?.compactMap({ ($0 as? NSNumber)?.doubleValue }), values.count == expected.count else {
            return XCTFail("\(what): not \(expected.count) numbers", file: file, line: line)
        }
        guard let worst = values.indices.max(by: { abs(values[$0] - Double(expected[$0])) < abs(values[$1] - Double(expected[$1])) }) else { return }
        XCTAssertLessThanOrEqual(abs(values[worst] - Double(expected[worst])), tolerance,
                                 "\(what): value \(worst) is \(values[worst]), pointe has \(expected[worst])", file: file, line: line)
    }
}
