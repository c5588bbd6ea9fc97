import PointETestSupport
import Foundation
import PointECheckpoint
import PointETensor
import XCTest
@testable import PointEModels

/// A checkpoint that does not fit the architecture is rejected with a message that names the
/// file and every problem.
final class StrictLoadingTests: XCTestCase {
    var config: ModelConfig!
    var tensors: [(String, Tensor)] = []

    override func setUpWithError() throws {
        config = try ModelConfig.load(Fixtures.path("uncond") + ".json")
        let dict = try CheckpointLoader.load(Fixtures.path("uncond") + ".pt")
        tensors = try dict.keys.map { ($0, try dict[$0]!.floatTensor()) }
    }

    func loadError(_ modified: [(String, Tensor)]) throws -> String {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("modified.safetensors").path
        try SafetensorsWriter.write(modified, metadata: [:], to: path)
        do {
            _ = try PointEModel.load(config: config, checkpoint: path)
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), "message names the file: \(message)")
            return message
        }
        XCTFail("checkpoint was accepted")
        return ""
    }

    func testIntactCheckpointLoadsFromBothFormats() throws {
        XCTAssertNoThrow(try PointEModel.load(config: config, checkpoint: Fixtures.path("uncond") + ".pt"))
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("same.safetensors").path
        try SafetensorsWriter.write(tensors, metadata: [:], to: path)
        XCTAssertNoThrow(try PointEModel.load(config: config, checkpoint: path))
    }

    func testMissingKey() throws {
        let message = try loadError(tensors.filter { $0.0 != "backbone.resblocks.1.ln_2.bias" })
        XCTAssertTrue(message.contains("missing keys (1): backbone.resblocks.1.ln_2.bias [64]"), message)
        XCTAssertFalse(message.contains("unexpected"), message)
    }

    func testUnexpectedKey() throws {
        let message = try loadError(tensors + [("backbone.resblocks.2.ln_1.weight", Tensor(zeros: [64]))])
        XCTAssertTrue(message.contains("unexpected keys (1): backbone.resblocks.2.ln_1.weight [64]"), message)
        XCTAssertFalse(message.contains("missing"), message)
    }

    func testWrongShape() throws {
        let modified = tensors.map { $0.0 == "input_proj.weight" ? ($0.0, Tensor(zeros: [64, 3])) : $0 }
        let message = try loadError(modified)
        XCTAssertTrue(message.contains("wrong shapes (1): input_proj.weight: expected [64, 6], found [64, 3]"), message)
    }

    func testTruncatedCheckpoint() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("uncond") + ".pt"))
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for cut in [original.count / 2, original.count - 10, 100] {
            let path = dir.appendingPathComponent("cut\(cut).pt").path
            try original.prefix(cut).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try PointEModel.load(config: config, checkpoint: path)) { error in
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
        }
    }

    func testWrongConfigClassIsNamed() {
        var bad = config!
        bad.name = "NoSuchTransformer"
        XCTAssertThrowsError(try PointEModel.random(config: bad, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("NoSuchTransformer"))
        }
    }
}
