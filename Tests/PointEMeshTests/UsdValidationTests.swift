import Foundation
@testable import PointEMesh
import PointETestSupport
import XCTest

/// pointe's .usda opened with Pixar's USD (usd-core, pinned in Tests/Scripts/requirements-usd.txt)
/// by Tests/Scripts/check_usd.py: all of usd-core's validators find nothing, and what USD reads
/// (stage metadata, points, faces, normals, displayColor, the material) is what pointe wrote
/// in USD's conventions. The same file with its metersPerUnit and MaterialBindingAPI taken
/// out must draw those validators' errors, so the check is known to bite.
final class UsdValidationTests: XCTestCase {
    func testUSDAPassesUsdCoreValidatorsAndReadsAsWritten() throws {
        let venv = try PythonTestVenv.makeOrSkip("usd", requirements: Fixtures.scripts + "/requirements-usd.txt")
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let mesh = ColoredTestMesh.ellipsoid()
        let good = directory.appendingPathComponent("ellipsoid.usda").path
        try mesh.write(to: good)
        let text = try String(contentsOfFile: good, encoding: .utf8)
        let broken = directory.appendingPathComponent("broken.usda").path
        try text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("metersPerUnit") && !$0.contains("apiSchemas") }.joined(separator: "\n")
            .write(toFile: broken, atomically: true, encoding: .utf8)

        let out = directory.appendingPathComponent("usd.json").path
        let (status, output) = try Subprocess.run(venv.python, [Fixtures.scripts + "/check_usd.py", out, good, broken], timeout: 300)
        XCTAssertEqual(status, 0, output)
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let files = try XCTUnwrap(result["files"] as? [[String: Any]])
        XCTAssertEqual(files.count, 2, "\(result["failures"] ?? "")")
        let (ours, theirs) = (files[0], files[1])

        let validators = try XCTUnwrap(ours["validators"] as? [String])
        XCTAssertGreaterThanOrEqual(validators.count, 30, "usd-core 26.11 registers 30 validators: \(validators)")
        XCTAssertEqual(ours["errors"] as? [String], [], good)
        XCTAssertEqual(ours["upAxis"] as? String, "Y")
        XCTAssertEqual(ours["metersPerUnit"] as? Double, 1)
        XCTAssertEqual(ours["defaultPrim"] as? String, "/pointe")
        XCTAssertEqual(ours["meshes"] as? Int, 1)

        let stored = mesh.inFileConventions(.usda)
        assertSame(ours["points"], stored.vertices, "points")
        assertSame(ours["normals"], stored.normals, "normals")
        XCTAssertEqual(ours["normalsInterpolation"] as? String, "vertex")
        XCTAssertEqual(ours["faceVertexIndices"] as? [Int], stored.faces.map(Int.init))
        XCTAssertEqual(ours["faceVertexCounts"] as? [Int], [Int](repeating: 3, count: mesh.faceCount))
        let rgb = try XCTUnwrap(stored.colors)
        assertSame(ours["displayColor"], (0..<mesh.vertexCount).flatMap { [rgb.r[$0], rgb.g[$0], rgb.b[$0]] }, "displayColor")
        XCTAssertEqual(ours["displayColorInterpolation"] as? String, "vertex")
        XCTAssertEqual(ours["subdivisionScheme"] as? String, "none")
        XCTAssertEqual(ours["orientation"] as? String, "rightHanded")
        XCTAssertEqual(ours["extentMatchesPoints"] as? Bool, true)
        XCTAssertEqual(ours["metallic"] as? Double, 0)
        XCTAssertEqual(ours["diffuseColorReads"] as? String, "displayColor")

        let complaints = try XCTUnwrap(theirs["errors"] as? [String]).joined(separator: "\n")
        XCTAssertTrue(complaints.contains("MissingMetersPerUnitMetadata"), complaints)
        XCTAssertTrue(complaints.contains("MissingMaterialBindingAPI"), complaints)
        print("usd-core: \(validators.count) validators, no errors on \(mesh.vertexCount) vertices / \(mesh.faceCount) faces; the broken copy drew \(try XCTUnwrap(theirs["errors"] as? [String]).count) errors")
    }

    /// USD's float32 values, sent as JSON doubles, equal pointe's floats bit for bit.
    func assertSame(_ value: Any?, _ expected: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let values = (value as? [Any])?.compactMap({ ($0 as? NSNumber)?.floatValue }), values.count == expected.count else {
            return XCTFail("\(what): \(String(describing: value).prefix(200)) is not \(expected.count) numbers", file: file, line: line)
        }
        if let bad = values.indices.first(where: { values[$0] != expected[$0] }) {
            XCTFail("\(what) \(bad): USD reads \(values[bad]), pointe wrote \(expected[bad])", file: file, line: line)
        }
    }
}
