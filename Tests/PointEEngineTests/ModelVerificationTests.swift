import Foundation
import XCTest
@testable import PointEEngine

/// `pointe models verify` loads each cached file strictly against its architecture.
final class ModelVerificationTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func testReleasedPointNetLayoutVerifies() throws {
        let file = ReleasedFiles.named("pointnet")!
        let detail = try ModelVerification.load(file, path: fixtures.appendingPathComponent("pointnet.pt").path)
        XCTAssertTrue(detail.contains("strict"))
    }

    func testWrongArchitectureIsRejectedNamingTheFile() {
        let path = fixtures.appendingPathComponent("uncond.pt").path
        for name in ["pointnet", "ViT-B/32", "base40M-textvec"] {
            XCTAssertThrowsError(try ModelVerification.load(ReleasedFiles.named(name)!, path: path), name) { error in
                XCTAssertTrue("\(error)".contains(path), "\(name): \(error)")
            }
        }
    }
}
