import PointETestSupport
import Foundation
import PointECheckpoint
import PointETensor
import XCTest
@testable import PointEModels

final class RandomModelTests: XCTestCase {
    /// Random weights written as safetensors load back strictly, and give the same outputs.
    func testTinyFamilyRoundTripsThroughSafetensors() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for model in ReleasedModel.allCases {
            let name = model.rawValue, config = model.tinyNetworkConfig
            let (model, params) = try PointEModel.random(config: config, seed: 5)
            let path = dir.appendingPathComponent(name + ".safetensors").path
            try SafetensorsWriter.write(params.parameters.map { ($0.name, $0.tensor) }, metadata: [:], to: path)
            let (loaded, _) = try PointEModel.load(config: config, checkpoint: path)
            switch (model, loaded) {
            case (.diffusion(let a), .diffusion(let b)):
                let x = Tensor.gaussian([2, 6, config.nCtx], std: 1, seed: 1, stream: 0)
                let cond = Conditioning(
                    clipVector: .gaussian([2, config.clipFeatureDim!], std: 0.1, seed: 1, stream: 1),
                    clipGrid: .gaussian([2, config.clipGridFeatureDim!, 16], std: 1, seed: 1, stream: 2),
                    lowRes: .gaussian([2, 6, config.condCtx ?? 1], std: 1, seed: 1, stream: 3))
                let ya = try a(x, timesteps: [3, 500], conditioning: cond)
                let yb = try b(x, timesteps: [3, 500], conditioning: cond)
                XCTAssertEqual(ya.shape, [2, 12, config.nCtx])
                XCTAssertEqual(ya.values, yb.values, name)
                XCTAssertGreaterThan(ya.maxAbs, 0, "\(name): random output_proj must not be zero")
            case (.sdf(let a), .sdf(let b)):
                let cloud = Tensor.gaussian([1, 3, 40], std: 0.3, seed: 1, stream: 4)
                let q = Tensor.gaussian([1, 3, 7], std: 0.3, seed: 1, stream: 5)
                let sa = try a.predictSDF(q, context: a.decoderContext(latents: try a.encode(cloud)))
                let sb = try b.predictSDF(q, context: b.decoderContext(latents: try b.encode(cloud)))
                XCTAssertEqual(sa.shape, [1, 7])
                XCTAssertEqual(sa.values, sb.values)
            default:
                XCTFail("\(name) changed class")
            }
        }
    }
}
