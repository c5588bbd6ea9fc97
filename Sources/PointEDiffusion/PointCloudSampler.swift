import Foundation
import PointECloud
import PointEModels
import PointETensor

/// Progress of a sampling run, reported after every step.
public struct SamplerProgress: Sendable {
    public let stage: Int
    public let stageCount: Int
    /// 0-based step within the stage, and the stage's step count.
    public let step: Int
    public let stepsInStage: Int
    /// Steps done over all stages, and the total.
    public let completed: Int
    public let total: Int
}

/// A single- or multi-stage point cloud sampler (the reference's `PointCloudSampler`): the base
/// stage makes the first points, each later stage (an upsampler) adds points conditioned on all
/// earlier ones as `low_res`. Output is [B, 3 + aux, total points] in data units (xyz, RGB 0..255).
public struct PointCloudSampler: Sendable {
    public var stages: [SamplerStage]
    public var auxChannels: [String]
    public var clipDenoised: Bool

    public init(stages: [SamplerStage], auxChannels: [String] = ["R", "G", "B"], clipDenoised: Bool = true) {
        self.stages = stages
        self.auxChannels = auxChannels
        self.clipDenoised = clipDenoised
    }

    public var totalSteps: Int { stages.reduce(0) { $0 + $1.stepCount } }

    /// Hooks for diagnostics and replays: every Karras step, every network call.
    public struct Observers {
        public var onStep: ((Int, KarrasStep) -> Void)?
        public var onNetwork: ((Int, Tensor, [Float], Tensor) -> Void)?
        public init(onStep: ((Int, KarrasStep) -> Void)? = nil, onNetwork: ((Int, Tensor, [Float], Tensor) -> Void)? = nil) {
            self.onStep = onStep
            self.onNetwork = onNetwork
        }
    }

    /// Samples `batchSize` clouds. `noise` supplies every random draw (`SeededNoise(seeds:)` for
    /// one independent stream per sample, `ReplayNoise` for recorded runs).
    public func sample(batchSize: Int, conditioning: SamplerConditioning = SamplerConditioning(), noise: NoiseSource,
                       observers: Observers = Observers(), progress: ((SamplerProgress) -> Void)? = nil) throws -> Tensor {
        guard !stages.isEmpty else { throw DiffusionError("a sampler needs at least one stage") }
        guard batchSize > 0 else { throw DiffusionError("batch size must be positive, got \(batchSize)") }
        let channels = 3 + auxChannels.count
        var samples: Tensor?
        var completed = 0
        for (index, stage) in stages.enumerated() {
            try validate(stage, index: index, channels: channels)
            let lowRes = samples
            let conditioning = try stage.networkConditioning(conditioning, lowRes: lowRes, batch: batchSize)
            let shape = [batchSize, channels, stage.numPoints]
            let report = { (step: Int) in
                completed += 1
                progress?(SamplerProgress(stage: index, stageCount: stages.count, step: step, stepsInStage: stage.stepCount,
                                          completed: completed, total: totalSteps))
            }
            let onNetwork = observers.onNetwork.map { hook in { (x: Tensor, t: [Float], out: Tensor) in hook(index, x, t, out) } }
            let network = stage.perSampleNetwork(conditioning: conditioning, onNetwork: onNetwork)
            let final: Tensor
            switch stage.loop {
            case .karras(let options):
                let denoiser = stage.denoiser(network: network, clipDenoised: clipDenoised)
                final = try KarrasSampler.sample(shape: shape, options: options, stage: index, noise: noise, denoiser: denoiser) { step in
                    observers.onStep?(index, step)
                    report(step.index)
                }.predXStart
            case .ddpm:
                final = try DDPMSampler.sample(diffusion: stage.diffusion, shape: shape, clipDenoised: clipDenoised, stage: index,
                                               noise: noise, network: stage.ddpmNetwork(network)) { step in report(step.index) }.predXStart
            }
            let points = stage.diffusion.unscaleChannels(final)
            samples = lowRes.map { ElementWise.concatPoints([$0, points]) } ?? points
        }
        return samples!
    }

    /// The clouds of a `sample` output: colours clamped to 0..255, rounded, scaled to 0..1.
    public func pointClouds(_ samples: Tensor) -> [PointCloud] {
        PointCloud.fromSamplerOutput(samples, auxChannels: auxChannels)
    }

    private func validate(_ stage: SamplerStage, index: Int, channels: Int) throws {
        let config = stage.model.config
        let name = "stage \(index) (\(config.name))"
        guard (config.inputChannels ?? 3) == channels else {
            throw DiffusionError("\(name): the network takes \(config.inputChannels ?? 3) channels, the sampler makes xyz + \(auxChannels) = \(channels)")
        }
        guard (config.outputChannels ?? 3) == 2 * channels else {
            throw DiffusionError("\(name): the network outputs \(config.outputChannels ?? 3) channels; epsilon + learned variance needs \(2 * channels)")
        }
        for (key, values) in [("channel_scales", stage.diffusion.config.channelScales), ("channel_biases", stage.diffusion.config.channelBiases)] {
            if let values, values.count != channels {
                throw DiffusionError("\(name): diffusion \(key) has \(values.count) values for \(channels) channels")
            }
        }
        guard stage.numPoints > 0 else { throw DiffusionError("\(name): numPoints must be positive") }
    }
}
