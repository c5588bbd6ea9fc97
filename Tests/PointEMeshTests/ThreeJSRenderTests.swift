import Foundation
import PointEMesh
import PointETestSupport
import XCTest

/// A GLB as three.js draws it: Debian's libjs-three (r111) in headless Chromium loads pointe's
/// GLB with its GLTFLoader and renders it from the front with the file's material and ordinary
/// viewer lights (Tests/Scripts/threejs_glb.html). The object must be drawn in its colours: a
/// non-metal material, lit to between half and all of its facing vertices' brightness (glTF's
/// default material, metallic 1, gives a dim grey metal; sRGB values taken as linear come out
/// washed out), with the same balance of red, green and blue as those vertices.
final class ThreeJSRenderTests: XCTestCase {
    static let threeDirectory = "/usr/share/javascript/three"

    func testGLBRendersInItsColoursInThreeJS() throws {
        guard HeadlessChromium.executable != nil else { return XCTFail("no chromium (Debian package chromium, scripts/install-deps.sh)") }
        guard FileManager.default.fileExists(atPath: Self.threeDirectory + "/examples/js/loaders/GLTFLoader.js") else {
            return XCTFail("no three.js in \(Self.threeDirectory) (Debian package libjs-three, scripts/install-deps.sh)")
        }
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let mesh = ColoredTestMesh.ellipsoid()
        try mesh.write(to: directory.appendingPathComponent("ellipsoid.glb").path)
        let template = try String(contentsOfFile: Fixtures.scripts + "/threejs_glb.html", encoding: .utf8)
        let page = directory.appendingPathComponent("render.html")
        try template.replacingOccurrences(of: "THREE_DIR", with: URL(fileURLWithPath: Self.threeDirectory).absoluteString)
            .replacingOccurrences(of: "GLB_URL", with: "ellipsoid.glb").write(to: page, atomically: true, encoding: .utf8)
        let dom = try XCTUnwrap(try HeadlessChromium.renderedDOM(of: page))
        let result = try XCTUnwrap(dom.range(of: "<div id=\"result\"[^>]*>", options: .regularExpression).map { String(dom[$0]) }, dom)
        func attribute(_ name: String) -> String? {
            result.range(of: "data-\(name)=\"[^\"]*\"", options: .regularExpression).map { String(result[$0].dropFirst(name.count + 7).dropLast()) }
        }
        XCTAssertEqual(attribute("state"), "rendered", "three.js did not render the GLB: \(attribute("error") ?? result)")
        XCTAssertEqual(attribute("metalness"), "0")
        let pixels = Int(attribute("pixels") ?? "") ?? 0, of = Int(attribute("of") ?? "") ?? 0
        XCTAssertGreaterThan(pixels, of / 10, "the render shows almost nothing")
        let mean = try XCTUnwrap(attribute("mean")?.split(separator: ",").compactMap { Double($0) }, result)
        XCTAssertEqual(mean.count, 3)

        // The camera is on glTF's +Z, pointe's -y: the vertices whose normals face it.
        let rgb = try XCTUnwrap(mesh.colors)
        let facing = (0..<mesh.vertexCount).filter { mesh.normals[$0 * 3 + 1] < 0 }
        let expected = [rgb.r, rgb.g, rgb.b].map { channel in facing.map { Double(channel[$0]) }.reduce(0, +) / Double(facing.count) }
        let (brightness, expectedBrightness) = (mean.reduce(0, +) / 3, expected.reduce(0, +) / 3)
        XCTAssertGreaterThan(brightness, expectedBrightness / 2, "three.js draws the GLB dark: mean \(mean), its facing colours \(expected)")
        XCTAssertLessThan(brightness, expectedBrightness, "three.js draws the GLB washed out: mean \(mean), its facing colours \(expected)")
        // The balance of the channels: each one's share of the sum, within 0.05.
        for k in 0..<3 {
            XCTAssertEqual(mean[k] / mean.reduce(0, +), expected[k] / expected.reduce(0, +), accuracy: 0.05,
                           "channel \(k): three.js draws \(mean), the facing vertices are \(expected)")
        }
        print("three.js r111: GLB drawn with metalness 0, mean colour \(mean.map { String(format: "%.3f", $0) }) over \(pixels) pixels; facing vertices \(expected.map { String(format: "%.3f", $0) })")
    }
}
