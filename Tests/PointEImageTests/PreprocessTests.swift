import PointEParity
import Foundation
import XCTest
@testable import PointEImage

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// CLIP preprocessing of real JPEGs against torchvision/Pillow (mean |err| <= 1e-3, max <= 0.03).
final class PreprocessTests: XCTestCase {
    func testFixtureImagesMatchTheReference() throws {
        let result = try PreprocessParity.run(fixture: Fixtures.path("preprocess"))
        XCTAssertEqual(Set(result.results.map(\.name)), ["corgi", "cube_stack", "preprocess_tall_gray"])
        for r in result.results {
            XCTAssertLessThanOrEqual(r.meanAbsError, 1e-3, r.name)
            XCTAssertLessThanOrEqual(r.maxAbsError, 0.03, r.name)
        }
        XCTAssertTrue(result.passed)
    }

    func testResizeSizeAndCropFollowTorchvision() {
        XCTAssertEqual(CLIPPreprocess.resizedSize(width: 640, height: 480, to: 224).width, 298)  // int(224 * 640 / 480)
        XCTAssertEqual(CLIPPreprocess.resizedSize(width: 300, height: 301, to: 224).height, 224)
        XCTAssertEqual(CLIPPreprocess.resizedSize(width: 300, height: 301, to: 224).width, 224)
    }

    /// A constant image stays constant through the antialiased resize (weights sum to one).
    func testConstantImageStaysConstant() throws {
        let image = RGBImage(width: 37, height: 501, pixels: [UInt8](repeating: 0, count: 37 * 501 * 3).enumerated().map { [200, 17, 90][$0.offset % 3] })
        let crop = try CLIPPreprocess.resizedAndCropped(image, size: 16)
        XCTAssertEqual(crop.width, 16)
        for i in 0..<(16 * 16) { XCTAssertEqual(Array(crop.pixels[(i * 3)..<(i * 3 + 3)]), [200, 17, 90]) }
    }
}
