import Foundation
@testable import PointEDiffusion
import PointEMesh
import PointEModels
import PointETensor
import XCTest

/// A sample's result depends only on its seed (and its own conditioning): the same seed gives
/// the same cloud alone or at any position of a larger batch, for every sampling method.
final class BatchIndependenceTests: XCTestCase {
    func network(_ model: ReleasedModel, seed: UInt64) throws -> PointDiffusionTransformer {
        guard case .diffusion(let net) = try PointEModel.random(config: model.tinyNetworkConfig, seed: seed).0 else {
            throw XCTSkip("\(model) is not a diffusion network")
        }
        return net
    }

    func embedding(_ seed: UInt64, dim: Int) -> Tensor {
        let v = Tensor.gaussian([1, dim], std: 1, seed: seed, stream: 99)
        let norm = v.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return Tensor(shape: [1, dim], values: v.values.map { $0 / norm })
    }

    func assertIndependent(_ sampler: PointCloudSampler, vectorDim: Int?, file: StaticString = #filePath, line: UInt = #line) throws {
        let seeds: [UInt64] = [101, 202, 303, 404]
        let target = 2
        let embeddings = seeds.map { embedding($0, dim: vectorDim ?? 1) }
        func conditioning(_ rows: [Tensor]) -> SamplerConditioning {
            guard vectorDim != nil else { return SamplerConditioning() }
            return SamplerConditioning(clipVector: ElementWise.concatBatch(rows))
        }
        let alone = try sampler.sample(batchSize: 1, conditioning: conditioning([embeddings[target]]), noise: SeededNoise(seeds: [seeds[target]]))
        let batch = try sampler.sample(batchSize: 4, conditioning: conditioning(embeddings), noise: SeededNoise(seeds: seeds))
        let fromBatch = ElementWise.batchSlice(batch, target..<(target + 1))
        XCTAssertTrue(alone.values.allSatisfy(\.isFinite), file: file, line: line)
        XCTAssertLessThanOrEqual(alone.maxAbsDifference(fromBatch), 1e-5, file: file, line: line)
        XCTAssertTrue(sampler.pointClouds(alone) == sampler.pointClouds(fromBatch), "clouds differ", file: file, line: line)
        // Other seeds give other clouds, so equality above is not an accident of the model.
        XCTAssertGreaterThan(ElementWise.batchSlice(batch, 0..<1).maxAbsDifference(fromBatch), 1e-2, file: file, line: line)
    }

    func testTwoStageGuidedHeunWithChurn() throws {
        let base = try network(.base40MTextvec, seed: 1), up = try network(.upsample, seed: 2)
        let sampler = PointCloudSampler(stages: [
            .base(model: base, diffusion: try GaussianDiffusion(config: ReleasedModel.base40MTextvec.diffusionConfig!), numPoints: 64, steps: 3),
            .upsampler(model: up, diffusion: try GaussianDiffusion(config: ReleasedModel.upsample.diffusionConfig!), numPoints: 128,
                       steps: 3, conditioning: .unconditioned),
        ])
        XCTAssertTrue(sampler.stages[0].isGuided)
        XCTAssertEqual(sampler.stages[0].loop, .karras(KarrasOptions(steps: 3, sigmaMin: 1e-3, sigmaMax: 120, sChurn: 3)))
        try assertIndependent(sampler, vectorDim: base.config.clipFeatureDim)
    }

    func testOtherSamplersAndDDPM() throws {
        let net = try network(.base40MUncond, seed: 3)
        for method in [KarrasMethod.eulerAncestral, .dpm] {
            var stage = SamplerStage.base(model: net, diffusion: try GaussianDiffusion(config: ReleasedModel.base40MUncond.diffusionConfig!),
                                          numPoints: 32, guidanceScale: 0, steps: 4)
            var karras = KarrasOptions.baseStage(steps: 4)
            karras.method = method
            stage.loop = .karras(karras)
            try assertIndependent(PointCloudSampler(stages: [stage]), vectorDim: nil)
        }
        var config = ReleasedModel.base40MUncond.diffusionConfig!
        config.respacing = "6"
        var ddpm = SamplerStage.base(model: net, diffusion: try GaussianDiffusion(config: config), numPoints: 32, guidanceScale: 0)
        ddpm.loop = .ddpm
        var progress: [SamplerProgress] = []
        let sampler = PointCloudSampler(stages: [ddpm])
        _ = try sampler.sample(batchSize: 1, noise: SeededNoise(seeds: [5])) { progress.append($0) }
        XCTAssertEqual(progress.map(\.completed), Array(1...6))
        XCTAssertEqual(progress.last?.total, 6)
        try assertIndependent(sampler, vectorDim: nil)
    }

    func testProgressReportsEveryStepOfEveryStage() throws {
        let base = try network(.base40MUncond, seed: 4), up = try network(.upsample, seed: 5)
        let sampler = PointCloudSampler(stages: [
            .base(model: base, diffusion: try GaussianDiffusion(config: ReleasedModel.base40MUncond.diffusionConfig!), numPoints: 32,
                  guidanceScale: 0, steps: 2),
            .upsampler(model: up, diffusion: try GaussianDiffusion(config: ReleasedModel.upsample.diffusionConfig!), numPoints: 64, steps: 3),
        ])
        var seen: [(Int, Int)] = []
        let out = try sampler.sample(batchSize: 1, noise: SeededNoise(seeds: [1])) { seen.append(($0.stage, $0.step)) }
        XCTAssertEqual(seen.map(\.0), [0, 0, 1, 1, 1])
        XCTAssertEqual(seen.map(\.1), [0, 1, 0, 1, 2])
        XCTAssertEqual(out.shape, [1, 6, 96])
    }
}
