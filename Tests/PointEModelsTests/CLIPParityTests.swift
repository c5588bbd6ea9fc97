import PointEParity
import PointETestSupport
import PointECheckpoint
import XCTest
@testable import PointEModels

/// CLIP against the reference (clip-anytorch, random weights): text features, image features,
/// Point-E's latent grid and the logits, loading the plain state_dict and the TorchScript archive.
final class CLIPParityTests: XCTestCase {
    func testPlainStateDictAndTorchScriptArchive() throws {
        let result = try CLIPParity.runModel(fixture: Fixtures.path("clip"))
        XCTAssertEqual(Set(result.comparisons.map(\.name)), [
            "text_features", "image_features", "grid", "logits_per_image", "logits_per_text",
            "jit.text_features", "jit.image_features", "jit.grid",
        ])
        for c in result.comparisons {
            XCTAssertLessThanOrEqual(c.maxAbsError, c.tolerance, "\(c.name): max|err| \(c.maxAbsError)")
        }
        XCTAssertTrue(result.passed)
    }

    /// Without a config, the architecture comes from the shapes (CLIP's build_model); only the
    /// text heads (below CLIP's width / 64 rule here) must be given.
    func testArchitectureInferredFromShapes() throws {
        let expected = try CLIPConfig.load(Fixtures.path("clip") + ".json")
        for file in ["clip.pt", "clip.jit.pt"] {
            let dict = try CheckpointLoader.load(Fixtures.path(file))
            XCTAssertEqual(try CLIPConfig.inferred(from: dict, textHeads: expected.transformerHeads), expected, file)
            XCTAssertThrowsError(try CLIPConfig.inferred(from: dict)) { error in
                XCTAssertTrue("\(error)".contains("transformer_heads"), "\(error)")
            }
        }
    }

    func testWrongConfigIsRejectedNamingTheFile() throws {
        var config = try CLIPConfig.load(Fixtures.path("clip") + ".json")
        config.visionLayers = 3
        XCTAssertThrowsError(try CLIPModel.load(checkpoint: Fixtures.path("clip.jit.pt"), config: config)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("clip.jit.pt") && text.contains("visual.transformer.resblocks.2"), text)
        }
    }

    func testEmbeddingsAreUnitNorm() throws {
        let model = try CLIPModel.load(checkpoint: Fixtures.path("clip.pt"), config: try CLIPConfig.load(Fixtures.path("clip") + ".json"))
        let text = try model.embedText(["a red motorcycle", "a corgi"], tokenizer: try CLIPTokenizer.bundled())
        XCTAssertEqual(text.shape, [2, 32])
        for r in 0..<2 {
            let norm = (0..<32).reduce(Float(0)) { $0 + text[r, $1] * text[r, $1] }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
        }
    }
}
